"""Independent checks of data/ against docs/method.md §1, each computed by hand (loops / float64 numpy / torch)
rather than by re-using the library's own formulas."""
import json
import shutil

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from data import (
    BadInputError,
    ISPDataset,
    demosaic_reference,
    mosaic_rggb,
    normalise_packed,
    pack_bayer,
    read_raw,
    read_rgb,
    rmfa_split,
)
from data.readers.raw_io import write_raw
from data.reference.demosaic import demosaic_settings
from data.reference.reference_cache import cache_entry_path, cached_reference
from data.synth.synthetic import _crop_window, load_source_photos, photo_band, split_bands, stereo_max_disparity

# (row offset, column offset) of each packed channel inside the 2x2 cell, packed order B, Gb, R, Gr.
PACKED_OFFSETS = [(1, 1), (0, 1), (0, 0), (1, 0)]


def _random_mosaic(seed, shape=(12, 16), low=0, high=1024):
    return np.random.default_rng(seed).integers(low, high, shape).astype(np.uint16)


def _torch_bilinear(rgb, size):
    """Bilinear resize with half-pixel centres (torch align_corners=False, no antialias), float64."""
    chw = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float64).transpose(2, 0, 1))[None]
    return F.interpolate(chw, size=size, mode="bilinear", align_corners=False)[0].numpy().transpose(1, 2, 0)


def test_pack_bayer_matches_per_pixel_loop():
    raw = _random_mosaic(0)
    packed = pack_bayer(raw)
    assert packed.shape == (4, 6, 8)
    for c, (dy, dx) in enumerate(PACKED_OFFSETS):
        for i in range(6):
            for j in range(8):
                assert packed[c, i, j] == raw[2 * i + dy, 2 * j + dx]


def test_normalise_fujifilm_in_float64_without_clipping():
    raw = _random_mosaic(1)
    raw[0, 0], raw[1, 1] = 0, 1023  # an R site below its black level, a B site at white
    out = normalise_packed(pack_bayer(raw), (62, 60, 58, 61), 1023)
    assert out.dtype == np.float32
    black = [62, 60, 58, 61]
    for c, (dy, dx) in enumerate(PACKED_OFFSETS):
        expected = (raw[dy::2, dx::2].astype(np.float64) - black[c]) / (1023.0 - black[c])
        np.testing.assert_allclose(out[c], expected, rtol=1e-6, atol=1e-7)
    # The release's packed path says subtract and divide, nothing about clipping: values below black stay negative.
    assert out[2, 0, 0] == pytest.approx(-58 / 965, rel=1e-6)
    assert out[0, 0, 0] == pytest.approx(1.0, rel=1e-7)


def test_normalise_zrr_is_a_plain_division_by_1020():
    raw = _random_mosaic(2)
    out = normalise_packed(pack_bayer(raw), (0, 0, 0, 0), 1020)
    for c, (dy, dx) in enumerate(PACKED_OFFSETS):
        np.testing.assert_allclose(out[c], raw[dy::2, dx::2] / 1020.0, rtol=1e-6)


def test_rmfa_split_matches_per_pixel_loop():
    raw = _random_mosaic(3, (6, 8), 0, 1024)
    raw[0, 0], raw[1, 1] = 10, 63  # below and at the black level: both clamp to exactly 0
    planes = rmfa_split(raw)
    expected = np.ones((3, 6, 8))
    for y in range(6):
        for x in range(8):
            colour = {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 2}[(y % 2, x % 2)]
            expected[colour, y, x] = max(float(raw[y, x]) - 63.0, 0.0) / 1023.0
    np.testing.assert_allclose(planes, expected, rtol=1e-6, atol=0)
    assert planes[0, 0, 0] == 0.0 and planes[2, 1, 1] == 0.0
    assert planes[0, 0, 1] == 1.0 and planes[2, 0, 0] == 1.0  # non-sites keep the 1.0 fill, not 0


def test_dataset_split3_uses_the_spec_constants_on_both_layouts(tiny_fujifilm_root, tiny_zrr_root):
    for root, preset, split, folder in ((tiny_fujifilm_root, "fujifilm", "val", "mediatek_raw"),
                                        (tiny_zrr_root, "zrr", "test", "huawei_raw")):
        sample = ISPDataset(root, preset, split, input_kind="split3")[0]
        raw = read_raw(root / split / folder / "0.png").astype(np.float64)
        np.testing.assert_allclose(sample["raw"][0, 0::2, 0::2].numpy(),
                                   np.maximum(raw[0::2, 0::2] - 63, 0) / 1023, rtol=1e-6)


