"""Pixel-space losses and colour conversions (docs/method.md §4 and 5).

Each function is short and reads like its formula in docs/method.md §5; tensors are (B, C, H, W) RGB in [0, 1].
"""
import functools
import math

import torch
import torch.nn.functional as F

# Luma weights of the grayscale image fed to the texture trunk (docs/method.md §4, "Texture").
GRAY_WEIGHTS = (0.299, 0.587, 0.114)
# Row Y of the sRGB (D65) -> XYZ matrix; CIE L only depends on Y / Y_n with Y_n = 1 for D65.
SRGB_TO_Y = (0.212671, 0.715160, 0.072169)


@functools.lru_cache(maxsize=64)
def per_channel_constant(values: tuple, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """values as a (1, C, 1, 1) tensor, made once per dtype and device instead of every call; shared,
    so read only. Made outside inference mode, so a tensor first asked for there still serves autograd."""
    with torch.inference_mode(False):
        return torch.tensor(values, dtype=dtype, device=device).view(1, -1, 1, 1)


def _check_rgb(x: torch.Tensor, name: str = "x") -> None:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"{name}: expected an RGB batch (B, 3, H, W), got shape {tuple(x.shape)}")


def mse_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all elements."""
    return (x - y).pow(2).mean()


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """Per image: mean squared vertical difference + mean squared horizontal difference; mean over the batch."""
    vertical = (x[:, :, 1:, :] - x[:, :, :-1, :]).pow(2).flatten(1).mean(dim=1)
    horizontal = (x[:, :, :, 1:] - x[:, :, :, :-1]).pow(2).flatten(1).mean(dim=1)
    return (vertical + horizontal).mean()


def dped_blur_kernel(size: int = 21, nsig: float = 3.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """DPED Gaussian: 1-D weights = differences of the normal CDF at size+1 points evenly spaced over
    [-nsig - d/2, nsig + d/2] with d = (2*nsig + 1)/size; 2-D = sqrt(outer(k, k)) normalised to sum 1."""
    d = (2 * nsig + 1.0) / size
    points = torch.linspace(-nsig - d / 2, nsig + d / 2, size + 1, dtype=torch.float64)
    normal_cdf = 0.5 * (1.0 + torch.erf(points / math.sqrt(2.0)))
    k = normal_cdf[1:] - normal_cdf[:-1]
    kernel = torch.sqrt(torch.outer(k, k))
    return (kernel / kernel.sum()).to(dtype)


def gaussian_blur(x: torch.Tensor, size: int = 21, nsig: float = 3.0) -> torch.Tensor:
    """Depthwise convolution with the DPED kernel, zero padding size // 2 (10 for 21x21)."""
    channels = x.shape[1]
    weight = _blur_kernel(size, nsig, x.dtype, x.device).expand(channels, 1, size, size)
    return F.conv2d(x, weight, padding=size // 2, groups=channels)


@functools.lru_cache(maxsize=16)
def _blur_kernel(size: int, nsig: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    # Once per dtype and device (not every step); built in x's dtype straight from float64: a float32
    # round trip would cost float64 inputs ~1e-8.
    with torch.inference_mode(False):
        return dped_blur_kernel(size, nsig, dtype=dtype).to(device=device)


def color_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the Gaussian-blurred images."""
    return mse_loss(gaussian_blur(x), gaussian_blur(y))


def srgb_to_linear(c: torch.Tensor) -> torch.Tensor:
    """sRGB inverse gamma (IEC 61966-2-1). The clamp only keeps the unused branch finite."""
    curved = ((c.clamp(min=0.04045) + 0.055) / 1.055).pow(2.4)
    return torch.where(c > 0.04045, curved, c / 12.92)


def rgb_to_lab_l(x: torch.Tensor) -> torch.Tensor:
    """CIE LAB lightness L in [0, 100] of sRGB images: (B, 3, H, W) -> (B, 1, H, W).

    sRGB inverse gamma -> Y (D65, Y_n = 1) -> L = 116 f(Y) - 16, f(t) = t^(1/3) above 0.008856
    else 7.787 t + 16/116 (the constants scikit-image uses)."""
    _check_rgb(x)
    linear = srgb_to_linear(x)
    y = (linear * per_channel_constant(SRGB_TO_Y, x.dtype, x.device)).sum(dim=1, keepdim=True)
    f = torch.where(y > 0.008856, y.clamp(min=0.008856).pow(1.0 / 3.0), 7.787 * y + 16.0 / 116.0)
    return 116.0 * f - 16.0


def rgb_to_lab_l3(x: torch.Tensor) -> torch.Tensor:
    """L / 100 replicated to 3 channels (the content loss's unpaired input space)."""
    return (rgb_to_lab_l(x) / 100.0).expand(-1, 3, -1, -1)


def grayscale3(x: torch.Tensor) -> torch.Tensor:
    """0.299 R + 0.587 G + 0.114 B replicated to 3 channels."""
    _check_rgb(x)
    return (x * per_channel_constant(GRAY_WEIGHTS, x.dtype, x.device)).sum(dim=1, keepdim=True).expand(-1, 3, -1, -1)
