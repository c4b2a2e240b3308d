"""NTIRE 2026 preset: packed .npy in the file's channel order, bad files, index lists, the grayworld reference,
the synthetic ntire2026 layout through fit.py, test_model.py and inference.py (delta_e2000 column)."""
import csv

import numpy as np
import pytest
import torch

from data import BadInputError, ISPDataset, cached_reference, demosaic_reference, read_index_list
from data.reference.demosaic import demosaic_settings
from data.reference.reference_cache import cache_entry_path
from data.synth.synthetic_ntire import make_synthetic_ntire


@pytest.fixture(scope="module")
def ntire_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ntire") / "ntire2026"
    return make_synthetic_ntire(root, counts={"train": 4, "val": 2, "test": 2}, size=64, seed=0)


def test_layout_and_generator_input_in_file_order(ntire_root):
    raws = sorted((ntire_root / "train" / "raws").glob("*.npy"))
    assert len(raws) == 4 and len(list((ntire_root / "train" / "jpegs").glob("*.jpg"))) == 4
    dataset = ISPDataset(ntire_root, preset="ntire2026", split="train", paired=False)
    for index, name in enumerate(dataset.names):
        array = np.load(ntire_root / "train" / "raws" / f"{name}.npy")
        assert array.shape == (32, 32, 4) and array.dtype == np.uint16
        expected = array.transpose(2, 0, 1).astype(np.float64) / 1023.0  # channels-first, /1023, no black
        sample = dataset[index]
        assert np.abs(sample["raw"].numpy() - expected).max() < 1e-6
        assert tuple(sample["target"].shape) == (3, 64, 64)  # JPEG photos at 2x the packed size


def test_index_lists_select_files(ntire_root, tmp_path):
    listing = tmp_path / "train.txt"
    listing.write_text("# held-in\n3\n1\n")
    dataset = ISPDataset(ntire_root, preset="ntire2026", split="train", paired=False,
                         indices=read_index_list(listing))
    assert dataset.names == ["3", "1"]


def test_paired_needs_ground_truth_and_pretrain_ignores_photos(ntire_root):
    with pytest.raises(BadInputError, match="gt.*unrelated photos"):
        ISPDataset(ntire_root, preset="ntire2026", split="train", paired=True)
    pretrain = ISPDataset(ntire_root, preset="ntire2026", split="train", paired=True, require_targets=False)
    assert "target" not in pretrain[0]
    scored = ISPDataset(ntire_root, preset="ntire2026", split="val", paired=True)  # val/gt/ exists
    assert tuple(scored[0]["target"].shape) == (3, 64, 64)


@pytest.mark.parametrize("content, problem", [
    (np.zeros((8, 8, 3), dtype=np.uint16), "shape"),
    (np.zeros((8, 8, 4), dtype=np.float32), "dtype float32"),
    (None, "truncated"),
])
def test_bad_npy_files_name_the_file(tmp_path, content, problem):
    root = tmp_path / "set"
    (root / "train" / "raws").mkdir(parents=True)
    np.save(root / "train" / "raws" / "0.npy", np.zeros((8, 8, 4), dtype=np.uint16))
    bad = root / "train" / "raws" / "7.npy"
    if content is None:
        np.save(bad, np.zeros((8, 8, 4), dtype=np.uint16))
        bad.write_bytes(bad.read_bytes()[:90])
    else:
        np.save(bad, content)
    dataset = ISPDataset(root, preset="ntire2026", split="train", paired=True, require_targets=False)
    with pytest.raises(BadInputError, match=f"7.npy.*{problem}"):
        dataset[dataset.names.index("7")]
    with pytest.warns(UserWarning, match="skipped 1 bad file"):
        kept = ISPDataset(root, preset="ntire2026", split="train", paired=True, require_targets=False, skip_bad=True)
    assert kept.names == ["0"] and "7.npy" in kept.problems[0]


