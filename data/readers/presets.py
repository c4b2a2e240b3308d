"""Dataset presets: folder names, extensions, splits and normalisation constants (docs/method.md §1)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Union

from ..bad_input import BadInputError


@dataclass(frozen=True)
class DatasetPreset:
    name: str
    raw_dir: str
    target_dir: str
    raw_ext: str
    target_ext: str
    splits: tuple
    black_level: tuple  # per packed channel, in packed_sites order
    white_level: float
    rmfa_black: float = 63.0  # RMFA-Net 3-channel split constants
    rmfa_white: float = 1023.0
    # Packed channel order: the (row, col) site of each channel inside the 2x2 RGGB block (R at (0, 0)).
    # Default = the release's packing raw[1::2,1::2], raw[0::2,1::2], raw[0::2,0::2], raw[1::2,0::2] (B, Gb, R, Gr).
    packed_sites: tuple = ((1, 1), (0, 1), (0, 0), (1, 0))
    channel_names: tuple = ("B", "Gb", "R", "Gr")
    raw_format: str = "png_mosaic"  # png_mosaic: 16-bit PNG Bayer mosaic | packed_npy: (H/2, W/2, 4) .npy
    aligned_targets: bool = True  # False: target_dir holds unrelated photos (unpaired training only)
    gt_dir: str = ""  # unpaired-only presets: optional folder of pixel-aligned ground truth for scoring
    per_file_levels: bool = False  # True: black/white levels per RAW file from <root>/manifest.json


FUJIFILM_BLACK_LEVEL = (62, 60, 58, 61)  # the authors' release, packed order B, Gb, R, Gr

DATASET_PRESETS = {
    # ZRR: RAW 448x448 mosaic and Canon JPEG 448x448, the same pixel size. PyNET's loader divides by
    # 4*255 = 1020 with no black level (default; see ZRR_NORMALISATIONS for the release's variant).
    # The RMFA split keeps the release's single rule (black 63, clamp, /1023) on every dataset: the release gives no ZRR
    # variant of it (RMFA-Net was only published on Fujifilm), so we do not invent one.
    "zrr": DatasetPreset(
        name="zrr", raw_dir="huawei_raw", target_dir="canon", raw_ext=".png", target_ext=".jpg",
        splits=("train", "test"), black_level=(0, 0, 0, 0), white_level=1020.0,
        rmfa_black=63.0, rmfa_white=1023.0,
    ),
    # Fujifilm UltraISP: the authors' release subtracts per-channel black levels, white level 1023.
    "fujifilm": DatasetPreset(
        name="fujifilm", raw_dir="mediatek_raw", target_dir="fujifilm", raw_ext=".png", target_ext=".png",
        splits=("train", "val", "test"), black_level=FUJIFILM_BLACK_LEVEL, white_level=1023.0,
        rmfa_black=63.0, rmfa_white=1023.0,
    ),
    # NTIRE 2026 unpaired ISP challenge (docs/method.md §9): RAW already packed as (H/2, W/2, 4) .npy in the
    # file's order R, G, G, B, /1023 with no black level; the generator takes the channels in that order.
    # The sub-pixel sites are not stated: we read them as R (0,0), G (0,1), G (1,0), B (1,1), which only
    # matters for the mosaic-based references (menon, opencv) and the RMFA split. JPEG targets are unrelated
    # photos at 2x the packed size (= the mosaic size).
    "ntire2026": DatasetPreset(
        name="ntire2026", raw_dir="raws", target_dir="jpegs", raw_ext=".npy", target_ext=".jpg",
        splits=("train", "val", "test"), black_level=(0, 0, 0, 0), white_level=1023.0,
        rmfa_black=0.0, rmfa_white=1023.0, packed_sites=((0, 0), (0, 1), (1, 0), (1, 1)),
        channel_names=("R", "G1", "G2", "B"), raw_format="packed_npy", aligned_targets=False, gt_dir="gt",
    ),
    # A user's own camera, as written by `python -m tools.data ingest`: RGGB RAW patches (16-bit PNG) whose
    # black (per CFA site) and white levels are in <root>/manifest.json, and unrelated photo patches.
    "camera": DatasetPreset(
        name="camera", raw_dir="raw", target_dir="photos", raw_ext=".png", target_ext=".png",
        splits=("train", "val", "test"), black_level=(0, 0, 0, 0), white_level=65535.0,
        rmfa_black=0.0, rmfa_white=65535.0, aligned_targets=False, gt_dir="gt", per_file_levels=True,
    ),
}

# ZRR packed-input normalisation: which one produced the paper's Table 1 is not known (docs/method.md §1).
ZRR_NORMALISATIONS = {
    "pynet": {"black_level": (0, 0, 0, 0), "white_level": 1020.0},  # PyNET's ZRR loader: x / 1020
    # the release's only ZRR path (commented out) reuses the Fujifilm loader: (x - black_c) / (1023 - black_c)
    "fujifilm_black": {"black_level": FUJIFILM_BLACK_LEVEL, "white_level": 1023.0},
}

PresetLike = Union[str, DatasetPreset]


def get_preset(preset: PresetLike, zrr_normalisation: str = "pynet") -> DatasetPreset:
    """A preset by name (a DatasetPreset is returned as it is); unknown names raise BadInputError.

    zrr_normalisation picks the ZRR packed-input constants from ZRR_NORMALISATIONS; other presets ignore it.
    """
    if isinstance(preset, DatasetPreset):
        return preset
    key = str(preset).lower()
    if key not in DATASET_PRESETS:
        raise BadInputError(f"unknown dataset preset {preset!r}; known: {sorted(DATASET_PRESETS)}")
    if zrr_normalisation not in ZRR_NORMALISATIONS:
        raise BadInputError(f"unknown zrr_normalisation {zrr_normalisation!r}; "
                            f"choose from {sorted(ZRR_NORMALISATIONS)}")
    if key == "zrr":
        return replace(DATASET_PRESETS[key], **ZRR_NORMALISATIONS[zrr_normalisation])
    return DATASET_PRESETS[key]