def _menon_reference_by_hand(raw, divisor, out_size):
    """docs/method.md §1 step by step; divisor 65535 is the release's scaling, a white level the clipping variant."""
    from colour_demosaicing import demosaicing_CFA_Bayer_Menon2007

    rgb = demosaicing_CFA_Bayer_Menon2007(raw.astype(np.float64), "RGGB") / divisor
    rgb = np.clip(rgb * np.array([1.6, 1.2, 1.4]), 0.0, 1.0)
    rgb = ((rgb - rgb.min()) / (rgb.max() - rgb.min())) ** (1 / 2.2)
    return _torch_bilinear(rgb, out_size)


def test_menon_reference_defaults_with_torch_bilinear_resize():
    raw = _random_mosaic(4, (16, 20), 40, 1000)
    out = demosaic_reference(raw, out_size=(10, 14))  # every release default: menon, /65535, gains, gamma 2.2
    assert out.shape == (10, 14, 3) and out.dtype == np.float32
    # cv2 INTER_LINEAR (what the code uses) and torch bilinear align_corners=False agree to float precision.
    np.testing.assert_allclose(out, _menon_reference_by_hand(raw, 65535.0, (10, 14)), atol=2e-6)
    clipped = demosaic_reference(raw, scaling="white_level", out_size=(10, 14))
    np.testing.assert_allclose(clipped, _menon_reference_by_hand(raw, 1023.0, (10, 14)), atol=2e-6)


def test_opencv_bg2rgb_on_rggb_gives_true_rgb_order():
    """OpenCV names Bayer codes after the 2x2 block starting at (1, 1): BayerBG is an RGGB mosaic with R at
    (0, 0), and its *2RGB conversion returns channels in R, G, B order (observed with the installed OpenCV)."""
    rgb = np.zeros((16, 16, 3))
    rgb[...] = (700, 350, 90)
    mosaic = mosaic_rggb(rgb).astype(np.uint16)
    assert cv2.cvtColor(mosaic, cv2.COLOR_BayerBG2RGB)[8, 8].tolist() == [700, 350, 90]
    # Through the reference (gains 1, gamma 1): min-max over the image sends B to 0, R to 1.
    out = demosaic_reference(mosaic, method="opencv", wb_gains=(1, 1, 1), gamma=1.0)
    np.testing.assert_allclose(out[4:-4, 4:-4].reshape(-1, 3), np.broadcast_to([1.0, 260 / 610, 0.0], (64, 3)),
                               atol=1e-6)


def test_zrr_dataset_target_and_reference_by_hand(tiny_zrr_root):
    dataset = ISPDataset(tiny_zrr_root, "zrr", "test", reference="menon")
    sample = dataset[1]
    raw = read_raw(tiny_zrr_root / "test" / "huawei_raw" / "1.png")
    target = read_rgb(tiny_zrr_root / "test" / "canon" / "1.jpg")  # 64x64 JPG, the mosaic's own size
    np.testing.assert_array_equal(sample["target"].numpy().transpose(1, 2, 0), target)
    # The release's reference: raw counts / 65535, whatever the dataset's input normalisation.
    np.testing.assert_allclose(sample["reference"].numpy().transpose(1, 2, 0),
                               _menon_reference_by_hand(raw, 65535.0, (64, 64)), atol=2e-6)
    # The clipping variant divides by ZRR's white level, 1020.
    clipped = ISPDataset(tiny_zrr_root, "zrr", "test", reference="menon",
                         demosaic_kwargs={"scaling": "white_level"})[1]["reference"]
    np.testing.assert_allclose(clipped.numpy().transpose(1, 2, 0), _menon_reference_by_hand(raw, 1020.0, (64, 64)),
                               atol=2e-6)


