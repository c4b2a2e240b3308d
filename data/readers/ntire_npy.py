"""NTIRE 2026 unpaired-ISP challenge RAW files: already packed (H/2, W/2, 4) arrays in .npy (docs/method.md §9)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..bad_input import BadInputError
from .packing import unpack_bayer

CHANNELS = 4  # R, G, G, B as the challenge stores them


def _shape_problem(shape) -> str | None:
    if len(shape) == 3 and shape[0] == CHANNELS and shape[2] != CHANNELS:
        return (f"has shape {shape}: channels first; the challenge's packed RAW is (H/2, W/2, 4), "
                "save it with np.moveaxis(array, 0, -1)")
    if len(shape) == 3 and shape[2] != CHANNELS:
        return (f"has {shape[2]} channels (shape {shape}), expected 4 (R, G, G, B); "
                "pack a Bayer mosaic into (H/2, W/2, 4) or use another dataset preset")
    if len(shape) != 3 or 0 in shape:
        return (f"has shape {shape}, expected a packed RAW (H/2, W/2, 4) with both sides at least 1; "
                "re-export the file as one (H/2, W/2, 4) array")
    return None


def packed_npy_problem(array) -> str | None:
    """Why a loaded array is not a packed RAW (h, w, 4) of finite numbers, or None when it is.

    Any numeric dtype is accepted, as the baseline reads its arrays (docs/method.md §9): integer counts or floats,
    divided by the white level as float when normalised.
    """
    if not isinstance(array, np.ndarray):
        return f"holds a {type(array).__name__}, expected one array; save a plain numeric array with np.save"
    if array.dtype.kind not in "uif":
        return (f"has dtype {array.dtype}, expected numbers (integer counts or floats); "
                "save the RAW values as a numeric array")
    problem = _shape_problem(array.shape)
    if problem:
        return problem
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = int(np.count_nonzero(~np.isfinite(array)))
        return (f"has {bad} NaN or inf value(s); replace them (e.g. np.nan_to_num) or leave the file out")
    return None


def load_packed_npy(path):
    """(problem, array): the packed RAW of an .npy file in its own dtype, or why it is unusable (never raises for
    bad data). Each problem is one line: the file, what is wrong, the fix."""
    path = Path(path)
    if not path.is_file():
        return f"{path}: file not found", None
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:  # truncated, not an .npy, or a pickled object
        return (f"{path}: cannot read as .npy (corrupt or truncated file: {error}); "
                "re-export it with np.save"), None
    problem = packed_npy_problem(array)
    return (f"{path}: {problem}", None) if problem else (None, array)


def read_packed_npy(path) -> np.ndarray:
    """(h, w, 4) packed RAW of an .npy file in its own numeric dtype, or BadInputError naming the file."""
    problem, array = load_packed_npy(path)
    if problem:
        raise BadInputError(problem)
    return array


def mosaic_from_packed_npy(path, sites) -> np.ndarray:
    """The (2h, 2w) Bayer mosaic (the file's dtype) of a packed .npy whose channel i sits at CFA site sites[i].

    Packing it again with the same sites gives back the file's channels in the file's order, exactly.
    """
    return unpack_bayer(np.moveaxis(read_packed_npy(path), -1, 0), sites)
