"""Bayer packing, per-channel normalisation and the RMFA-Net 3-channel split (docs/method.md §1)."""
from __future__ import annotations

import numpy as np

from ..bad_input import BadInputError


def _check_mosaic(raw: np.ndarray) -> None:
    if raw.ndim != 2 or raw.shape[0] % 2 or raw.shape[1] % 2:
        raise BadInputError(f"Bayer mosaic must be 2-D with even sides, got shape {raw.shape}")


RELEASE_SITES = ((1, 1), (0, 1), (0, 0), (1, 0))  # B, Gb, R, Gr of an RGGB mosaic with R at (0, 0)


def pack_bayer(raw: np.ndarray, sites=RELEASE_SITES) -> np.ndarray:
    """(H, W) RGGB mosaic -> (4, H/2, W/2), channel i = CFA site sites[i]; default B, Gb, R, Gr (docs/method.md §1)."""
    _check_mosaic(raw)
    return np.stack([raw[row::2, col::2] for row, col in sites], axis=0)


def unpack_bayer(packed: np.ndarray, sites=RELEASE_SITES) -> np.ndarray:
    """(4, h, w) packed channels -> (2h, 2w) mosaic with channel i at CFA site sites[i] (inverse of pack_bayer)."""
    if packed.ndim != 3 or packed.shape[0] != 4:
        raise BadInputError(f"packed RAW must be (4, h, w), got shape {packed.shape}")
    mosaic = np.empty((2 * packed.shape[1], 2 * packed.shape[2]), dtype=packed.dtype)
    for channel, (row, col) in zip(packed, sites):
        mosaic[row::2, col::2] = channel
    return mosaic


def normalise_packed(packed: np.ndarray, black_level, white_level) -> np.ndarray:
    """(x - black_c) / (white - black_c) per packed channel, float32; no clamping (as the release)."""
    if packed.ndim != 3 or packed.shape[0] != 4:
        raise BadInputError(f"packed RAW must be (4, h, w), got shape {packed.shape}")
    black = np.asarray(black_level, dtype=np.float32).reshape(-1)
    if black.size == 1:
        black = np.repeat(black, 4)
    if black.size != 4:
        raise BadInputError(f"black_level needs 1 or 4 values, got {black_level!r}")
    white = np.float32(white_level)
    if np.any(white - black <= 0):
        raise BadInputError(f"white_level {white_level} must exceed every black level {tuple(black_level)}")
    black = black.reshape(4, 1, 1)
    return (packed.astype(np.float32) - black) / (white - black)


def rmfa_split(raw: np.ndarray, black: float = 63, white: float = 1023) -> np.ndarray:
    """RMFA-Net input: three full-resolution planes initialised to 1.0, each CFA site written to its colour."""
    _check_mosaic(raw)
    values = np.maximum(raw.astype(np.float32) - np.float32(black), 0.0) / np.float32(white)
    planes = np.ones((3,) + raw.shape, dtype=np.float32)
    planes[0, 0::2, 0::2] = values[0::2, 0::2]  # R
    planes[1, 0::2, 1::2] = values[0::2, 1::2]  # G on R rows
    planes[1, 1::2, 0::2] = values[1::2, 0::2]  # G on B rows
    planes[2, 1::2, 1::2] = values[1::2, 1::2]  # B
    return planes


def mosaic_rggb(rgb: np.ndarray) -> np.ndarray:
    """Sample an (H, W, 3) image on an RGGB Bayer pattern (R at (0, 0)) -> (H, W); the inverse of demosaicing."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] % 2 or rgb.shape[1] % 2:
        raise BadInputError(f"mosaic_rggb needs (H, W, 3) with even H and W, got {rgb.shape}")
    mosaic = np.empty(rgb.shape[:2], dtype=rgb.dtype)
    mosaic[0::2, 0::2] = rgb[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = rgb[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = rgb[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return mosaic