def test_unpaired_order_is_the_seeded_permutation_of_sorted_targets(tiny_fujifilm_root):
    dataset = ISPDataset(tiny_fujifilm_root, "fujifilm", "train", paired=False, seed=11)
    targets = [tiny_fujifilm_root / "train" / "fujifilm" / f"{i}.png" for i in range(6)]
    order = np.random.default_rng(11).permutation(6)
    assert [p.name for p in dataset.target_paths] == [targets[k].name for k in order]
    assert dataset.names == [str(i) for i in range(6)]
    paired = ISPDataset(tiny_fujifilm_root, "fujifilm", "train", indices=[5, 0, 3])
    assert [p.stem for p in paired.target_paths] == paired.names == ["5", "0", "3"]


def test_every_setting_and_the_file_key_the_cache(tmp_path):
    raw_path = tmp_path / "raw" / "3.png"
    write_raw(raw_path, _random_mosaic(5, (16, 16)))
    base = demosaic_settings()
    variants = [demosaic_settings(method="opencv"), demosaic_settings(scaling="white_level"),
                demosaic_settings(white_level=1020),
                demosaic_settings(wb_gains=(1.6, 1.2, 1.5)), demosaic_settings(gamma=2.4),
                demosaic_settings(out_size=(8, 8))]
    entries = {cache_entry_path(tmp_path / "c", raw_path, s) for s in [base] + variants}
    assert len(entries) == 7
    other = tmp_path / "raw2" / "3.png"  # same stem and bytes, different file: a different entry
    other.parent.mkdir()
    shutil.copy(raw_path, other)
    assert cache_entry_path(tmp_path / "c", other, base) != cache_entry_path(tmp_path / "c", raw_path, base)


def test_failed_cache_write_leaves_no_entry_or_temp_file(tmp_path, monkeypatch):
    raw_path = tmp_path / "5.png"
    write_raw(raw_path, _random_mosaic(6, (16, 16)))

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("data.reference.reference_cache.np.save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        cached_reference(raw_path, tmp_path / "cache", method="opencv")
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_stereo_pair_bands_keep_scene_content_inside_one_split():
    photos = load_source_photos()
    height, width = photos["motorcycle_right"].shape[:2]
    max_disparity = stereo_max_disparity()
    assert 40 <= max_disparity <= 80  # scikit-image's ground truth peaks just under 60 px
    bands = split_bands(("train", "val", "test"))
    rng = np.random.default_rng(0)
    for split, band in bands.items():
        right_band = photo_band("motorcycle_right", band, width, max_disparity)
        for _ in range(200):
            _, x0, _, win_w = _crop_window(rng, (height, width), right_band, 1.0)
            # right column x shows the left column x + d, 0 <= d <= max_disparity: that must stay in the band
            # (bands are cut at int(fraction * width), as _crop_window does)
            assert x0 >= int(band[0] * width) and x0 + win_w + max_disparity <= int(band[1] * width), split
    assert photo_band("astronaut", bands["val"], 512, max_disparity) == bands["val"]


def test_synthetic_manifest_windows_respect_the_stereo_bands(tmp_path):
    from data import make_synthetic_dataset

    root = make_synthetic_dataset(tmp_path / "s", "fujifilm", counts={"train": 12, "val": 6, "test": 6},
                                  size=16, seed=3)
    manifest = json.loads((root / "synthetic.json").read_text())
    width, max_disparity, seen = 741, stereo_max_disparity(), 0
    for key, info in manifest["samples"].items():
        if info["photo"] == "motorcycle_right":
            start, end = manifest["bands"][key.split("/")[0]]
            _, x0, _, win_w = info["window"]
            assert x0 >= int(start * width) and x0 + win_w + max_disparity <= int(end * width)
            seen += 1
    assert seen > 0  # the seed below does draw the right view


def test_8bit_rgb_png_in_the_raw_folder_names_the_file(tiny_fujifilm_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(tiny_fujifilm_root / "val", root / "val")
    cv2.imwrite(str(root / "val" / "mediatek_raw" / "1.png"), np.zeros((64, 64, 3), dtype=np.uint8))
    dataset = ISPDataset(root, "fujifilm", "val")
    with pytest.raises(BadInputError, match=r"mediatek_raw[/\\]1\.png: has 3 channels"):
        dataset[1]
    with pytest.warns(UserWarning, match="skipped 1 bad file"):
        assert ISPDataset(root, "fujifilm", "val", skip_bad=True).names == ["0", "2"]
