"""Packing order, per-channel normalisation and the RMFA split against hand-built arrays (docs/method.md §1)."""
import numpy as np
import pytest

from data import DATASET_PRESETS, BadInputError, mosaic_rggb, normalise_packed, pack_bayer, rmfa_split


def test_pack_bayer_order_on_hand_built_mosaic():
    raw = np.array([[1, 2, 3, 4],
                    [5, 6, 7, 8],
                    [9, 10, 11, 12],
                    [13, 14, 15, 16]], dtype=np.uint16)
    packed = pack_bayer(raw)
    assert packed.shape == (4, 2, 2)
    np.testing.assert_array_equal(packed[0], [[6, 8], [14, 16]])   # raw[1::2, 1::2] (B)
    np.testing.assert_array_equal(packed[1], [[2, 4], [10, 12]])   # raw[0::2, 1::2]
    np.testing.assert_array_equal(packed[2], [[1, 3], [9, 11]])    # raw[0::2, 0::2] (R)
    np.testing.assert_array_equal(packed[3], [[5, 7], [13, 15]])   # raw[1::2, 0::2]


def test_mosaic_of_known_rgb_packs_to_the_right_channels():
    rgb = np.zeros((6, 8, 3), dtype=np.float32)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 0.9, 0.5, 0.2
    packed = pack_bayer(mosaic_rggb(rgb))
    np.testing.assert_allclose(packed[0], 0.2)  # blue
    np.testing.assert_allclose(packed[1], 0.5)  # green (R rows)
    np.testing.assert_allclose(packed[2], 0.9)  # red
    np.testing.assert_allclose(packed[3], 0.5)  # green (B rows)


def test_normalise_fujifilm_black_levels_per_packed_channel():
    preset = DATASET_PRESETS["fujifilm"]
    packed = np.stack([np.full((2, 2), v, dtype=np.uint16) for v in (62, 541, 1023, 30)])
    out = normalise_packed(packed, preset.black_level, preset.white_level)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0], 0.0)
    np.testing.assert_allclose(out[1], (541 - 60) / (1023 - 60), rtol=1e-6)
    np.testing.assert_allclose(out[2], 1.0)
    np.testing.assert_allclose(out[3], (30 - 61) / (1023 - 61), rtol=1e-6)  # below black: negative, not clamped


def test_normalise_zrr_divides_by_1020():
    preset = DATASET_PRESETS["zrr"]
    packed = np.array([0, 255, 1020, 1023], dtype=np.uint16).reshape(4, 1, 1)
    out = normalise_packed(packed, preset.black_level, preset.white_level)
    np.testing.assert_allclose(out.ravel(), [0.0, 0.25, 1.0, 1023 / 1020], rtol=1e-6)


def test_presets_match_spec():
    zrr, fuji = DATASET_PRESETS["zrr"], DATASET_PRESETS["fujifilm"]
    assert (zrr.raw_dir, zrr.target_dir, zrr.target_ext, zrr.splits) == ("huawei_raw", "canon", ".jpg",
                                                                        ("train", "test"))
    assert (fuji.raw_dir, fuji.target_dir, fuji.target_ext) == ("mediatek_raw", "fujifilm", ".png")
    assert fuji.splits == ("train", "val", "test") and fuji.black_level == (62, 60, 58, 61)
    assert fuji.white_level == 1023 and zrr.white_level == 1020 and zrr.black_level == (0, 0, 0, 0)


def test_rmfa_split_planes_start_at_one_and_hold_their_sites():
    raw = np.array([[100, 200], [300, 40]], dtype=np.uint16)
    planes = rmfa_split(raw)
    assert planes.shape == (3, 2, 2) and planes.dtype == np.float32
    expected_r = [[(100 - 63) / 1023, 1.0], [1.0, 1.0]]
    expected_g = [[1.0, (200 - 63) / 1023], [(300 - 63) / 1023, 1.0]]
    expected_b = [[1.0, 1.0], [1.0, 0.0]]  # 40 - 63 < 0 is clamped to 0
    np.testing.assert_allclose(planes[0], expected_r, rtol=1e-6)
    np.testing.assert_allclose(planes[1], expected_g, rtol=1e-6)
    np.testing.assert_allclose(planes[2], expected_b, rtol=1e-6)


@pytest.mark.parametrize("shape", [(3, 4), (4, 5), (4,)])
def test_odd_or_wrong_shapes_are_rejected(shape):
    with pytest.raises(BadInputError):
        pack_bayer(np.zeros(shape, dtype=np.uint16))
    with pytest.raises(BadInputError):
        rmfa_split(np.zeros(shape, dtype=np.uint16))
