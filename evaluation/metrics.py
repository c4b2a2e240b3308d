"""Evaluation metrics with the conventions of the paper's tables (docs/method.md §7).

Images are NCHW tensors in [0, 1]; every metric returns one value per image, shape (B,). CIEDE2000
(delta_e2000, mean per image) is in ciede2000.py; LPIPS is scored by a network the caller passes in.
SSIM and MS-SSIM follow TensorFlow's ``tf.image.ssim`` / ``tf.image.ssim_multiscale`` exactly:
normalised 11x11 Gaussian (sigma 1.5), K1 0.01, K2 0.03, VALID filtering (no padding), per-channel
scores averaged over channels; MS-SSIM downsamples by 2x2 average pooling after padding an odd
edge by repeating its last row/column (TF's SYMMETRIC pad by the remainder), applies ReLU to the
contrast-structure terms and to the last-scale SSIM, and takes the weighted geometric mean.
Like TF, an image smaller than the filter at any scale is an error (TF asserts; it never shrinks
the filter). Computation runs in float64 by default so that the numbers do not depend on the
summation order of the convolution backend.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from .ciede2000 import delta_e2000
from .submission_jpeg import jpeg_round_trip

MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
METRIC_NAMES = ("psnr", "ssim", "ms_ssim", "lpips", "delta_e2000")
# How a prediction is scored: 'none' = the clamped float output (the release's validation sweeps);
# 'png8' / 'round' = the 8-bit PNG it is saved as (the release's test tables truncate: png8);
# 'jpeg75' = the challenge's submitted file: truncated 8-bit levels through the submission JPEG writer, decoded.
QUANTIZE_MODES = ("none", "png8", "jpeg75", "round")
QUANTIZE_ALIASES = {"truncate": "png8"}  # the earlier spelling of png8, still accepted
QUANTIZE_CHOICES = QUANTIZE_MODES + tuple(QUANTIZE_ALIASES)  # what a command line accepts


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape:
        raise ValueError(f"metric inputs differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}")
    if x.dim() != 4:
        raise ValueError(f"metric inputs must be (B, C, H, W); got shape {tuple(x.shape)}")


def canonical_quantize(mode: str) -> str:
    """The QUANTIZE_MODES name of a mode or of its alias ('truncate' -> 'png8'); ValueError when unknown."""
    mode = QUANTIZE_ALIASES.get(mode, mode)
    if mode not in QUANTIZE_MODES:
        raise ValueError(f"unknown quantisation {mode!r}; choose from {QUANTIZE_CHOICES}")
    return mode


def quantize_8bit(x: torch.Tensor, mode: str) -> torch.Tensor:
    """Clamp to [0, 1] and map to the 8-bit levels a saved PNG holds, as a uint8 tensor.

    mode 'truncate' (= 'png8') is the release's uint8(x * 255) (floor; how the paper's test tables were made,
    docs/method.md §7, and how the challenge's submission is saved before JPEG); 'round' is floor(x * 255 + 0.5).
    Computed in x's own precision, so a float32 output gives the same levels as the release's numpy float32
    arithmetic, boundary cases included.
    """
    if mode not in ("truncate", "png8", "round"):
        raise ValueError(f"8-bit quantisation mode must be 'png8' (alias 'truncate') or 'round', got {mode!r}")
    scaled = x.clamp(0.0, 1.0).mul_(255.0)  # in place on the fresh clamp copy: fewer passes
    if mode == "round":
        scaled.add_(0.5)
    return scaled.floor_().to(torch.uint8)


def scored_output(x: torch.Tensor, quantize: str = "none") -> torch.Tensor:
    """The prediction as it is scored: clamped to [0, 1], then optionally as its 8-bit PNG levels / 255, or as
    the decoded levels of its submission JPEG / 255 (jpeg75)."""
    quantize = canonical_quantize(quantize)
    if quantize == "none":
        return x.clamp(0.0, 1.0)
    if quantize == "jpeg75":
        return jpeg_round_trip(quantize_8bit(x, "png8")).to(x.dtype) / 255.0
    return quantize_8bit(x, quantize).to(x.dtype) / 255.0


def psnr(x: torch.Tensor, y: torch.Tensor, max_val: float = 1.0) -> torch.Tensor:
    """PSNR = 20 log10(max_val / sqrt(MSE)) for each image (inf for identical images)."""
    _check_pair(x, y)
    if x.dtype != y.dtype:
        x, y = x.double(), y.double()
    # Squares in the input precision, accumulated in float64 (a float32 sum drifts on big images).
    mse = (x - y).pow(2).flatten(1).sum(dim=1, dtype=torch.float64) / x[0].numel()
    return 20.0 * torch.log10(max_val / torch.sqrt(mse))


def gaussian_kernel_1d(size: int = 11, sigma: float = 1.5, dtype=torch.float64) -> torch.Tensor:
    """Normalised 1-D Gaussian; its outer product is TF's softmax-normalised 2-D kernel."""
    coords = torch.arange(size, dtype=dtype) - (size - 1) / 2.0
    g = torch.exp(-0.5 * coords.pow(2) / sigma**2)
    return g / g.sum()


