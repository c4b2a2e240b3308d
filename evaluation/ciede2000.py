"""CIEDE2000 colour difference (Delta E 2000; lower is better), the NTIRE 2026 challenge's colour metric.

Per pixel on CIELAB of sRGB (D65 white, the sRGB transfer curve undone first), then the mean per image.
scikit-image's rgb2lab and deltaE_ciede2000 (kL = kC = kH = 1) do the colour science.
"""
from __future__ import annotations

import numpy as np
import torch


def ciede2000_lab(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 of CIELAB colours (..., 3) pairwise, kL = kC = kH = 1."""
    from skimage.color import deltaE_ciede2000  # lazy: scikit-image is slow to import

    return deltaE_ciede2000(np.asarray(lab1, dtype=np.float64), np.asarray(lab2, dtype=np.float64))


def delta_e2000(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean CIEDE2000 between two (B, 3, H, W) sRGB batches in [0, 1], one value per image, float64 (B,)."""
    from skimage.color import rgb2lab

    if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"delta_e2000 needs two (B, 3, H, W) RGB batches, got {tuple(x.shape)} and {tuple(y.shape)}")
    first = x.detach().double().cpu().permute(0, 2, 3, 1).numpy()
    second = y.detach().double().cpu().permute(0, 2, 3, 1).numpy()
    scores = [ciede2000_lab(rgb2lab(a, illuminant="D65"), rgb2lab(b, illuminant="D65")).mean()
              for a, b in zip(first, second)]
    return torch.tensor(np.asarray(scores, dtype=np.float64))
