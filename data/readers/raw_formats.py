"""One reader for every RAW file format of the presets: a Bayer mosaic (RGGB, R at (0, 0)) per file."""
from __future__ import annotations

import numpy as np

from .ntire_npy import load_packed_npy, mosaic_from_packed_npy
from .raw_io import raw_file_problem, read_raw


def read_mosaic(path, preset) -> np.ndarray:
    """(H, W) RGGB mosaic of a RAW file in the preset's format; BadInputError naming a bad file.

    uint16 for PNG mosaics; a packed .npy keeps its own numeric dtype (normalisation divides it as float).
    """
    if preset.raw_format == "packed_npy":
        return mosaic_from_packed_npy(path, preset.packed_sites)
    return read_raw(path)


def mosaic_file_problem(path, preset):
    """(problem message, None) for an unusable RAW file of the preset, else (None, its mosaic shape)."""
    if preset.raw_format == "packed_npy":
        problem, array = load_packed_npy(path)
        return (problem, None) if problem else (None, (2 * array.shape[0], 2 * array.shape[1]))
    return raw_file_problem(path)
