"""NTIRE 2026 unpaired-ISP challenge RAW files: already packed (H/2, W/2, 4) arrays in .npy (docs/method.md §9)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import BadInputError
from .packing import unpack_bayer


def packed_npy_problem(array) -> str | None:
    """Why a loaded array is not a packed RAW (h, w, 4) of integer counts, or None when it is."""
    if not isinstance(array, np.ndarray):
        return f"holds a {type(array).__name__}, expected one array"
    if array.ndim != 3 or array.shape[2] != 4 or array.shape[0] == 0 or array.shape[1] == 0:
        return f"has shape {array.shape}, expected a packed RAW (H/2, W/2, 4)"
    if array.dtype.kind not in "ui":
        return f"has dtype {array.dtype}, expected integer RAW counts (uint16)"
    if array.size and (array.min() < 0 or array.max() > 65535):
        return f"has values {array.min()}..{array.max()} outside the 16-bit range"
    return None


def load_packed_npy(path):
    """(problem, array): the packed RAW of an .npy file, or the reason it is unusable (never raises for bad data)."""
    path = Path(path)
    if not path.is_file():
        return f"{path}: file not found", None
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:  # truncated, not an .npy, or a pickled object
        return f"{path}: cannot read as .npy (corrupt or truncated file: {error})", None
    problem = packed_npy_problem(array)
    return (f"{path}: {problem}", None) if problem else (None, array.astype(np.uint16, copy=False))


def read_packed_npy(path) -> np.ndarray:
    """uint16 (h, w, 4) packed RAW of an .npy file, or BadInputError naming the file."""
    problem, array = load_packed_npy(path)
    if problem:
        raise BadInputError(problem)
    return array


def mosaic_from_packed_npy(path, sites) -> np.ndarray:
    """The (2h, 2w) Bayer mosaic of a packed .npy whose channel i sits at CFA site sites[i].

    Packing it again with the same sites gives back the file's channels in the file's order, exactly.
    """
    return unpack_bayer(np.moveaxis(read_packed_npy(path), -1, 0), sites)
