"""Constants of the losses are made once per dtype and device (losses.pixel.per_channel_constant, the blur
kernel), and one first made under inference mode still serves autograd (skimage's LAB as the reference)."""
import numpy as np
import torch
from skimage.color import rgb2lab

from losses import gaussian_blur, rgb_to_lab_l


def test_cached_constants_serve_autograd_after_inference_mode():
    x = torch.rand(1, 3, 6, 7, dtype=torch.float64)
    with torch.inference_mode():  # the first call of this dtype: the constants are made here
        rgb_to_lab_l(x)
        gaussian_blur(x)
    leaf = x.clone().requires_grad_(True)
    lightness = rgb_to_lab_l(leaf)
    (lightness.sum() + gaussian_blur(leaf).sum()).backward()
    expected = rgb2lab(x[0].permute(1, 2, 0).numpy())[..., 0]
    np.testing.assert_allclose(lightness[0, 0].detach().numpy(), expected, atol=1e-6)
    assert leaf.grad is not None and torch.isfinite(leaf.grad).all()
