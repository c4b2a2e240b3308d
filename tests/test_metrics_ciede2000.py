"""CIEDE2000 (delta_e2000) against independent computations: the published test pairs of Sharma, Wu & Dalal,
colour-science's own CIEDE2000 and sRGB -> CIELAB written out from the standards.

Tolerances are the README's claims (Evaluation): 5e-5 on the published pairs (their 4-decimal rounding), 1e-9
against colour-science on the same CIELAB colours, 1e-3 for the per-image mean on sRGB images, where sRGB -> CIELAB
conversions with other matrices than scikit-image's differ by up to 5e-4.
"""
import numpy as np
import pytest
import torch

from evaluation import ciede2000_lab, delta_e2000, score_batch

SHARMA_TOLERANCE = 5e-5  # the published dE00 values have 4 decimals
SRGB_MEAN_TOLERANCE = 1e-3

# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes, supplementary test
# data, and mathematical observations", Table 1: L1 a1 b1  L2 a2 b2  dE00 (kL = kC = kH = 1).
SHARMA_PAIRS = np.array([
    [50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425],
    [50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615],
    [50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412],
    [50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000],
    [50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000],
    [50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000],
    [50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669],
    [50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195],
    [50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045],
    [50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045],
    [50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461],
    [50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065],
    [50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492],
    [50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977],
    [50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030],
    [50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535],
    [50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000],
    [50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000],
    [50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000],
    [50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000],
    [60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644],
    [63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630],
    [61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731],
    [35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645],
    [22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373],
    [36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146],
    [90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441],
    [90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381],
    [6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377],
    [2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082],
])


def test_published_ciede2000_pairs():
    assert SHARMA_PAIRS.shape == (34, 7)
    got = ciede2000_lab(SHARMA_PAIRS[:, :3], SHARMA_PAIRS[:, 3:6])
    assert np.max(np.abs(got - SHARMA_PAIRS[:, 6])) <= SHARMA_TOLERANCE
    # Symmetric in its two arguments, as the formula is.
    assert np.allclose(ciede2000_lab(SHARMA_PAIRS[:, 3:6], SHARMA_PAIRS[:, :3]), got, atol=1e-12)


def test_agrees_with_colour_science_on_random_lab_pairs():
    import colour

    rng = np.random.default_rng(7)
    low, high = [0, -128, -128], [100, 128, 128]
    first, second = rng.uniform(low, high, (2000, 3)), rng.uniform(low, high, (2000, 3))
    second[:500] = first[:500] + rng.normal(0, 1.5, (500, 3))  # small differences too, where the hue terms matter
    expected = colour.delta_E(first, second, method="CIE 2000")
    assert np.max(np.abs(ciede2000_lab(first, second) - expected)) <= 1e-9


def _srgb_to_lab_d65(rgb):
    """IEC 61966-2-1 sRGB -> XYZ (D65) -> CIELAB, written out from the standards."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    matrix = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def test_delta_e2000_is_mean_over_pixels_of_srgb_pair():
    import colour

    rng = np.random.default_rng(3)
    first = rng.random((2, 3, 12, 10))
    second = np.clip(first + rng.normal(0, 0.08, first.shape), 0, 1)
    got = delta_e2000(torch.from_numpy(first), torch.from_numpy(second))
    for i in range(2):
        lab_a = _srgb_to_lab_d65(first[i].transpose(1, 2, 0))
        lab_b = _srgb_to_lab_d65(second[i].transpose(1, 2, 0))
        expected = colour.delta_E(lab_a, lab_b, method="CIE 2000").mean()
        # the standard's 4-decimal sRGB matrix here, scikit-image's own in the metric (measured 4.9e-4 apart)
        assert got[i].item() == pytest.approx(expected, abs=SRGB_MEAN_TOLERANCE)
        # colour-science's whole pipeline: its sRGB -> XYZ (matrix from the primaries) and D65 chromaticity
        white = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"]
        lab_a, lab_b = (colour.XYZ_to_Lab(colour.sRGB_to_XYZ(img[i].transpose(1, 2, 0)), white)
                        for img in (first, second))
        assert got[i].item() == pytest.approx(colour.delta_E(lab_a, lab_b, method="CIE 2000").mean(),
                                              abs=SRGB_MEAN_TOLERANCE)
    assert got.shape == (2,) and got.dtype == torch.float64
    same = delta_e2000(torch.from_numpy(first), torch.from_numpy(first))
    assert torch.all(same.abs() < 1e-9)


def test_score_batch_reports_delta_e2000():
    rng = np.random.default_rng(4)
    target = torch.from_numpy(rng.random((1, 3, 16, 16)))
    pred = torch.from_numpy(rng.integers(0, 256, (1, 3, 16, 16)) / 255.0)  # 8-bit levels: any quantisation keeps them
    scores = score_batch(pred, target, metrics=["psnr", "delta_e2000"])
    assert list(scores) == ["psnr", "delta_e2000"]
    assert scores["delta_e2000"].item() == pytest.approx(delta_e2000(pred, target).item(), rel=1e-9)
