"""ISPDataset on the tiny synthetic datasets: shapes, exact values, resizing, references, unpaired sampling."""
import numpy as np
import torch
from torch.utils.data import DataLoader

from data import ISPDataset, demosaic_reference, normalise_packed, pack_bayer, read_raw, read_rgb, rmfa_split


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


def test_zrr_target_resized_to_raw_size(tiny_zrr_root):
    dataset = ISPDataset(tiny_zrr_root, "zrr", "test")
    sample = dataset[0]
    assert sample["raw"].shape == (4, 32, 32)
    assert sample["target"].shape == (3, 64, 64)  # 128x128 JPG resized to the generator output (= mosaic) size
    full = read_rgb(tiny_zrr_root / "test" / "canon" / "0.jpg")
    assert full.shape == (128, 128, 3)
    # bilinear 2x downscale with half-pixel centres = mean of each 2x2 block
    block_mean = full.reshape(64, 2, 64, 2, 3).mean(axis=(1, 3)).transpose(2, 0, 1)
    np.testing.assert_allclose(sample["target"].numpy(), block_mean, atol=1e-5)
    raw = read_raw(tiny_zrr_root / "test" / "huawei_raw" / "0.png")
    np.testing.assert_allclose(sample["raw"].numpy(), pack_bayer(raw) / 1020.0, rtol=1e-6)


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
