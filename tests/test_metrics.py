"""Metric values against closed forms and independent numpy/scipy/scikit-image computations."""
import math

import numpy as np
import pytest
import torch
from scipy.signal import correlate2d

from evaluation import MSSSIM_WEIGHTS, ms_ssim_min_size, ms_ssim_tf, psnr, quantize_8bit, score_batch, ssim_tf
from wiring import build_lpips_metric

C1, C2 = 0.01**2, 0.03**2


def _np_gauss2d(size=11, sigma=1.5):
    # Written independently of the torch code: a direct 2-D exp, normalised (TF's softmax form).
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def _np_ssim_cs(a, b):
    """Textbook SSIM with population (co)variances over VALID windows; a, b (H, W) float64."""
    w = _np_gauss2d()
    mu_a, mu_b = correlate2d(a, w, "valid"), correlate2d(b, w, "valid")
    var_a = correlate2d(a * a, w, "valid") - mu_a**2
    var_b = correlate2d(b * b, w, "valid") - mu_b**2
    cov = correlate2d(a * b, w, "valid") - mu_a * mu_b
    lum = (2 * mu_a * mu_b + C1) / (mu_a**2 + mu_b**2 + C1)
    cs = (2 * cov + C2) / (var_a + var_b + C2)
    return (lum * cs).mean(), cs.mean()


def _np_halve(a):
    a = np.pad(a, ((0, a.shape[0] % 2), (0, a.shape[1] % 2)), mode="symmetric")
    return 0.25 * (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2])


def _np_ms_ssim(a, b):
    """MS-SSIM of one (H, W, C) image pair following the TF recipe, channel by channel."""
    per_channel = []
    for c in range(a.shape[-1]):
        x, y, value = a[..., c], b[..., c], 1.0
        for k, weight in enumerate(MSSSIM_WEIGHTS):
            if k:
                x, y = _np_halve(x), _np_halve(y)
            s, cs = _np_ssim_cs(x, y)
            term = s if k == len(MSSSIM_WEIGHTS) - 1 else cs
            value *= max(term, 0.0) ** weight
        per_channel.append(value)
    return float(np.mean(per_channel))


