"""The embedded synthetic dataset in the NTIRE 2026 challenge layout (docs/method.md §9).

<root>/train/raws/<i>.npy: packed RAW (H/2, W/2, 4) uint16 in the preset's order R, G, G, B, 10-bit, no black
level (the Fujifilm camera model of the synthetic data with its black level removed);
<root>/train/jpegs/<i>.jpg: target photos at the mosaic size rendered from OTHER crops (unrelated to the RAW
of the same name, as in the challenge); <root>/{val,test}/raws/ with pixel-aligned ground truth in gt/.
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
from .synthetic import (
    _raw_size,
    _refuse_foreign_folder,
    _render_sample,
    load_source_photos,
    split_bands,
    stereo_max_disparity,
)

DEFAULT_NTIRE_COUNTS = {"train": 192, "val": 32, "test": 32}
DEFAULT_NTIRE_SIZE = 256  # RAW mosaic side; the .npy is half of it, the JPEG targets the whole of it
NTIRE_SEED_CODE = 2  # keeps the random streams apart from the fujifilm (0) and zrr (1) layouts
JPEG_QUALITY = 95


def make_synthetic_ntire(root, counts=None, size=None, seed=0, progress=False) -> Path:
    """Write the synthetic dataset in the ntire2026 layout at root (size = RAW mosaic side). Returns root."""
    preset = get_preset("ntire2026")
    camera = dataclasses.replace(get_preset("fujifilm"), black_level=(0, 0, 0, 0))  # its inverse ISP, no black
    counts = dict(DEFAULT_NTIRE_COUNTS if counts is None else counts)
    raw_hw = _raw_size(size, DEFAULT_NTIRE_SIZE)
    root, photos, max_disparity = Path(root), load_source_photos(), stereo_max_disparity()
    names, bands = list(photos), split_bands(preset.splits)
    _refuse_foreign_folder(root)
    for split in preset.splits:
        shutil.rmtree(root / split, ignore_errors=True)
    jobs = [(split, index) for split in preset.splits for index in range(int(counts.get(split, 0)))]
    if progress:
        from tqdm import tqdm
        jobs = tqdm(jobs, desc="synthetic ntire2026", unit="img")
    for split, index in jobs:
        split_code = preset.splits.index(split)
        rng = np.random.default_rng([seed, NTIRE_SEED_CODE, split_code, index])
        raw, aligned, _ = _render_sample(rng, photos, names, bands[split], raw_hw, camera, max_disparity)
        packed = np.moveaxis(pack_bayer(raw, preset.packed_sites), 0, -1)
        save_array(root / split / preset.raw_dir / f"{index}.npy", np.ascontiguousarray(packed))
        if split == "train":  # a photo of another crop: targets are unrelated to the RAW files
            other = np.random.default_rng([seed, NTIRE_SEED_CODE, split_code, index, 1])
            _, photo, _ = _render_sample(other, photos, names, bands[split], raw_hw, camera, max_disparity)
            write_rgb(root / split / preset.target_dir / f"{index}.jpg", photo, jpeg_quality=JPEG_QUALITY)
        else:
            write_rgb(root / split / preset.gt_dir / f"{index}.jpg", aligned, jpeg_quality=JPEG_QUALITY)
    manifest = {"layout": preset.name, "seed": seed, "raw_size": list(raw_hw), "counts": counts}
    with atomic_write(root / "synthetic.json", "w") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
    return root
