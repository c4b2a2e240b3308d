"""ISPDataset on the tiny synthetic datasets: shapes, exact values, resizing, references, unpaired sampling."""
import shutil

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader

from data import (
    ISPDataset,
    demosaic_reference,
    get_preset,
    normalise_packed,
    pack_bayer,
    read_raw,
    read_rgb,
    rmfa_split,
)


def test_fujifilm_sample_values_match_manual_pipeline(tiny_fujifilm_root):
    dataset = ISPDataset(tiny_fujifilm_root, "fujifilm", "val")
    assert len(dataset) == 3 and dataset.names == ["0", "1", "2"] and dataset.skipped == 0
    sample = dataset[1]
    raw = read_raw(tiny_fujifilm_root / "val" / "mediatek_raw" / "1.png")
    expected = normalise_packed(pack_bayer(raw), (62, 60, 58, 61), 1023)
    assert sample["raw"].shape == (4, 32, 32) and sample["raw"].dtype == torch.float32
    np.testing.assert_array_equal(sample["raw"].numpy(), expected)
    target = read_rgb(tiny_fujifilm_root / "val" / "fujifilm" / "1.png")
    np.testing.assert_array_equal(sample["target"].numpy(), target.transpose(2, 0, 1))
    assert sample["name"] == "1" and "reference" not in sample


def test_zrr_target_of_the_output_size_passes_untouched(tiny_zrr_root):
    """ZRR: RAW 2Hx2W mosaic, Canon target 2Hx2W (docs/method.md §1): no resize, the JPG's pixels as they are."""
    dataset = ISPDataset(tiny_zrr_root, "zrr", "test")
    sample = dataset[0]
    assert sample["raw"].shape == (4, 32, 32) and sample["target"].shape == (3, 64, 64)
    jpg = cv2.imread(str(tiny_zrr_root / "test" / "canon" / "0.jpg"), cv2.IMREAD_COLOR)[..., ::-1] / 255.0
    np.testing.assert_allclose(sample["target"].numpy(), jpg.transpose(2, 0, 1), atol=1e-7)
    raw = cv2.imread(str(tiny_zrr_root / "test" / "huawei_raw" / "0.png"), cv2.IMREAD_UNCHANGED).astype(np.float64)
    np.testing.assert_allclose(sample["raw"][2].numpy(), raw[0::2, 0::2] / 1020.0, rtol=1e-6)  # R, no black level


def test_zrr_fujifilm_black_switch(tiny_zrr_root):
    preset = get_preset("zrr", zrr_normalisation="fujifilm_black")
    sample = ISPDataset(tiny_zrr_root, preset, "test")[0]
    raw = cv2.imread(str(tiny_zrr_root / "test" / "huawei_raw" / "0.png"), cv2.IMREAD_UNCHANGED).astype(np.float64)
    for channel, (dy, dx), black in zip(range(4), [(1, 1), (0, 1), (0, 0), (1, 0)], [62, 60, 58, 61]):
        np.testing.assert_allclose(sample["raw"][channel].numpy(), (raw[dy::2, dx::2] - black) / (1023 - black),
                                   rtol=1e-5, atol=1e-7)


def test_a_larger_target_is_resized_bilinear(tiny_fujifilm_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(tiny_fujifilm_root / "val", root / "val")
    big = np.random.default_rng(0).integers(0, 256, (128, 128, 3)).astype(np.uint8)
    cv2.imwrite(str(root / "val" / "fujifilm" / "0.png"), big[..., ::-1])
    sample = ISPDataset(root, "fujifilm", "val")[0]
    # bilinear 2x downscale with half-pixel centres = mean of each 2x2 block
    block_mean = (big / 255.0).reshape(64, 2, 64, 2, 3).mean(axis=(1, 3)).transpose(2, 0, 1)
    np.testing.assert_allclose(sample["target"].numpy(), block_mean, atol=1e-5)


def test_split3_input_and_reference(tiny_fujifilm_root, tmp_path):
    dataset = ISPDataset(tiny_fujifilm_root, "fujifilm", "test", input_kind="split3", reference="opencv",
                         cache_dir=tmp_path / "cache")
    sample = dataset[2]
    raw = read_raw(tiny_fujifilm_root / "test" / "mediatek_raw" / "2.png")
    np.testing.assert_array_equal(sample["raw"].numpy(), rmfa_split(raw, 63, 1023))
    expected_ref = demosaic_reference(raw, "opencv", white_level=1023, out_size=(64, 64))
    np.testing.assert_array_equal(sample["reference"].numpy(), expected_ref.transpose(2, 0, 1))
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 1
    np.testing.assert_array_equal(dataset[2]["reference"].numpy(), sample["reference"].numpy())


def test_demosaic_kwargs_reach_the_reference(tiny_fujifilm_root):
    dataset = ISPDataset(tiny_fujifilm_root, "fujifilm", "val", reference="menon",
                         demosaic_kwargs={"wb_gains": (1.0, 1.0, 1.0), "gamma": 1.0})
    raw = read_raw(dataset.raw_paths[0])
    expected = demosaic_reference(raw, "menon", wb_gains=(1.0, 1.0, 1.0), gamma=1.0)
    np.testing.assert_allclose(dataset[0]["reference"].numpy(), expected.transpose(2, 0, 1), atol=1e-6)


def test_unpaired_targets_are_a_seeded_shuffle(tiny_fujifilm_root):
    paired = ISPDataset(tiny_fujifilm_root, "fujifilm", "train")
    unpaired = ISPDataset(tiny_fujifilm_root, "fujifilm", "train", paired=False, seed=5)
    again = ISPDataset(tiny_fujifilm_root, "fujifilm", "train", paired=False, seed=5)
    other = ISPDataset(tiny_fujifilm_root, "fujifilm", "train", paired=False, seed=6)
    assert unpaired.target_paths == again.target_paths
    assert sorted(unpaired.target_paths) == sorted(paired.target_paths)  # a permutation of all targets
    assert unpaired.target_paths != paired.target_paths
    assert other.target_paths != unpaired.target_paths
    assert unpaired.raw_paths == paired.raw_paths  # inputs stay in order
    index = next(i for i in range(6) if unpaired.target_paths[i] != paired.target_paths[i])
    assert not torch.equal(unpaired[index]["target"], paired[index]["target"])


def test_indices_select_files_by_stem(tiny_fujifilm_root):
    dataset = ISPDataset(tiny_fujifilm_root, "fujifilm", "train", indices=[4, "1"])
    assert dataset.names == ["4", "1"]
    assert dataset[0]["name"] == "4"


def test_inference_without_targets(tiny_fujifilm_root, tmp_path):
    import shutil

    root = tmp_path / "inputs_only"
    shutil.copytree(tiny_fujifilm_root / "test" / "mediatek_raw", root / "test" / "mediatek_raw")
    dataset = ISPDataset(root, "fujifilm", "test", require_targets=False)
    assert len(dataset) == 3 and "target" not in dataset[0]


def test_dataloader_batches(tiny_fujifilm_root):
    loader = DataLoader(ISPDataset(tiny_fujifilm_root, "fujifilm", "train", reference="menon"), batch_size=4)
    batch = next(iter(loader))
    assert batch["raw"].shape == (4, 4, 32, 32)
    assert batch["target"].shape == (4, 3, 64, 64) and batch["reference"].shape == (4, 3, 64, 64)
    assert 0.0 <= float(batch["reference"].min()) and float(batch["reference"].max()) <= 1.0
    assert batch["name"] == ["0", "1", "2", "3"]