def _pair(h, w, seed=0, noise=0.1):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(1, 3, h, w, generator=g, dtype=torch.float64)
    base = torch.nn.functional.avg_pool2d(base, 3, 1, 1)  # some spatial structure
    other = (base + noise * torch.randn(base.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return base, other


def _hwc(t):
    return t[0].permute(1, 2, 0).numpy()


def test_psnr_constant_shift_and_batch():
    x = torch.full((2, 3, 8, 8), 0.5)
    y = x.clone()
    y[0] += 0.1
    y[1] -= 0.01
    assert torch.allclose(psnr(x, y), torch.tensor([20.0, 40.0], dtype=torch.float64), atol=1e-4)
    assert math.isinf(psnr(x, x)[0].item())


def test_psnr_is_mean_of_per_image_values():
    x, y = _pair(16, 16)
    mse = float(((x - y) ** 2).mean())
    assert psnr(x, y).item() == pytest.approx(10 * math.log10(1 / mse), rel=1e-12)


def test_ssim_constant_images_closed_form():
    a, b = 0.3, 0.7
    x, y = torch.full((1, 3, 16, 16), a), torch.full((1, 3, 16, 16), b)
    expected = (2 * a * b + C1) / (a * a + b * b + C1)  # contrast-structure is exactly 1
    assert ssim_tf(x, y).item() == pytest.approx(expected, rel=1e-6)
    big = (1, 3, 176, 176)
    ms = ms_ssim_tf(torch.full(big, a), torch.full(big, b)).item()
    assert ms == pytest.approx(expected ** MSSSIM_WEIGHTS[-1], rel=1e-6)


def test_identical_images_score_one():
    x, _ = _pair(180, 170)
    assert ssim_tf(x, x).item() == pytest.approx(1.0, abs=1e-12)
    assert ms_ssim_tf(x, x).item() == pytest.approx(1.0, abs=1e-12)


def test_ssim_matches_numpy_reference_and_skimage():
    from skimage.metrics import structural_similarity
    x, y = _pair(23, 31, seed=1)
    ours = ssim_tf(x, y).item()
    reference = np.mean([_np_ssim_cs(_hwc(x)[..., c], _hwc(y)[..., c])[0] for c in range(3)])
    assert ours == pytest.approx(reference, abs=1e-10)
    # scikit-image with Gaussian weights crops the same 5-pixel border (= VALID) and uses K1/K2 too.
    sk = structural_similarity(_hwc(x), _hwc(y), gaussian_weights=True, sigma=1.5,
                               use_sample_covariance=False, data_range=1.0, channel_axis=2)
    assert ours == pytest.approx(sk, abs=1e-7)
    assert ours < 0.95  # noisy pair: not trivially 1


def test_ms_ssim_matches_numpy_reference_on_odd_sizes():
    # 181 x 177 is odd at several scales, exercising TF's pad-then-pool rule.
    x, y = _pair(181, 177, seed=2, noise=0.05)
    ours = ms_ssim_tf(x, y).item()
    assert ours == pytest.approx(_np_ms_ssim(_hwc(x), _hwc(y)), abs=1e-10)
    assert 0.5 < ours < 0.999


def test_ms_ssim_relu_clips_negative_contrast():
    # Anti-correlated images give negative cs; TF's relu makes the product 0.
    x, _ = _pair(176, 176, seed=3)
    assert ms_ssim_tf(x, 1 - x).item() == 0.0


def test_small_images_rejected_like_tf():
    x = torch.rand(1, 3, 10, 40)
    with pytest.raises(ValueError, match="smaller than the 11x11"):
        ssim_tf(x, x)
    assert ms_ssim_min_size() == 161
    y = torch.rand(1, 3, 160, 160)
    with pytest.raises(ValueError):
        ms_ssim_tf(y, y)


def test_quantize_8bit_levels():
    x = torch.tensor([-0.2, 0.0, 0.51 / 255, 0.49 / 255, 0.5, 1.3, 0.999 / 255]).view(1, 1, 1, 7)
    assert quantize_8bit(x, "round").flatten().tolist() == [0, 0, 1, 0, 128, 255, 1]
    assert quantize_8bit(x, "truncate").flatten().tolist() == [0, 0, 0, 0, 127, 255, 0]
    assert quantize_8bit(x, "truncate").dtype == torch.uint8
    with pytest.raises(ValueError, match="truncate"):
        quantize_8bit(x, "floor")


def test_score_batch_quantizes_and_marks_small_ms_ssim():
    x, y = _pair(32, 32, seed=4)
    with pytest.warns(UserWarning, match="MS-SSIM needs images of at least 161"):
        scores = score_batch(x, y, quantize="truncate")
    assert set(scores) == {"psnr", "ssim", "ms_ssim", "delta_e2000"}
    assert math.isnan(scores["ms_ssim"].item())
    truncated = np.floor(np.clip(x.numpy(), 0, 1) * 255.0) / 255.0
    assert scores["psnr"].item() == pytest.approx(psnr(torch.from_numpy(truncated), y).item())
    assert scores["psnr"].item() != pytest.approx(score_batch(x, y, metrics=["psnr"])["psnr"].item(), abs=1e-9)


def test_lpips_absent_weights_returns_none(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.warns(UserWarning, match="LPIPS weights not found"):
        assert build_lpips_metric() is None


def test_lpips_from_local_files_matches_manual_formula(tmp_path):
    import torchvision
    torch.manual_seed(0)
    alex = torchvision.models.alexnet(weights=None).state_dict()
    heads = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1)
             for i, c in enumerate((64, 192, 384, 256, 256))}
    torch.save(alex, tmp_path / "alex.pth")
    torch.save(heads, tmp_path / "heads.pth")
    metric = build_lpips_metric(tmp_path / "heads.pth", tmp_path / "alex.pth")
    x, y = _pair(64, 64, seed=5)
    x, y = x.float(), y.float()
    # Independent LPIPS v0.1: scale to [-1,1], ImageNet shift/scale, 5 AlexNet ReLU taps,
    # unit-normalise channels, weighted squared difference, spatial mean, sum over taps.
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    trunk = torchvision.models.alexnet(weights=None)
    trunk.load_state_dict(alex)
    taps = (1, 4, 7, 9, 11)

    def features(img):
        h, out = ((2 * img - 1) - shift) / scale, []
        for index, layer in enumerate(trunk.features[:12]):
            h = layer(h)
            if index in taps:
                out.append(h / (h.pow(2).sum(1, keepdim=True).sqrt() + 1e-10))
        return out

    with torch.no_grad():
        expected = sum((heads[f"lin{i}.model.1.weight"] * (a - b) ** 2).sum(1).mean()
                       for i, (a, b) in enumerate(zip(features(x), features(y))))
    assert metric(x, y).item() == pytest.approx(expected.item(), rel=1e-4)
    assert metric(x, x).item() == pytest.approx(0.0, abs=1e-7)


def test_score_batch_subset_and_shared_first_scale():
    x, y = _pair(170, 165, seed=6, noise=0.05)
    full = score_batch(x, y)
    assert list(full) == ["psnr", "ssim", "ms_ssim", "delta_e2000"]
    assert full["ssim"].item() == pytest.approx(ssim_tf(x, y).item(), abs=1e-12)
    assert full["ms_ssim"].item() == pytest.approx(ms_ssim_tf(x, y).item(), abs=1e-12)
    assert list(score_batch(x, y, metrics=["psnr"])) == ["psnr"]
    with pytest.raises(ValueError, match="unknown metric"):
        score_batch(x, y, metrics=["psnr", "niqe"])
