"""Dataset presets: folder names, extensions, splits and normalisation constants (SPEC section 1)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Union

from .errors import BadInputError


@dataclass(frozen=True)
class DatasetPreset:
    name: str
    raw_dir: str
    target_dir: str
    raw_ext: str
    target_ext: str
    splits: tuple
    black_level: tuple  # per packed channel, SPEC packing order (B, Gb, R, Gr)
    white_level: float
    rmfa_black: float = 63.0  # RMFA-Net 3-channel split constants
    rmfa_white: float = 1023.0


FUJIFILM_BLACK_LEVEL = (62, 60, 58, 61)  # the authors' release, packed order B, Gb, R, Gr

DATASET_PRESETS = {
    # ZRR: RAW 448x448 mosaic and Canon JPEG 448x448, the same pixel size. PyNET's loader divides by
    # 4*255 = 1020 with no black level (default; see ZRR_NORMALISATIONS for the release's variant).
    # The RMFA split keeps SPEC's single rule (black 63, clamp, /1023) on every dataset: SPEC gives no ZRR
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
}

# ZRR packed-input normalisation: which one produced the paper's Table 1 is not known (SPEC section 1).
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
