"""Demosaiced reference (Menon / OpenCV) and its disk cache."""
import os
import time

import numpy as np
import pytest

from data import cached_reference, demosaic_reference, mosaic_rggb, write_raw
from data.reference.demosaic import demosaic_settings
from data.reference.reference_cache import cache_entry_path


@pytest.mark.parametrize("method", ["menon", "opencv"])
def test_flat_grey_mosaic_demosaics_to_grey(method):
    raw = np.full((32, 32), 400, dtype=np.uint16)
    out = demosaic_reference(raw, method=method, wb_gains=(1.0, 1.0, 1.0))
    assert out.shape == (32, 32, 3) and out.dtype == np.float32
    # A flat image is left un-stretched, so the value is (400/65535) ** (1/2.2) on every channel (release scaling).
    np.testing.assert_allclose(out, (400 / 65535) ** (1 / 2.2), rtol=1e-5)
    white = demosaic_reference(raw, method=method, scaling="white_level", wb_gains=(1.0, 1.0, 1.0))
    np.testing.assert_allclose(white, (400 / 1023) ** (1 / 2.2), rtol=1e-5)


@pytest.mark.parametrize("method", ["menon", "opencv"])
def test_grey_ramp_stays_grey_and_spans_zero_to_one(method):
    ramp = np.tile(np.linspace(100, 900, 48), (48, 1))
    raw = np.rint(ramp).astype(np.uint16)
    out = demosaic_reference(raw, method=method, wb_gains=(1.0, 1.0, 1.0))
    interior = out[4:-4, 4:-4]
    np.testing.assert_allclose(interior[..., 0], interior[..., 1], atol=0.02)
    np.testing.assert_allclose(interior[..., 2], interior[..., 1], atol=0.02)
    assert out.min() == pytest.approx(0.0, abs=1e-6) and out.max() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("method", ["menon", "opencv"])
def test_colour_channels_land_in_rgb_order(method):
    rgb = np.zeros((32, 32, 3))
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 800, 300, 100
    out = demosaic_reference(mosaic_rggb(rgb).astype(np.uint16), method=method, wb_gains=(1.0, 1.0, 1.0))
    centre = out[8:-8, 8:-8].reshape(-1, 3).mean(axis=0)
    # min-max over the image maps blue (darkest) to 0 and red (brightest) to 1; green sits between.
    expected_green = ((300 - 100) / (800 - 100)) ** (1 / 2.2)
    np.testing.assert_allclose(centre, [1.0, expected_green, 0.0], atol=1e-3)


@pytest.mark.parametrize("scaling, divisor", [("uint16", 65535), ("white_level", 1023)])
def test_opencv_pipeline_matches_an_independent_computation(scaling, divisor):
    import cv2

    rng = np.random.default_rng(1)
    raw = rng.integers(0, 1024, (16, 24)).astype(np.uint16)
    out = demosaic_reference(raw, method="opencv", scaling=scaling, out_size=(8, 12))
    rgb = cv2.cvtColor(raw, cv2.COLOR_BayerBG2RGB).astype(np.float64) / divisor * np.array([1.6, 1.2, 1.4])
    rgb = np.clip(rgb, 0, 1)
    rgb = ((rgb - rgb.min()) / (rgb.max() - rgb.min())) ** (1 / 2.2)
    expected = cv2.resize(rgb, (12, 8), interpolation=cv2.INTER_LINEAR)
    assert out.shape == (8, 12, 3)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_menon_uses_colour_demosaicing_rggb():
    from colour_demosaicing import demosaicing_CFA_Bayer_Menon2007

    rng = np.random.default_rng(2)
    raw = rng.integers(50, 1000, (16, 16)).astype(np.uint16)
    out = demosaic_reference(raw, method="menon", scaling="white_level", white_level=1000, wb_gains=(1.1, 1.0, 0.9),
                             gamma=2.0)
    rgb = np.clip(demosaicing_CFA_Bayer_Menon2007(raw.astype(np.float64), "RGGB") / 1000 * [1.1, 1.0, 0.9], 0, 1)
    expected = ((rgb - rgb.min()) / (rgb.max() - rgb.min())) ** 0.5
    np.testing.assert_allclose(out, expected, atol=1e-6)


@pytest.fixture
def raw_file(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "raw" / "7.png"
    write_raw(path, rng.integers(60, 1000, (32, 32)).astype(np.uint16))
    return path


def test_cache_hit_returns_identical_array_without_recomputing(raw_file, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = cached_reference(raw_file, cache, method="menon")
    entries = list(cache.rglob("*.npy"))
    assert len(entries) == 1 and not list(cache.rglob("*.tmp"))

    def fail(*args, **kwargs):
        raise AssertionError("cache hit must not recompute")

    monkeypatch.setattr("data.reference.reference_cache.demosaic_reference", fail)
    second = cached_reference(raw_file, cache, method="menon")
    np.testing.assert_array_equal(first, second)


def test_settings_change_misses_the_cache(raw_file, tmp_path):
    cache = tmp_path / "cache"
    menon = cached_reference(raw_file, cache, method="menon")
    gains = cached_reference(raw_file, cache, method="menon", wb_gains=(1.0, 1.0, 1.0))
    opencv = cached_reference(raw_file, cache, method="opencv")
    assert len(list(cache.rglob("*.npy"))) == 3
    assert not np.array_equal(menon, gains) and not np.array_equal(menon, opencv)
    a = cache_entry_path(cache, raw_file, demosaic_settings(method="menon"))
    b = cache_entry_path(cache, raw_file, demosaic_settings(method="menon", gamma=2.4))
    assert a != b


def test_changed_file_misses_the_cache(raw_file, tmp_path):
    cache = tmp_path / "cache"
    before = cached_reference(raw_file, cache)
    write_raw(raw_file, np.full((32, 32), 500, dtype=np.uint16))
    os.utime(raw_file, ns=(time.time_ns(), time.time_ns() + 10**9))
    after = cached_reference(raw_file, cache)
    assert not np.array_equal(before, after)
    # Flat 500 with gains (1.6, 1.2, 1.4): min-max sends R to 1, G to 0 and B to exactly halfway.
    np.testing.assert_allclose(after.reshape(-1, 3), np.broadcast_to([1.0, 0.0, 0.5 ** (1 / 2.2)], (32 * 32, 3)),
                               atol=1e-5)
    assert len(list(cache.rglob("*.npy"))) == 2
