"""One dataset builder (wiring.build_dataset) for every script: with every data key of config.py at a
non-default value, fit.py, inference.py (and process_set.py's workers), test_model.py and tools.demo_report
build the same dataset, and the demo report scores the very reference training uses. Expected inputs,
references and scores are computed here with numpy / OpenCV from the files."""
import csv
import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import data
import fit
import inference
import process_set
import test_model
import wiring
from tools import demo_report
from training.config_loader import load_config, read_config_file

REPO = Path(__file__).resolve().parents[1]
# config.py's data keys that are not dataset settings: where fit.py's training split comes from and how its
# unpaired targets are assigned (fit passes them as split, indices and target_pairing) and how loaders batch
# and cache a dataset.
TRAINING_SPLIT_KEYS = {"train_split", "train_indices", "target_pairing"}
LOADER_KEYS = {"patch_size", "batch_size", "num_workers", "prefetch_factor", "persistent_workers", "pin_memory",
               "feature_cache", "feature_cache_dir", "feature_cache_features", "feature_cache_dtype"}
STEMS = ["2", "0"]  # the index list of the non-default config, in its order
GAINS, GAMMA = (16.0, 6.0, 12.0), 1.8  # gains that clip the dim synthetic RAW under white_level scaling


def _config_section(name: str) -> set:
    """Keys assigned in one '# --- name ---' section of config.py (read as text, as a user reads it)."""
    text = (REPO / "config.py").read_text()
    section = text.split(f"# --- {name} ")[1].split("\n# --- ")[0]
    return set(re.findall(r"^(\w+)\s*=", section, flags=re.MULTILINE))


def test_every_data_key_of_config_py_is_a_dataset_key_or_named_as_not_one():
    data_keys = _config_section("data")
    assert data_keys == (set(wiring.DATASET_KEYS) - {"seed"}) | TRAINING_SPLIT_KEYS | LOADER_KEYS
    assert set(wiring.DATASET_KEYS) <= set(read_config_file(REPO / "config.py"))


@pytest.fixture(scope="module")
def zrr_with_val(tmp_path_factory):
    """ZRR layout with a val split (the demo report scores val): 32x32 RAW and same-size JPEG targets."""
    root = tmp_path_factory.mktemp("zrr_val") / "zrr"
    data.make_synthetic_dataset(root, "zrr", counts={"test": 3}, size=32, seed=0)
    shutil.copytree(root / "test", root / "val")
    return root


@pytest.fixture
def non_default(zrr_with_val, tmp_path):
    """fit.py's full configuration with every dataset key away from config.py's default."""
    (tmp_path / "val.txt").write_text("# held out\n2\n0\n")
    values = {"dataset": "zrr", "zrr_normalisation": "fujifilm_black", "data_root": str(zrr_with_val),
              "train_split": "val", "train_indices": str(tmp_path / "val.txt"), "demosaic": "opencv",
              "reference_scaling": "white_level", "wb_gains": GAINS, "demosaic_gamma": GAMMA,
              "cache_dir": str(tmp_path / "cache"), "target_resize": "area", "skip_bad_files": True, "seed": 7,
              "target_pairing": "index", "backbone": "srcnn"}  # no published srcnn: the report looks nothing up
    defaults = read_config_file(REPO / "config.py")
    assert all(defaults[k] != v for k, v in values.items()), "a 'non-default' value is config.py's default"
    assert set(wiring.DATASET_KEYS) | TRAINING_SPLIT_KEYS <= set(values)
    return load_config(REPO / "config.py", [f"{k}={v}" for k, v in values.items()])


def _expected_raw_r(root, stem):
    """Packed channel 2 (R at (0, 0)) under zrr_normalisation=fujifilm_black: (x - 58) / (1023 - 58)."""
    raw = cv2.imread(str(root / "val" / "huawei_raw" / f"{stem}.png"), cv2.IMREAD_UNCHANGED).astype(np.float64)
    return (raw[0::2, 0::2] - 58) / (1023 - 58)