def _band_matrix(length: int, kernel_1d: torch.Tensor) -> torch.Tensor:
    """(length, length - k + 1) matrix M with (v @ M)[j] = sum_i kernel[i] v[j + i]: VALID 1-D filtering."""
    size = kernel_1d.numel()
    out = length - size + 1
    band = kernel_1d.new_zeros(length, out)
    cols = torch.arange(out, device=kernel_1d.device)
    for i in range(size):
        band[cols + i, cols] = kernel_1d[i]
    return band


def _filter_valid(x: torch.Tensor, kernel_1d: torch.Tensor) -> torch.Tensor:
    """Depthwise separable Gaussian filter with VALID padding, as two banded matrix products.

    Equal to an 11x11 depthwise convolution (the 2-D kernel is the outer product of the 1-D one)
    but several times faster on CPU, where grouped float64 convolutions are slow.
    """
    kernel = kernel_1d.to(device=x.device, dtype=x.dtype)
    rows = _band_matrix(x.shape[-2], kernel)
    cols = _band_matrix(x.shape[-1], kernel)
    return rows.transpose(0, 1) @ (x @ cols)


def _ssim_per_channel(x, y, max_val, filter_size, filter_sigma, k1, k2):
    """Per-channel (SSIM, contrast-structure), each (B, C): TF's _ssim_per_channel."""
    height, width = x.shape[-2:]
    if height < filter_size or width < filter_size:
        raise ValueError(
            f"image of {height}x{width} is smaller than the {filter_size}x{filter_size} SSIM filter "
            "(tf.image.ssim/ssim_multiscale reject this; MS-SSIM needs about 16x the filter size)")
    kernel = gaussian_kernel_1d(filter_size, filter_sigma, dtype=x.dtype)
    c1 = (k1 * max_val) ** 2
    c2 = (k2 * max_val) ** 2
    # One filtering pass over the four local statistics TF's reducer computes.
    stats = _filter_valid(torch.cat([x, y, x * y, x.pow(2) + y.pow(2)], dim=1), kernel)
    mean_x, mean_y, mean_xy, mean_sq = stats.chunk(4, dim=1)
    num0 = mean_x * mean_y * 2.0
    den0 = mean_x.pow(2) + mean_y.pow(2)
    luminance = (num0 + c1) / (den0 + c1)
    num1 = mean_xy * 2.0
    contrast_structure = (num1 - num0 + c2) / (mean_sq - den0 + c2)
    ssim_map = luminance * contrast_structure
    return ssim_map.mean(dim=(-2, -1)), contrast_structure.mean(dim=(-2, -1))


def ssim_tf(x: torch.Tensor, y: torch.Tensor, max_val: float = 1.0, filter_size: int = 11,
            filter_sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03,
            dtype=torch.float64) -> torch.Tensor:
    """tf.image.ssim: per-channel SSIM averaged over channels, shape (B,)."""
    _check_pair(x, y)
    ssim_c, _ = _ssim_per_channel(x.to(dtype), y.to(dtype), max_val, filter_size, filter_sigma, k1, k2)
    return ssim_c.mean(dim=1)


def _halve(x: torch.Tensor) -> torch.Tensor:
    """TF's MS-SSIM downsampling: pad an odd edge by repeating the last row/col, then 2x2 mean."""
    pad_h, pad_w = x.shape[-2] % 2, x.shape[-1] % 2
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return F.avg_pool2d(x, kernel_size=2, stride=2)


def ms_ssim_min_size(filter_size: int = 11, scales: int = len(MSSSIM_WEIGHTS)) -> int:
    """Smallest side length whose every MS-SSIM scale still holds the filter."""
    size = filter_size
    for _ in range(scales - 1):
        size = 2 * size - 1  # ceil(n / 2) >= s  <=>  n >= 2s - 1
    return size


def ms_ssim_tf(x: torch.Tensor, y: torch.Tensor, max_val: float = 1.0,
               power_factors=MSSSIM_WEIGHTS, filter_size: int = 11, filter_sigma: float = 1.5,
               k1: float = 0.01, k2: float = 0.03, dtype=torch.float64) -> torch.Tensor:
    """tf.image.ssim_multiscale, shape (B,)."""
    return _ms_ssim_and_ssim(x, y, max_val, power_factors, filter_size, filter_sigma, k1, k2, dtype)[0]


