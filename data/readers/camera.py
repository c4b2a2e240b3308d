"""A user's own camera (docs/method.md §10): camera RAW files through rawpy (LibRaw), per-site levels, RGGB crop.

Every camera mosaic is brought to RGGB with R at (0, 0) by dropping the first row and/or column (and the
matching last one, so the sides stay even); its black level per CFA site is then listed in the packed order
of the Fujifilm/ZRR presets (B, Gb, R, Gr), so the generator sees it as it sees those datasets.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..bad_input import BadInputError
from .packing import RELEASE_SITES

CAMERA_RAW_EXTS = (".dng", ".nef", ".cr2", ".cr3", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw", ".nrw")
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class CameraRaw:
    """An RGGB mosaic (R at (0, 0)) with its levels: black per packed channel (B, Gb, R, Gr) and white."""
    mosaic: np.ndarray
    black: tuple
    white: float
    pattern: str  # the file's own 2x2 CFA layout, e.g. "GRBG" (row-major)
    crop: tuple = (0, 0)  # rows, columns dropped at the top/left (and bottom/right) to reach RGGB


def rggb_offset(pattern_names) -> tuple:
    """(row, col) of R in a 2x2 Bayer block given as 2x2 colour letters; BadInputError for non-Bayer layouts."""
    names = np.asarray(pattern_names)
    layout = "".join(names.reshape(-1))
    if names.shape != (2, 2) or sorted(layout) != ["B", "G", "G", "R"]:
        raise BadInputError(f"CFA layout {layout!r} is not a 2x2 Bayer pattern")
    row, col = (int(v[0]) for v in np.nonzero(names == "R"))
    if names[1 - row, 1 - col] != "B":
        raise BadInputError(f"CFA layout {layout!r} is not a 2x2 Bayer pattern (R and B not diagonal)")
    return row, col


def crop_to_rggb(mosaic: np.ndarray, row: int, col: int) -> np.ndarray:
    """Drop the first row/column (and the last one) where R is not at (0, 0); trim to even sides."""
    height, width = mosaic.shape
    cropped = mosaic[row:height - row, col:width - col]
    return cropped[: cropped.shape[0] // 2 * 2, : cropped.shape[1] // 2 * 2]


def site_black_levels(black: np.ndarray, row: int, col: int) -> tuple:
    """Black of each packed channel (RELEASE_SITES) after the crop, from the original 2x2 per-site blacks."""
    return tuple(float(black[(r + row) % 2, (c + col) % 2]) for r, c in RELEASE_SITES)


def _refuse_non_bayer(path, raw) -> None:
    pattern = raw.raw_pattern
    desc = raw.color_desc.decode(errors="replace")
    if pattern is None or np.asarray(pattern).shape != (2, 2):
        shape = "none" if pattern is None else "x".join(map(str, np.asarray(pattern).shape))
        raise BadInputError(f"{path}: not a Bayer sensor (CFA pattern {shape}, colours {desc!r}; X-Trans and "
                            "Foveon sensors are not supported: the generators take a 2x2 Bayer mosaic)")


def read_camera_raw(path) -> CameraRaw:
    """Mosaic and levels of a DNG or other LibRaw-readable RAW file; BadInputError naming the file."""
    import rawpy  # lazy: only the camera path needs LibRaw

    path = Path(path)
    try:
        with rawpy.imread(str(path)) as raw:
            _refuse_non_bayer(path, raw)
            pattern = np.asarray(raw.raw_pattern)
            names = np.array(list(raw.color_desc.decode()))[pattern]
            mosaic = np.array(raw.raw_image_visible, dtype=np.uint16)
            black = np.asarray(raw.black_level_per_channel, dtype=np.float64)[pattern]
            white = float(raw.white_level)
    except (rawpy.LibRawError, OSError) as error:
        raise BadInputError(f"{path}: cannot read as camera RAW ({type(error).__name__}: {error})") from None
    try:
        row, col = rggb_offset(names)
    except BadInputError as error:
        raise BadInputError(f"{path}: {error}") from None
    if mosaic.ndim != 2 or min(mosaic.shape) < 4:
        raise BadInputError(f"{path}: RAW image of shape {mosaic.shape} is not a usable Bayer mosaic")
    levels = site_black_levels(black, row, col)
    if white <= max(levels):
        raise BadInputError(f"{path}: white level {white} does not exceed the black levels {levels}")
    return CameraRaw(crop_to_rggb(mosaic, row, col), levels, white, "".join(names.reshape(-1)), (row, col))


def normalise_mosaic(mosaic: np.ndarray, black, white) -> np.ndarray:
    """(x - black[site]) / (white - black[site]) per CFA site of an RGGB mosaic; black in RELEASE_SITES order."""
    per_site = np.empty((2, 2), dtype=np.float32)
    for value, (row, col) in zip(black, RELEASE_SITES):
        per_site[row, col] = value
    reps = (mosaic.shape[0] // 2, mosaic.shape[1] // 2)
    black_map = np.tile(per_site, reps)
    return (mosaic.astype(np.float32) - black_map) / (np.float32(white) - black_map)


def read_patch_levels(root) -> dict:
    """'<split>/<raw_dir>/<name>' -> (black per packed channel, white) from <root>/manifest.json (ingest)."""
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise BadInputError(f"{path}: manifest missing; build the dataset with `python -m tools.data ingest`")
    try:
        patches = json.loads(path.read_text())["raw_patches"]
        return {key: (tuple(float(b) for b in entry["black"]), float(entry["white"])) for key, entry in patches.items()}
    except (ValueError, KeyError, TypeError) as error:
        raise BadInputError(f"{path}: not a valid ingest manifest ({error})") from None
