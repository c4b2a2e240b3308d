"""The release's training-data path (issue 10): demosaiced reference scaling and its cache key, the unpaired
target pool under an index list, ZRR sizes and the one index-list format. Expectations are computed here with
numpy / colour-demosaicing / torch directly, never with the project's own functions."""
import hashlib
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import fit
import inference
from data import BadInputError, ISPDataset, make_synthetic_dataset, read_index_list
from training.config_loader import load_config
from training.sampling import StepBatchSampler

REPO = Path(__file__).resolve().parents[1]
GAINS = np.array([1.6, 1.2, 1.4])


def _menon(raw):
    from colour_demosaicing import demosaicing_CFA_Bayer_Menon2007

    return demosaicing_CFA_Bayer_Menon2007(raw.astype(np.float64), "RGGB")


def _bilinear(rgb, size):
    chw = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
    return F.interpolate(chw, size=size, mode="bilinear", align_corners=False)[0].numpy().transpose(1, 2, 0)


def _read_png16(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def _bright_smooth_mosaic(size=32):
    """A smooth bright scene sampled on RGGB: Menon stays >= 0, and R * 1.6 passes 1023 in the highlight."""
    y, x = np.mgrid[0:size, 0:size]
    blob = np.exp(-((y - size / 2) ** 2 + (x - size / 3) ** 2) / (size * 6.0))
    rgb = np.stack([250 + 740 * blob, 230 + 500 * blob, 200 + 300 * blob], axis=-1)
    mosaic = np.empty((size, size))
    mosaic[0::2, 0::2], mosaic[1::2, 1::2] = rgb[0::2, 0::2, 0], rgb[1::2, 1::2, 2]
    mosaic[0::2, 1::2], mosaic[1::2, 0::2] = rgb[0::2, 1::2, 1], rgb[1::2, 0::2, 1]
    return np.rint(mosaic).astype(np.uint16)


# --- demosaiced reference ------------------------------------------------------------------------

def test_default_reference_is_the_release_formula_without_highlight_clipping(tmp_path):
    """docs/method.md §1: reference = ((M*g - min) / (max - min)) ** (1/2.2), resized; bright pixels not saturated."""
    raw = _bright_smooth_mosaic()
    path = tmp_path / "train" / "mediatek_raw" / "0.png"
    path.parent.mkdir(parents=True)
    cv2.imwrite(str(path), raw)
    dataset = ISPDataset(tmp_path, "fujifilm", "train", reference="menon", require_targets=False)
    got = dataset[0]["reference"].numpy().transpose(1, 2, 0)
    m_g = _menon(raw) * GAINS
    assert m_g.min() > 0 and (m_g > 1023).any()  # the case where the two scalings differ
    expected = ((m_g - m_g.min()) / (m_g.max() - m_g.min())) ** (1 / 2.2)
    np.testing.assert_allclose(got, expected, atol=2e-6)
    # The white-level switch saturates the highlight per channel before min-max: a visibly different image.
    clipped = ISPDataset(tmp_path, "fujifilm", "train", reference="menon", require_targets=False,
                         demosaic_kwargs={"scaling": "white_level"})[0]["reference"].numpy().transpose(1, 2, 0)
    saturated = np.clip(_menon(raw) / 1023 * GAINS, 0, 1)
    expected_clipped = ((saturated - saturated.min()) / (saturated.max() - saturated.min())) ** (1 / 2.2)
    np.testing.assert_allclose(clipped, expected_clipped, atol=2e-6)
    assert np.abs(clipped - got).max() > 0.05


@pytest.mark.parametrize("method", ["menon", "opencv"])
def test_reference_resized_bilinear_to_the_output_size(method):
    from data import demosaic_reference

    raw = _bright_smooth_mosaic(24)
    rgb = _menon(raw) if method == "menon" else cv2.cvtColor(raw, cv2.COLOR_BayerBG2RGB).astype(np.float64)
    m_g = np.clip(rgb / 65535 * GAINS, 0, 1)
    expected = _bilinear(((m_g - m_g.min()) / (m_g.max() - m_g.min())) ** (1 / 2.2), (16, 40))
    np.testing.assert_allclose(demosaic_reference(raw, method=method, out_size=(16, 40)), expected, atol=2e-6)


def test_menon_negative_overshoots_are_clipped_to_zero_before_min_max():
    """The release clips after /65535: the top never acts, but Menon's negative overshoots become 0."""
    from data import demosaic_reference

    raw = np.random.default_rng(0).integers(0, 1024, (16, 16)).astype(np.uint16)
    m_g = _menon(raw) * GAINS
    assert m_g.min() < 0
    expected = (np.maximum(m_g, 0) / m_g.max()) ** (1 / 2.2)
    np.testing.assert_allclose(demosaic_reference(raw), expected, atol=2e-6)


def _entries(cache):
    return sorted(p for p in Path(cache).rglob("*.npy"))


def test_a_cache_filled_under_one_scaling_is_never_read_under_the_other(tiny_fujifilm_root, tmp_path):
    cache = tmp_path / "cache"
    raw = _read_png16(tiny_fujifilm_root / "val" / "mediatek_raw" / "0.png")
    m_g = _menon(raw) * GAINS
    for first, second in (("white_level", "uint16"), ("uint16", "white_level")):
        shutil.rmtree(cache, ignore_errors=True)
        ISPDataset(tiny_fujifilm_root, "fujifilm", "val", reference="menon", cache_dir=cache,
                   demosaic_kwargs={"scaling": first})[0]
        assert len(_entries(cache)) == 1
        got = ISPDataset(tiny_fujifilm_root, "fujifilm", "val", reference="menon", cache_dir=cache,
                         demosaic_kwargs={"scaling": second})[0]["reference"].numpy().transpose(1, 2, 0)
        assert len(_entries(cache)) == 2
        scaled = np.clip(m_g / (65535 if second == "uint16" else 1023), 0, 1)
        expected = ((scaled - scaled.min()) / (scaled.max() - scaled.min())) ** (1 / 2.2)
        np.testing.assert_allclose(got, expected, atol=2e-6)
    a, b = (np.load(p) for p in _entries(cache))
    assert np.abs(a - b).max() > 0.05  # the synthetic Fujifilm RAW is bright: the two really differ


def test_entries_of_the_previous_cache_format_are_not_read(tiny_fujifilm_root, tmp_path):
    """A cache filled before the scaling switch existed (format 1: white-level references) is ignored."""
    cache = tmp_path / "cache"
    raw_path = tiny_fujifilm_root / "val" / "mediatek_raw" / "1.png"
    old_settings = {"v": 1, "method": "menon", "white_level": 1023.0, "wb_gains": [1.6, 1.2, 1.4], "gamma": 2.2,
                    "out_size": [64, 64]}
    stat = raw_path.resolve().stat()
    identity = {"path": str(raw_path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    old_dir = cache / hashlib.sha256(json.dumps(old_settings, sort_keys=True).encode()).hexdigest()[:16]
    old_dir.mkdir(parents=True)
    file_key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    np.save(old_dir / f"1-{file_key}.npy", np.zeros((64, 64, 3), np.float32))  # stale: would be all black
    got = ISPDataset(tiny_fujifilm_root, "fujifilm", "val", reference="menon", cache_dir=cache)[1]["reference"]
    assert float(got.max()) == pytest.approx(1.0) and len(_entries(cache)) == 2


def test_unknown_scaling_fails_when_the_dataset_is_built(tiny_fujifilm_root):
    with pytest.raises(BadInputError, match="unknown reference scaling 'uint8'"):
        ISPDataset(tiny_fujifilm_root, "fujifilm", "val", reference="menon", demosaic_kwargs={"scaling": "uint8"})


def _fit_config(root, **extra):
    overrides = {"data_root": str(root), "cache_dir": "", **extra}
    return load_config(REPO / "config.py", [f"{k}={v}" for k, v in overrides.items()])


@pytest.mark.parametrize("stage", ["pretrain", "unpaired"])
def test_fit_passes_the_scaling_to_both_reference_stages(stage, tiny_fujifilm_root):
    for scaling in ("uint16", "white_level"):
        dataset = fit.make_dataset(stage, _fit_config(tiny_fujifilm_root, reference_scaling=scaling), "packed4")
        assert dataset.reference == "menon" and dataset.demosaic_kwargs["scaling"] == scaling


# --- unpaired target pool ------------------------------------------------------------------------

def _target_pixels(root, stems):
    return {s: cv2.imread(str(root / "train" / "fujifilm" / f"{s}.png"))[..., ::-1] / 255.0 for s in stems}


def _which(target, candidates):
    matches = [s for s, pixels in candidates.items() if np.abs(pixels - target).max() < 1e-6]
    assert len(matches) == 1
    return matches[0]


def test_unpaired_targets_come_only_from_the_training_list(tiny_fujifilm_root, tmp_path):
    listed = ["1", "4", "5"]
    index_list = tmp_path / "train.txt"
    index_list.write_text("# training stems\n1\n4  # trailing comment\n\n5\n")
    cfg = _fit_config(tiny_fujifilm_root, train_indices=str(index_list), seed=3)
    dataset = fit.make_dataset("unpaired", cfg, "packed4")
    assert dataset.names == listed and not dataset.paired
    every_target = _target_pixels(tiny_fujifilm_root, [str(i) for i in range(6)])
    # A whole epoch, every index, then the real sampler's batches: only listed targets, each of them reached.
    drawn = [_which(dataset[i]["target"].numpy().transpose(1, 2, 0), every_target) for i in range(len(dataset))]
    sampler = StepBatchSampler(len(dataset), global_batch=2, seed=3, start_step=0, end_step=20)
    for batch in sampler:
        drawn += [_which(dataset[i]["target"].numpy().transpose(1, 2, 0), every_target) for i in batch]
    assert set(drawn) == set(listed)


def test_target_pool_without_listed_stems_is_an_error(tiny_fujifilm_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(tiny_fujifilm_root / "train", root / "train")
    for stem in ("1", "4"):
        (root / "train" / "fujifilm" / f"{stem}.png").unlink()
    with pytest.raises(BadInputError, match="no target file has a stem listed"):
        ISPDataset(root, "fujifilm", "train", paired=False, indices=["1", "4"])


# --- ZRR sizes -----------------------------------------------------------------------------------

def test_synthetic_default_sizes_are_the_real_datasets(tmp_path):
    for layout, raw_dir, target, side in (("zrr", "huawei_raw", "canon/0.jpg", 448),
                                          ("fujifilm", "mediatek_raw", "fujifilm/0.png", 256)):
        root = make_synthetic_dataset(tmp_path / layout, layout, counts={"test": 1})
        assert _read_png16(root / "test" / raw_dir / "0.png").shape == (side, side)
        assert cv2.imread(str(root / "test" / target)).shape == (side, side, 3)
    sample = ISPDataset(tmp_path / "zrr", "zrr", "test")[0]
    assert sample["raw"].shape == (4, 224, 224) and sample["target"].shape == (3, 448, 448)


def test_zrr_normalisation_reaches_fit_and_inference(tiny_zrr_root, tmp_path):
    cfg = _fit_config(tiny_zrr_root, dataset="zrr", zrr_normalisation="fujifilm_black")
    sample = fit.make_dataset("paired", cfg, "packed4")[0]
    raw = _read_png16(tiny_zrr_root / "train" / "huawei_raw" / "0.png").astype(np.float64)
    np.testing.assert_allclose(sample["raw"][2].numpy(), (raw[0::2, 0::2] - 58) / (1023 - 58), rtol=1e-5, atol=1e-7)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"backbone": "efficient_isp", "dataset": "zrr", "data_root": "x",
                                                 "zrr_normalisation": "fujifilm_black"}))
    args = inference.build_parser().parse_args(["--run", str(run)])
    settings = inference.resolve_settings(args, *inference.run_config(args))
    assert settings["zrr_normalisation"] == "fujifilm_black"


# --- index lists ---------------------------------------------------------------------------------

def test_index_list_format(tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes(b"# header\r\n17\r\n\r\n  3   # trailing\n#5\nimg_a\n")
    assert read_index_list(path) == ["17", "3", "img_a"]


@pytest.mark.parametrize("text, message", [
    ("1\n2 3\n", r"list\.txt, line 2: '2 3' holds several entries"),
    ("1\n# again\n1\n", r"list\.txt, line 3: stem '1' is listed twice \(first on line 1\)"),
    ("# nothing\n\n", r"list\.txt: index list holds no stems"),
])
def test_bad_index_list_names_file_line_and_entry(tmp_path, text, message):
    (tmp_path / "list.txt").write_text(text)
    with pytest.raises(BadInputError, match=message):
        read_index_list(tmp_path / "list.txt")


def test_missing_index_list_is_named(tmp_path):
    with pytest.raises(BadInputError, match=r"nope\.txt: index list not found"):
        read_index_list(tmp_path / "nope.txt")


def test_the_same_list_works_for_fit_and_inference(tiny_fujifilm_root, tmp_path, capsys):
    from models import build_generator

    index_list = tmp_path / "val.txt"
    index_list.write_text("# held out\n5\n2   # second\n")
    dataset = fit.make_dataset("paired", _fit_config(tiny_fujifilm_root, train_indices=str(index_list)), "packed4")
    assert dataset.names == ["5", "2"]
    checkpoint = tmp_path / "G_step_1.pth"
    torch.save(build_generator("efficient_isp").state_dict(), checkpoint)
    common = ["--checkpoints", str(checkpoint), "--backbone", "efficient_isp", "--dataset", "fujifilm",
              "--data-root", str(tiny_fujifilm_root), "--split", "train", "--metrics", "psnr", "--quiet",
              "--out", str(tmp_path / "eval")]
    assert inference.main(common + ["--indices", str(index_list)]) == 0
    rows = (tmp_path / "eval" / "G_step_1.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["5", "2", "mean"]
    capsys.readouterr()
    # An unknown stem: one line naming the list, the line and the entry, exit code 2, in both scripts.
    (tmp_path / "bad.txt").write_text("5\n77\n")
    from cli import run_main
    assert run_main(inference.main, "inference.py", common + ["--indices", str(tmp_path / "bad.txt"), "--rescore"]) == 2
    err = capsys.readouterr().err.strip()
    assert "bad.txt, line 2: stem '77' has no file in" in err and len(err.splitlines()) == 1
    overrides = {"data_root": str(tiny_fujifilm_root), "train_indices": str(tmp_path / "bad.txt"), "cache_dir": "",
                 "out_dir": str(tmp_path / "runs"), "run_name": "bad", "allow_random_backbones": True,
                 "stage": "pretrain", "vit_model": "vit_tiny_patch16_224"}
    from cli import run_main
    assert run_main(fit.main, "fit.py", ["--set", *[f"{k}={v}" for k, v in overrides.items()]]) == 2
    err = capsys.readouterr().err
    assert "bad.txt, line 2: stem '77' has no file in" in err and "Traceback" not in err