def _ms_ssim_and_ssim(x, y, max_val=1.0, power_factors=MSSSIM_WEIGHTS, filter_size=11, filter_sigma=1.5,
                      k1=0.01, k2=0.03, dtype=torch.float64):
    """(MS-SSIM, SSIM) per image; SSIM is MS-SSIM's first scale, so both cost one pass."""
    _check_pair(x, y)
    x, y = x.to(dtype), y.to(dtype)
    contrast_terms, first_scale_ssim = [], None
    for scale in range(len(power_factors)):
        if scale > 0:
            x, y = _halve(x), _halve(y)
        ssim_c, cs_c = _ssim_per_channel(x, y, max_val, filter_size, filter_sigma, k1, k2)
        if first_scale_ssim is None:
            first_scale_ssim = ssim_c.mean(dim=1)
        contrast_terms.append(torch.relu(cs_c))
    # The last scale contributes its full SSIM (luminance included) instead of its cs term.
    terms = torch.stack(contrast_terms[:-1] + [torch.relu(ssim_c)], dim=-1)  # (B, C, scales)
    weights = torch.tensor(power_factors, dtype=terms.dtype, device=terms.device)
    per_channel = terms.pow(weights).prod(dim=-1)
    return per_channel.mean(dim=1), first_scale_ssim


# ----------------------------------------------------------------------------- LPIPS

class LPIPSMetric(torch.nn.Module):
    """LPIPS as a metric; __call__(x, y) on [0,1] images -> (B,) float64.

    net: the LPIPS AlexNet v0.1 network (pyiqa's architecture, called net(x, y, normalize=True)); the scripts
    build it with losses.build_lpips_alexnet, since this library imports no other.
    """

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        _check_pair(x, y)
        # normalize=True makes pyiqa rescale [0,1] inputs to [-1,1] as LPIPS v0.1 expects.
        out = self.net(x.float(), y.float(), normalize=True)
        return out.reshape(out.shape[0], -1).mean(dim=1).double()


# ----------------------------------------------------------------------------- batch scoring

def score_batch(pred: torch.Tensor, target: torch.Tensor, quantize: str = "none",
                lpips: Optional[Callable] = None, ms_ssim: bool | None = None, metrics=None) -> dict:
    """Metrics of one batch as {name: (B,) float64 CPU tensor}, in METRIC_NAMES order.

    quantize: one of QUANTIZE_MODES (or an alias); the prediction is always clamped to [0, 1] first (scored_output).
    ms_ssim: None = compute when the images are large enough for TF's five scales, else NaN.
    lpips: a callable (pred, target) -> (B,) such as LPIPSMetric; without it the lpips column is left out.
    metrics: subset of METRIC_NAMES to compute (None = all available; lpips needs the callable).
    """
    _check_pair(pred, target)
    wanted = set(METRIC_NAMES if metrics is None else metrics)
    unknown = wanted - set(METRIC_NAMES)
    if unknown:
        raise ValueError(f"unknown metric(s) {sorted(unknown)}; choose from {METRIC_NAMES}")
    pred = scored_output(pred, quantize)
    scores = {}
    if "psnr" in wanted:
        scores["psnr"] = psnr(pred, target)
    if "ms_ssim" in wanted:
        big_enough = min(pred.shape[-2:]) >= ms_ssim_min_size()
        if ms_ssim or (ms_ssim is None and big_enough):
            scores["ms_ssim"], first_scale_ssim = _ms_ssim_and_ssim(pred, target)
            if "ssim" in wanted:
                scores["ssim"] = first_scale_ssim
        else:
            warnings.warn(f"MS-SSIM needs images of at least {ms_ssim_min_size()} px for TF's five scales; "
                          f"got {tuple(pred.shape[-2:])}, so the ms_ssim column is NaN", stacklevel=2)
            scores["ms_ssim"] = torch.full((pred.shape[0],), math.nan, dtype=torch.float64)
    if "ssim" in wanted and "ssim" not in scores:
        scores["ssim"] = ssim_tf(pred, target)
    if "lpips" in wanted and lpips is not None:
        scores["lpips"] = lpips(pred, target)
    if "delta_e2000" in wanted:
        scores["delta_e2000"] = delta_e2000(pred, target)
    ordered = [name for name in METRIC_NAMES if name in scores]
    return {k: scores[k].detach().double().cpu() for k in ordered}
