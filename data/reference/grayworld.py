"""The NTIRE 2026 challenge baseline's content reference (docs/method.md §9): no interpolation, gray-world balance.

Value for value the baseline's computation, in float32 and in its order of operations:
  1. the counts as float32, divided by the white level;
  2. 2x2 stacking "demosaic" at half resolution: R, (G1 + G2) * 0.5, B (no interpolation);
  3. gray-world gains mean(G)/mean(R), 1, mean(G)/mean(B), each channel mean floored at 1e-6 (a channel that is
     black everywhere stays black instead of dividing by zero);
  4. clip to [0, 1];
  5. per-image min-max over the three channels: (x - min) * (1 / (max - min)) when max - min > 1e-6, else
     (x - min), so a flat patch becomes 0;
  6. gamma: x ** (1 / gamma);
  7. antialiased bilinear resize (torchvision Resize(..., bilinear, antialias=True) on a float tensor).
The baseline resizes with Resize(512), which sets the SHORTER side to 512; that is the generator's output size
only for the challenge's 256x256x4 RAW. Here the reference is resized to the generator's output size (the mosaic
size, 2x the packed size) whatever the input size, which is the same 512x512 for the challenge's files.
"""
from __future__ import annotations

import numpy as np
import torch

MIN_CHANNEL_MEAN = 1e-6  # the baseline's floor on each channel mean (a channel black everywhere)
MIN_RANGE = 1e-6  # below this max - min the baseline only subtracts the minimum (a flat patch -> 0)


def stacked_rgb(raw: np.ndarray, white_level: float) -> torch.Tensor:
    """RGGB mosaic (H, W), R at (0, 0) -> float32 (3, H/2, W/2): R, (G1 + G2) * 0.5, B of each 2x2 block."""
    x = torch.from_numpy(np.ascontiguousarray(raw)).float() / float(white_level)
    green = (x[0::2, 1::2] + x[1::2, 0::2]) * 0.5
    return torch.stack([x[0::2, 0::2], green, x[1::2, 1::2]], dim=0)


def grayworld_balance(rgb: torch.Tensor) -> torch.Tensor:
    """(3, h, w) times the gains (mean G / mean R, 1, mean G / mean B), clipped to [0, 1]."""
    means = torch.maximum(rgb.reshape(3, -1).mean(dim=1), torch.tensor(MIN_CHANNEL_MEAN))
    gains = torch.stack([means[1] / means[0], torch.tensor(1.0), means[1] / means[2]])
    return torch.clamp(rgb * gains.view(3, 1, 1), 0.0, 1.0)


def min_max_stretch(rgb: torch.Tensor) -> torch.Tensor:
    """(x - min) / (max - min) over all channels together; (x - min) when the range is at most MIN_RANGE."""
    low, high = rgb.min(), rgb.max()
    spread = high - low
    scale = torch.where(spread > MIN_RANGE, 1.0 / spread, torch.tensor(1.0))  # the baseline multiplies by 1/range
    return (rgb - low) * scale


def grayworld_reference(raw: np.ndarray, white_level: float = 1023, gamma: float = 2.2, out_size=None) -> np.ndarray:
    """RGGB mosaic (H, W) of counts (any numeric dtype) -> float32 (h, w, 3) in [0, 1]; (h, w) = out_size or (H, W).

    out_size is the generator's output size (ISPDataset passes the mosaic size).
    """
    rgb = min_max_stretch(grayworld_balance(stacked_rgb(raw, white_level)))
    rgb = torch.pow(rgb, 1.0 / float(gamma))
    out_h, out_w = (int(s) for s in (out_size or raw.shape[:2]))
    if tuple(rgb.shape[1:]) != (out_h, out_w):
        rgb = torch.nn.functional.interpolate(rgb[None], size=(out_h, out_w), mode="bilinear", align_corners=False,
                                              antialias=True)[0]
    return np.ascontiguousarray(rgb.numpy().transpose(1, 2, 0), dtype=np.float32)
