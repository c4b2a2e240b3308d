"""Pixel losses and colour conversions against independent numpy / scipy / scikit-image computations."""
import numpy as np
import pytest
import scipy.signal
import scipy.stats
import skimage.color
import torch

from losses import (
    color_loss,
    dped_blur_kernel,
    gaussian_blur,
    grayscale3,
    mse_loss,
    rgb_to_lab_l,
    rgb_to_lab_l3,
    tv_loss,
)


@pytest.fixture
def images():
    g = torch.Generator().manual_seed(0)
    return torch.rand(3, 3, 32, 40, generator=g, dtype=torch.float64), torch.rand(3, 3, 32, 40, generator=g,
                                                                                  dtype=torch.float64)


def test_mse_matches_numpy(images):
    x, y = images
    assert mse_loss(x, y).item() == pytest.approx(np.mean((x.numpy() - y.numpy()) ** 2), rel=1e-12)


def test_tv_is_per_image_mean_of_squared_neighbour_differences(images):
    x = images[0].numpy()
    per_image = [np.mean((im[:, 1:, :] - im[:, :-1, :]) ** 2) + np.mean((im[:, :, 1:] - im[:, :, :-1]) ** 2)
                 for im in x]
    assert tv_loss(images[0]).item() == pytest.approx(np.mean(per_image), rel=1e-12)
    assert tv_loss(torch.ones(2, 3, 8, 8)).item() == 0.0


def _spec_kernel(size=21, nsig=3.0):
    d = (2 * nsig + 1.0) / size
    x = np.linspace(-nsig - d / 2, nsig + d / 2, size + 1)
    k1 = np.diff(scipy.stats.norm.cdf(x))
    k2 = np.sqrt(np.outer(k1, k1))
    return k2 / k2.sum()


def test_blur_kernel_matches_spec_construction():
    kernel = dped_blur_kernel().double().numpy()
    assert kernel.shape == (21, 21)
    np.testing.assert_allclose(kernel, _spec_kernel(), rtol=1e-5, atol=1e-9)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(dped_blur_kernel(9, 2.0).double().numpy(), _spec_kernel(9, 2.0), rtol=1e-5)


def test_gaussian_blur_is_depthwise_zero_padded_correlation(images):
    x = images[0][:1].float()
    blurred = gaussian_blur(x).double().numpy()
    k = _spec_kernel()
    for c in range(3):
        expected = scipy.signal.correlate2d(x[0, c].double().numpy(), k, mode="same", boundary="fill")
        np.testing.assert_allclose(blurred[0, c], expected, atol=1e-5)


def test_color_loss_is_mse_of_blurred_images(images):
    x, y = (t.float() for t in images)
    k = _spec_kernel()
    bx = np.stack([[scipy.signal.correlate2d(im[c], k, mode="same") for c in range(3)] for im in x.double().numpy()])
    by = np.stack([[scipy.signal.correlate2d(im[c], k, mode="same") for c in range(3)] for im in y.double().numpy()])
    assert color_loss(x, y).item() == pytest.approx(np.mean((bx - by) ** 2), rel=1e-4)


def test_lab_l_matches_skimage(images):
    x = images[0]
    x[0, :, :4, :4] = 0.0  # exercise the linear branches near black
    x[0, :, 4:8, :4] = 0.002
    expected = np.stack([skimage.color.rgb2lab(im.transpose(1, 2, 0))[..., 0] for im in x.numpy()])
    np.testing.assert_allclose(rgb_to_lab_l(x)[:, 0].numpy(), expected, atol=1e-4)
    l3 = rgb_to_lab_l3(x)
    assert l3.shape == x.shape
    np.testing.assert_allclose(l3[:, 2].numpy(), expected / 100.0, atol=1e-6)


def test_lab_l_gradient_is_finite_everywhere():
    x = torch.tensor([0.0, 1e-4, 0.01, 0.04045, 0.5, 1.0, -0.2, 1.3]).view(1, 1, 1, 8).expand(1, 3, 1, 8).clone()
    x.requires_grad_(True)
    rgb_to_lab_l(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_grayscale3_weights(images):
    x = images[0].numpy()
    expected = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    g = grayscale3(images[0]).numpy()
    for c in range(3):
        np.testing.assert_allclose(g[:, c], expected, rtol=1e-12)


def test_rgb_functions_reject_wrong_channels():
    with pytest.raises(ValueError, match="RGB"):
        grayscale3(torch.rand(1, 4, 8, 8))
