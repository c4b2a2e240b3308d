"""Unpaired training set from a user's own camera: RAW patches + unrelated photo patches (docs/method.md §10).

RAW files (DNG or any LibRaw-readable RAW) are brought to RGGB (data.readers.camera) and cut into patch x patch
mosaic tiles on a grid of even offsets, so every tile keeps the RGGB phase; tiles are 16-bit PNGs and the
file's black level per CFA site and white level go into the manifest (the camera preset normalises each
tile with them). Photos (JPEG/PNG) are cut into tiles of the generator's output size. No alignment needed.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from common import atomic_write

from ..bad_input import BadInputError
from .camera import CAMERA_RAW_EXTS, MANIFEST_NAME, read_camera_raw
from .raw_io import read_rgb, write_raw, write_rgb

PHOTO_EXTS = (".jpg", ".jpeg", ".png")


def grid_offsets(height: int, width: int, patch: int, stride: int) -> list:
    """Top-left corners (even) of the patch x patch tiles that fit in an image, on a stride grid."""
    if patch <= 0 or patch % 2 or stride <= 0 or stride % 2:
        raise BadInputError(f"patch {patch} and stride {stride} must be positive and even (CFA phase)")
    return [(top, left) for top in range(0, height - patch + 1, stride) for left in range(0, width - patch + 1, stride)]


def list_files(folder, exts) -> list:
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInputError(f"{folder}: folder is missing")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in exts)
    if not files:
        raise BadInputError(f"{folder}: no files with extension {', '.join(exts)}")
    return files


def ingest_raw_file(path, out_dir, patch: int, stride: int, rel_dir: str) -> dict:
    """Write the RAW tiles of one camera file; returns manifest entries '<rel_dir>/<name>.png' -> levels.

    offset is in the RGGB-cropped mosaic: the tile starts at offset + rggb_crop of the file's own mosaic.
    """
    camera = read_camera_raw(path)
    entries = {}
    for top, left in grid_offsets(*camera.mosaic.shape, patch, stride):
        name = f"{Path(path).stem}_{top}_{left}.png"
        write_raw(Path(out_dir) / name, np.ascontiguousarray(camera.mosaic[top:top + patch, left:left + patch]))
        entries[f"{rel_dir}/{name}"] = {"source": str(path), "offset": [top, left], "rggb_crop": list(camera.crop),
                                        "pattern": camera.pattern,
                                        "black": list(camera.black), "white": camera.white}
    if not entries:
        raise BadInputError(f"{path}: RAW of {camera.mosaic.shape[0]}x{camera.mosaic.shape[1]} is smaller "
                            f"than one {patch}x{patch} patch")
    return entries


def ingest_photo_file(path, out_dir, patch: int, stride: int, rel_dir: str) -> dict:
    """Write the patch x patch tiles of one photo; returns manifest entries '<rel_dir>/<name>.png' -> source."""
    rgb = read_rgb(path)
    entries = {}
    for top, left in grid_offsets(*rgb.shape[:2], patch, stride):
        name = f"{Path(path).stem}_{top}_{left}.png"
        write_rgb(Path(out_dir) / name, rgb[top:top + patch, left:left + patch])
        entries[f"{rel_dir}/{name}"] = {"source": str(path), "offset": [top, left]}
    if not entries:
        raise BadInputError(f"{path}: photo of {rgb.shape[0]}x{rgb.shape[1]} is smaller than one {patch}x{patch} patch")
    return entries


def write_manifest(root, manifest: dict) -> Path:
    """<root>/manifest.json, atomically."""
    path = Path(root) / MANIFEST_NAME
    with atomic_write(path, "w") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
    return path


__all__ = ["CAMERA_RAW_EXTS", "PHOTO_EXTS", "grid_offsets", "list_files", "ingest_raw_file", "ingest_photo_file",
           "write_manifest"]
