"""Demosaiced reference image (the "custom RGB" of the unpaired content loss and of pretraining), docs/method.md §1.

Menon 2007 (colour-demosaicing, RGGB) or OpenCV's Bayer conversion on the raw counts as they are (no black
level), then: scale, white-balance gains, clip to [0, 1], per-image min-max over all three channels together,
gamma 1/gamma, bilinear resize (half-pixel centres) to the generator's output size.

Scaling "uint16" (the authors' release, default) divides by 65535: every value stays far below 1, so the clip
never acts on bright pixels and highlights are not saturated per channel. Scaling "white_level" divides by the
sensor's white level instead, so the clip saturates highlights before min-max (an unused function of the release).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..bad_input import BadInputError
from .grayworld import grayworld_reference

DEMOSAIC_METHODS = ("menon", "opencv", "grayworld")  # grayworld: NTIRE 2026 baseline (docs/method.md §9)
REFERENCE_SCALINGS = ("uint16", "white_level")
UINT16_RANGE = 65535.0


def _menon(raw: np.ndarray) -> np.ndarray:
    # Imported lazily: colour-demosaicing pulls in colour-science, which is slow to import.
    from colour_demosaicing import demosaicing_CFA_Bayer_Menon2007

    return np.asarray(demosaicing_CFA_Bayer_Menon2007(raw.astype(np.float64), "RGGB"), dtype=np.float64)


def _opencv(raw: np.ndarray) -> np.ndarray:
    # OpenCV names Bayer patterns by a shifted 2x2 block: BayerBG is its code for an RGGB mosaic with R at (0, 0).
    mosaic = raw if raw.dtype in (np.uint8, np.uint16) else np.clip(np.rint(raw), 0, 65535).astype(np.uint16)
    return cv2.cvtColor(mosaic, cv2.COLOR_BayerBG2RGB).astype(np.float64)


def _check_choices(method: str, scaling: str) -> None:
    if method not in DEMOSAIC_METHODS:
        raise BadInputError(f"unknown demosaic method {method!r}; choose from {DEMOSAIC_METHODS}")
    if scaling not in REFERENCE_SCALINGS:
        raise BadInputError(f"unknown reference scaling {scaling!r}; choose from {REFERENCE_SCALINGS}")


def demosaic_reference(raw: np.ndarray, method: str = "menon", scaling: str = "uint16", white_level: float = 1023,
                       wb_gains=(1.6, 1.2, 1.4), gamma: float = 2.2, out_size=None) -> np.ndarray:
    """RGGB mosaic (H, W) of raw counts -> float32 (h, w, 3) in [0, 1]; (h, w) = out_size or (H, W).

    white_level is used only by scaling="white_level".
    """
    if raw.ndim != 2 or raw.shape[0] % 2 or raw.shape[1] % 2:
        raise BadInputError(f"demosaic_reference needs a 2-D mosaic with even sides, got shape {raw.shape}")
    _check_choices(method, scaling)
    if method == "grayworld":  # its own gains and a half-resolution image: the challenge baseline's pipeline
        return grayworld_reference(raw, white_level, gamma, out_size)
    rgb = _menon(raw) if method == "menon" else _opencv(raw)
    rgb = rgb / (UINT16_RANGE if scaling == "uint16" else float(white_level))
    rgb = rgb * np.asarray(wb_gains, dtype=np.float64).reshape(1, 1, 3)
    rgb = np.clip(rgb, 0.0, 1.0)  # with uint16 scaling this only zeroes Menon's negative overshoots
    low, high = rgb.min(), rgb.max()
    if high > low:  # a perfectly flat image has nothing to stretch; keep it as is instead of dividing by 0
        rgb = (rgb - low) / (high - low)
    rgb = rgb ** (1.0 / float(gamma))
    if out_size is not None:
        out_h, out_w = int(out_size[0]), int(out_size[1])
        if (out_h, out_w) != rgb.shape[:2]:
            rgb = cv2.resize(rgb, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(rgb, dtype=np.float32)


def demosaic_settings(method: str = "menon", scaling: str = "uint16", white_level: float = 1023,
                      wb_gains=(1.6, 1.2, 1.4), gamma: float = 2.2, out_size=None) -> dict:
    """Canonical, JSON-able form of the settings (keys the disk cache); unknown method/scaling raise."""
    _check_choices(method, scaling)
    return {
        "method": str(method),
        "scaling": str(scaling),
        "white_level": float(white_level),
        "wb_gains": [float(g) for g in wb_gains],
        "gamma": float(gamma),
        "out_size": None if out_size is None else [int(out_size[0]), int(out_size[1])],
    }
