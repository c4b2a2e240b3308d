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
    (np.zeros((8, 8, 3), dtype=np.uint16), "has 3 channels .*expected 4 .*pack a Bayer mosaic"),
    (np.zeros((4, 8, 6), dtype=np.uint16), "channels first.*np.moveaxis"),
    (np.full((8, 8, 4), np.nan, dtype=np.float32), "NaN or inf.*np.nan_to_num"),
    (np.full((8, 8, 4), np.inf, dtype=np.float64), "NaN or inf"),
    (np.zeros((8, 8), dtype=np.uint16), r"shape \(8, 8\), expected a packed RAW.*re-export"),
    (np.zeros((0, 8, 4), dtype=np.uint16), r"shape \(0, 8, 4\).*at least 1"),
    (np.zeros((8, 8, 4), dtype=np.complex64), "dtype complex64, expected numbers"),
    (None, "truncated.*np.save"),
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
    assert kept.names == ["0"] and len(kept.problems) == 1 and "\n" not in kept.problems[0]
    assert "7.npy" in kept.problems[0]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.int64, np.float32, np.float64])
def test_any_numeric_dtype_is_divided_by_the_white_level_as_float(tmp_path, dtype):
    (tmp_path / "train" / "raws").mkdir(parents=True)
    values = np.random.default_rng(0).uniform(0, 250, (6, 10, 4))
    array = values.astype(dtype)  # floats keep their fractions, integers are truncated counts
    np.save(tmp_path / "train" / "raws" / "0.npy", array)
    sample = ISPDataset(tmp_path, preset="ntire2026", split="train", paired=True, require_targets=False)[0]
    expected = torch.from_numpy(array).permute(2, 0, 1).float() / 1023.0  # the baseline's RawTransform
    assert torch.equal(sample["raw"], expected)


def _baseline_grayworld(packed, out_hw=None):
    """docs/method.md §9 written out as the baseline computes it, in float32 torch: (H/2, W/2, 4) R, G, G, B ->
    stacked RGB, gray-world gains (means floored at 1e-6), clip, min-max (x - min only when the range is <= 1e-6),
    gamma 1/2.2, torchvision Resize(512, bilinear, antialias=True) (or the given size)."""
    from torchvision.transforms import v2

    x = torch.from_numpy(packed).permute(2, 0, 1).float() / 1023.0
    rgb = torch.stack([x[0], (x[1] + x[2]) * 0.5, x[3]], dim=0)
    means = torch.maximum(rgb.view(3, -1).mean(dim=1), torch.tensor(1e-6))
    gains = torch.stack([means[1] / means[0], torch.tensor(1.0), means[1] / means[2]])
    rgb = torch.clamp(rgb * gains.view(3, 1, 1), 0.0, 1.0)
    low, high = rgb.min(), rgb.max()
    rgb = (rgb - low) * (1.0 / (high - low) if high - low > 1e-6 else 1.0)
    rgb = torch.pow(rgb, 1.0 / 2.2)
    resize = v2.Resize(512 if out_hw is None else list(out_hw), interpolation=v2.InterpolationMode.BILINEAR,
                       antialias=True)
    return resize(rgb).numpy().transpose(1, 2, 0)


def _reference_of(packed, tmp_path, out_hw):
    from data import get_preset, read_mosaic

    path = tmp_path / "patch.npy"
    np.save(path, packed)
    return demosaic_reference(read_mosaic(path, get_preset("ntire2026")), "grayworld", white_level=1023,
                              gamma=2.2, out_size=out_hw)


def _challenge_patch(seed=0):
    rng = np.random.default_rng(seed)
    packed = rng.integers(0, 1024, (256, 256, 4)).astype(np.uint16)
    packed[..., 3] //= 3  # a colour cast, so the gains differ from 1
    return packed


@pytest.mark.parametrize("case", ["random", "flat", "black_red", "black_green", "float64", "saturated"])
def test_grayworld_equals_the_baseline_on_challenge_size(tmp_path, case):
    packed = _challenge_patch()
    if case == "flat":
        packed[:] = 300
    elif case == "black_red":
        packed[..., 0] = 0
    elif case == "black_green":
        packed[..., 1:3] = 0
    elif case == "float64":
        packed = packed.astype(np.float64) + 0.25
    elif case == "saturated":
        packed[:64] = 1023
    got = _reference_of(packed, tmp_path, (512, 512))  # the generator's output size for 256x256x4 RAW
    expected = _baseline_grayworld(packed)
    assert got.shape == expected.shape == (512, 512, 3)
    assert np.abs(got - expected).max() <= 1e-6
    if case == "flat":
        assert np.all(got == 0)
    if case == "black_red":
        assert np.all(got[..., 0] == 0) and got[..., 1].max() > 0.5


@pytest.mark.parametrize("packed_hw, out_hw", [((32, 32), (64, 64)), ((32, 48), (64, 96)), ((32, 32), (20, 24))])
def test_grayworld_other_sizes_resize_to_the_output_size(tmp_path, packed_hw, out_hw):
    packed = np.random.default_rng(1).integers(0, 1024, (*packed_hw, 4)).astype(np.uint16)
    got = _reference_of(packed, tmp_path, out_hw)
    assert got.shape == (*out_hw, 3)
    assert np.abs(got - _baseline_grayworld(packed, out_hw)).max() <= 1e-6


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
