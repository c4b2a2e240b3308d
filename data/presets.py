"""Dataset presets: folder names, extensions, splits and normalisation constants (SPEC section 1)."""
from __future__ import annotations

from dataclasses import dataclass
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
    target_scale: int = 1  # target side / RAW mosaic side in the real data
    rmfa_black: float = 63.0  # RMFA-Net 3-channel split constants
    rmfa_white: float = 1023.0


DATASET_PRESETS = {
    # ZRR: divide by 4*255 = 1020, no black level; Canon JPEG targets are twice the RAW side.
    # The RMFA split keeps SPEC's single rule (black 63, clamp, /1023) on every dataset: SPEC gives no ZRR
    # variant of it (RMFA-Net was only published on Fujifilm), so we do not invent one.
    "zrr": DatasetPreset(
        name="zrr", raw_dir="huawei_raw", target_dir="canon", raw_ext=".png", target_ext=".jpg",
        splits=("train", "test"), black_level=(0, 0, 0, 0), white_level=1020.0, target_scale=2,
        rmfa_black=63.0, rmfa_white=1023.0,
    ),
    # Fujifilm UltraISP: the authors' release subtracts per-channel black levels, white level 1023.
    "fujifilm": DatasetPreset(
        name="fujifilm", raw_dir="mediatek_raw", target_dir="fujifilm", raw_ext=".png", target_ext=".png",
        splits=("train", "val", "test"), black_level=(62, 60, 58, 61), white_level=1023.0, target_scale=1,
        rmfa_black=63.0, rmfa_white=1023.0,
    ),
}

PresetLike = Union[str, DatasetPreset]


def get_preset(preset: PresetLike) -> DatasetPreset:
    """Accept a preset name or a DatasetPreset; unknown names raise BadInputError listing the known ones."""
    if isinstance(preset, DatasetPreset):
        return preset
    key = str(preset).lower()
    if key not in DATASET_PRESETS:
        raise BadInputError(f"unknown dataset preset {preset!r}; known: {sorted(DATASET_PRESETS)}")
    return DATASET_PRESETS[key]
