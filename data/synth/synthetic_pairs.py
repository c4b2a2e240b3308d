"""A synthetic unpaired set with known true pairs, for measuring semantic pairing (docs/method.md §11).

Pair i is one random window of a bundled photo (data.synth.synthetic's sources). Its RAW is that window through
the inverse ISP (noise, mosaic, 10-bit); its photo is a second window around the same place (shifted and
rescaled by up to `jitter` of the window), with its own tone (gamma, saturation, white balance), the DSLR look
and Gaussian noise. Files use the NTIRE 2026 layout (train/raws/<i>.npy packed 10-bit, train/jpegs/p<k>.jpg: an
unpaired preset, so every stage reads it), but the photos carry shuffled names, so nothing but content links them;
pairs.json maps each RAW stem to its photo's.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np

from common import atomic_write

from ..readers.packing import pack_bayer
from ..readers.presets import get_preset
from ..readers.raw_io import write_rgb
from ..reference.reference_cache import save_array
from .synthetic import INVERSE_ISP, _resize, dslr_look, inverse_isp, load_source_photos

PAIRS_FILE = "pairs.json"


def _window(rng, shape, scale_range=(0.3, 0.8)) -> tuple:
    height, width = shape[:2]
    side = int(rng.uniform(*scale_range) * min(height, width))
    return int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1)), side


def _jittered(rng, window, shape, jitter: float) -> tuple:
    y0, x0, side = window
    new_side = int(np.clip(side * (1 + rng.uniform(-jitter, jitter)), 8, min(shape[:2])))
    cy = y0 + side / 2 + rng.uniform(-jitter, jitter) * side
    cx = x0 + side / 2 + rng.uniform(-jitter, jitter) * side
    ny = int(np.clip(cy - new_side / 2, 0, shape[0] - new_side))
    nx = int(np.clip(cx - new_side / 2, 0, shape[1] - new_side))
    return ny, nx, new_side


def _retone(rng, srgb: np.ndarray) -> np.ndarray:
    """Another photographer's tone: gamma, saturation and white balance drawn per photo."""
    image = np.clip(srgb, 0, 1) ** rng.uniform(0.8, 1.25)
    luma = image @ np.array([0.299, 0.587, 0.114])
    image = luma[..., None] + rng.uniform(0.8, 1.2) * (image - luma[..., None])
    return np.clip(image * (1 + rng.uniform(-0.06, 0.06, 3)), 0, 1)


def make_pairing_set(root, count: int, size: int = 64, seed: int = 0, jitter: float = 0.1,
                     noise: float = 0.02) -> Path:
    """Write `count` RAW/photo pairs of side `size` under root/train; returns root."""
    preset, root = get_preset("ntire2026"), Path(root)
    camera = dataclasses.replace(get_preset("fujifilm"), black_level=(0, 0, 0, 0))  # as the synthetic ntire2026
    photos = load_source_photos()
    names = list(photos)
    shuffled = np.random.default_rng(seed).permutation(count)
    for folder in (preset.raw_dir, preset.target_dir):
        shutil.rmtree(root / "train" / folder, ignore_errors=True)
    truth = {}
    for index in range(count):
        rng = np.random.default_rng([seed, 7, index])
        source = photos[names[int(rng.integers(len(names)))]]
        window = _window(rng, source.shape)
        flips = (rng.random() < 0.5, rng.random() < 0.5)
        raw_crop, photo_crop = (_flip(_cut(source, w), flips) for w in
                                (window, _jittered(rng, window, source.shape, jitter)))
        raw = inverse_isp(rng, _resize(raw_crop, size, size), camera.black_level, camera.white_level,
                          INVERSE_ISP["fujifilm"])
        packed = np.ascontiguousarray(np.moveaxis(pack_bayer(raw, preset.packed_sites), 0, -1))
        photo = dslr_look(_retone(rng, _resize(photo_crop, size, size)))
        photo = np.clip(photo + rng.normal(0, noise, photo.shape), 0, 1).astype(np.float32)
        photo_stem = f"p{shuffled[index]:05d}"
        save_array(root / "train" / preset.raw_dir / f"{index}{preset.raw_ext}", packed)
        write_rgb(root / "train" / preset.target_dir / f"{photo_stem}{preset.target_ext}", photo, jpeg_quality=95)
        truth[str(index)] = photo_stem
    with atomic_write(root / PAIRS_FILE, "w") as handle:
        json.dump({"seed": seed, "size": size, "jitter": jitter, "noise": noise, "pairs": truth}, handle, indent=1)
    return root


def _flip(crop, flips) -> np.ndarray:
    crop = crop[:, ::-1] if flips[0] else crop
    return np.ascontiguousarray(crop[::-1] if flips[1] else crop)


def _cut(image, window):
    y0, x0, side = window
    return image[y0:y0 + side, x0:x0 + side]


def true_pairs(root) -> dict:
    """RAW stem -> photo stem, as make_pairing_set wrote them."""
    return json.loads((Path(root) / PAIRS_FILE).read_text())["pairs"]