def _grayworld_by_hand(packed, white, gamma, out_hw):
    """docs/method.md §9 written out: R, (G1+G2)/2, B; gray-world gains; clip; min-max; gamma; antialiased bilinear."""
    x = packed.astype(np.float64) / white
    rgb = np.stack([x[..., 0], (x[..., 1] + x[..., 2]) / 2, x[..., 3]], axis=-1)
    mean_r, mean_g, mean_b = rgb[..., 0].mean(), rgb[..., 1].mean(), rgb[..., 2].mean()
    rgb = np.clip(rgb * np.array([mean_g / mean_r, 1.0, mean_g / mean_b]), 0, 1)
    rgb = ((rgb - rgb.min()) / (rgb.max() - rgb.min())) ** (1 / gamma)
    from torchvision.transforms.v2 import functional as TF  # the baseline's resize call

    chw = torch.from_numpy(rgb.transpose(2, 0, 1).copy())
    return TF.resize(chw, list(out_hw), interpolation=TF.InterpolationMode.BILINEAR, antialias=True).numpy()


@pytest.mark.parametrize("out_hw", [(64, 64), (20, 24)])  # the 2x output size, and a downscale (antialiasing)
def test_grayworld_reference_matches_spec(ntire_root, out_hw):
    from data import get_preset, read_mosaic

    path = ntire_root / "train" / "raws" / "0.npy"
    packed = np.load(path)
    got = demosaic_reference(read_mosaic(path, get_preset("ntire2026")), "grayworld", white_level=1023, gamma=2.2,
                             out_size=out_hw)
    expected = _grayworld_by_hand(packed, 1023.0, 2.2, out_hw).transpose(1, 2, 0)
    assert got.shape == (*out_hw, 3)
    assert np.abs(got - expected).max() < 1e-5


def test_grayworld_is_cached_under_its_own_key(ntire_root, tmp_path):
    from data import get_preset, read_mosaic

    path = ntire_root / "train" / "raws" / "1.npy"
    mosaic = read_mosaic(path, get_preset("ntire2026"))
    first = cached_reference(path, tmp_path, raw=mosaic, method="grayworld", white_level=1023, out_size=(64, 64))
    entry = cache_entry_path(tmp_path, path, demosaic_settings("grayworld", white_level=1023, out_size=(64, 64)))
    assert entry.is_file() and np.array_equal(np.load(entry), first)
    menon = cache_entry_path(tmp_path, path, demosaic_settings("menon", white_level=1023, out_size=(64, 64)))
    assert menon != entry and not menon.exists()


def test_fit_test_model_and_inference_on_synthetic_ntire(ntire_root, tmp_path):
    import fit
    import inference
    import test_model

    overrides = [f"data_root={ntire_root}", "dataset=ntire2026", f"out_dir={tmp_path}", "run_name=nt",
                 "allow_random_backbones=True", "vit_model=vit_tiny_patch16_224", "batch_size=2", "num_workers=0",
                 "cache_dir=", "pretrain_steps=1", "max_steps=2", "save_every=1", "d_every=1", "sample_every=2",
                 "log_every=1", "demosaic=grayworld"]
    assert fit.main(["--set", *overrides]) == 0
    checkpoint = tmp_path / "nt" / "unpaired" / "checkpoints" / "G_step_2.pth"
    assert checkpoint.is_file()
    out = tmp_path / "test_out"
    assert test_model.main(["--checkpoint", str(checkpoint), "--backbone", "efficient_isp", "--dataset", "ntire2026",
                            "--input", str(ntire_root / "val"), "--output", str(out), "--no-lpips"]) == 0
    with open(out / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert "delta_e2000" in rows[0] and rows[-1]["file"] == "mean" and len(rows) == 3
    assert float(rows[0]["delta_e2000"]) > 0
    assert inference.main(["--run", str(tmp_path / "nt" / "unpaired"), "--split", "val", "--no-lpips", "--quiet"]) == 0
    with open(tmp_path / "nt" / "unpaired" / "eval_val" / "G_step_2.csv", newline="") as handle:
        assert "delta_e2000" in next(csv.DictReader(handle))