def _expected_reference(root, stem):
    """OpenCV demosaic (RGGB = its BayerBG), / white level 1023 (white_level scaling), gains, clip, min-max, gamma."""
    raw = cv2.imread(str(root / "val" / "huawei_raw" / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
    rgb = cv2.cvtColor(raw, cv2.COLOR_BayerBG2RGB).astype(np.float64) / 1023.0 * np.array(GAINS)
    rgb = np.clip(rgb, 0, 1)
    rgb = (rgb - rgb.min()) / (rgb.max() - rgb.min())
    return (rgb ** (1 / GAMMA)).transpose(2, 0, 1)


@pytest.fixture
def recorded(monkeypatch):
    """The keyword arguments of every ISPDataset a script builds."""
    built = []

    class Recording(data.ISPDataset):
        def __init__(self, root, **kwargs):
            built.append({"root": str(root), **kwargs})
            super().__init__(root, **kwargs)

    monkeypatch.setattr(data, "ISPDataset", Recording)
    return built


def _shared(kwargs):
    """What a dataset's samples depend on besides the split and the role (pairing, targets, reference on/off)."""
    keep = ("root", "preset", "cache_dir", "target_resize", "demosaic_kwargs", "seed")
    return {k: kwargs[k] for k in keep}


def _run_folder(cfg, tmp_path):
    """A stage folder as fit.py leaves it: config.json and a generator checkpoint."""
    from models import build_generator
    stage = tmp_path / "run" / "unpaired"
    (stage / "checkpoints").mkdir(parents=True)
    (stage / "config.json").write_text(json.dumps(cfg, default=list))
    torch.manual_seed(0)
    torch.save(build_generator(cfg["backbone"]).state_dict(), stage / "checkpoints" / "G_step_0.pth")
    return stage


def test_every_consumer_builds_the_same_dataset(non_default, recorded, tmp_path, monkeypatch):
    cfg, root = non_default, Path(non_default["data_root"])
    stage = _run_folder(cfg, tmp_path)
    training = fit.make_dataset("pretrain", cfg, "packed4")  # train_split=val, the listed stems
    assert training.names == STEMS
    for i, stem in enumerate(STEMS):
        np.testing.assert_allclose(training[i]["raw"][2].numpy(), _expected_raw_r(root, stem), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(training[i]["reference"].numpy(), _expected_reference(root, stem), atol=2e-6)

    # inference.py on the run (process_set.py's workers get the same settings: checked below)
    swept = []
    monkeypatch.setattr(inference, "load_split", lambda *a, **k: swept.append(wiring.load_split(*a, **k)) or swept[-1])
    assert inference.main(["--run", str(stage), "--split", "val", "--indices", cfg["train_indices"], "--quiet",
                           "--metrics", "psnr", "--out", str(tmp_path / "eval")]) == 0
    np.testing.assert_array_equal(torch.cat(swept[0].inputs).numpy(), torch.stack([s["raw"] for s in training]))

    report = demo_report.load_split(json.loads((stage / "config.json").read_text()))
    order = [report["name"].index(stem) for stem in STEMS]
    np.testing.assert_array_equal(report["raw"][order].numpy(), torch.stack([s["raw"] for s in training]))
    np.testing.assert_array_equal(report["reference"][order].numpy(), torch.stack([s["reference"] for s in training]))

    assert len(recorded) >= 3 and all(_shared(k) == _shared(recorded[0]) for k in recorded)
    assert {k.get("reference") for k in recorded} == {"opencv", None}  # inference reads no reference

    # test_model.py with the flags of the run's settings: the same generator inputs, file by file
    inputs = []
    real_load_input = test_model.load_input
    monkeypatch.setattr(test_model, "load_input", lambda *a: inputs.append(real_load_input(*a)) or inputs[-1])
    assert test_model.main(["--checkpoint", str(stage / "checkpoints" / "G_step_0.pth"), "--dataset", "zrr",
                            "--zrr-normalisation", "fujifilm_black", "--input", str(root / "val"),
                            "--output", str(tmp_path / "out"), "--no-lpips"]) == 0
    by_stem = {stem: x[0] for stem, x in zip(sorted(report["name"], key=int), inputs)}
    for i, stem in enumerate(STEMS):
        np.testing.assert_array_equal(by_stem[stem].numpy(), training[i]["raw"].numpy())


def test_process_set_workers_resolve_to_the_runs_dataset_settings(non_default, tmp_path):
    stage = _run_folder(non_default, tmp_path)
    args = process_set.build_parser().parse_args(["--n", "20", "--step", "10", "--run", str(stage)])
    for worker in process_set.plan_workers(args, ["--indices", non_default["train_indices"]]):
        worker_args = inference.build_parser().parse_args(worker.argv[2:])
        settings = inference.resolve_settings(worker_args, *inference.run_config(worker_args))
        assert {k: settings[k] for k in wiring.DATASET_KEYS} == {k: non_default[k] for k in wiring.DATASET_KEYS}


def test_demo_report_scores_the_reference_training_uses(non_default, tmp_path):
    stage = _run_folder(non_default, tmp_path)
    root = Path(non_default["data_root"])
    text, _ = demo_report.make_report(stage, best=stage / "checkpoints" / "G_step_0.pth")
    row = next(r for r in csv.DictReader(open(stage / "report.csv")) if r["method"] == "demosaiced reference")
    stems = sorted(p.stem for p in (root / "val" / "huawei_raw").glob("*.png"))
    references = np.stack([_expected_reference(root, s) for s in stems])
    targets = np.stack([cv2.imread(str(root / "val" / "canon" / f"{s}.jpg"))[..., ::-1].transpose(2, 0, 1) / 255.0
                        for s in stems])
    x = np.floor(np.clip(references, 0, 1).astype(np.float32) * np.float32(255)) / 255  # 8-bit truncation
    psnr = np.mean(10 * np.log10(1.0 / ((x - targets) ** 2).reshape(len(x), -1).mean(axis=1)))
    assert float(row["psnr"]) == pytest.approx(psnr, abs=1e-3)
    # and training's reference of the same split is that very image
    training = fit.make_dataset("pretrain", dict(non_default, train_indices=""), "packed4")
    for i, stem in enumerate(training.names):
        np.testing.assert_allclose(training[i]["reference"].numpy(), _expected_reference(root, stem), atol=2e-6)
