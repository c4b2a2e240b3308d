"""The NTIRE 2026 challenge baseline's content reference (docs/method.md §9): no interpolation, gray-world balance.

R, (G1 + G2) / 2 and B of each 2x2 block at half resolution, scaled by the white level; gray-world gains
mean(G)/mean(R), 1, mean(G)/mean(B); clip to [0, 1]; per-image min-max; gamma 1/gamma; antialiased bilinear
resize (align_corners False) to the output size.
"""
from __future__ import annotations

import numpy as np
import torch

MIN_CHANNEL_MEAN = 1e-6  # the baseline's guard against a channel that is black everywhere


def grayworld_gains(rgb: np.ndarray) -> np.ndarray:
    """(mean G / mean R, 1, mean G / mean B) of an (h, w, 3) image."""
    means = np.maximum(rgb.reshape(-1, 3).mean(axis=0), MIN_CHANNEL_MEAN)
    return np.array([means[1] / means[0], 1.0, means[1] / means[2]])


def resize_antialiased(rgb: np.ndarray, out_size) -> np.ndarray:
    """Bilinear resize with antialiasing (torchvision's Resize(antialias=True) on tensors) of (h, w, 3) float."""
    out_h, out_w = int(out_size[0]), int(out_size[1])
    if rgb.shape[:2] == (out_h, out_w):
        return rgb
    chw = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
    resized = torch.nn.functional.interpolate(chw, size=(out_h, out_w), mode="bilinear", align_corners=False,
                                              antialias=True)
    return resized[0].numpy().transpose(1, 2, 0)


def grayworld_reference(raw: np.ndarray, white_level: float = 1023, gamma: float = 2.2, out_size=None) -> np.ndarray:
    """RGGB mosaic (H, W), R at (0, 0) -> float32 (h, w, 3) in [0, 1]; (h, w) = out_size or (H, W)."""
    raw = raw.astype(np.float64) / float(white_level)
    green = (raw[0::2, 1::2] + raw[1::2, 0::2]) * 0.5
    rgb = np.stack([raw[0::2, 0::2], green, raw[1::2, 1::2]], axis=-1)
    rgb = np.clip(rgb * grayworld_gains(rgb), 0.0, 1.0)
    low, high = rgb.min(), rgb.max()
    if high > low:  # a flat image has nothing to stretch (the repo's convention for every reference)
        rgb = (rgb - low) / (high - low)
    rgb = rgb ** (1.0 / float(gamma))
    return np.ascontiguousarray(resize_antialiased(rgb, out_size or raw.shape), dtype=np.float32)
