"""tools.demo's online/offline decision and tools.demo_report's table and picture (no network used)."""
import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from pretrained import WEIGHT_FILES, expected_path
from tools import demo, demo_report

TRAINING = ("vgg19_matconvnet", "alexnet", "vit_base")


@pytest.fixture
def empty_homes(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


def _place(name):
    """Put a (dummy) file where the registry looks for it."""
    entry = WEIGHT_FILES[name]
    path = expected_path(name)
    if entry.location == "hf_hub":
        path = path / "snapshots" / "rev" / entry.file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


def test_offline_never_fetches_and_trains_on_random_backbones(empty_homes, capsys):
    def fetch(names):
        raise AssertionError("offline must not fetch")

    assert demo.choose_backbones(offline=True, fetch=fetch) == demo.RANDOM_BACKBONE_SETTINGS
    assert "RANDOM" in capsys.readouterr().out


def test_online_fetches_every_missing_file_then_uses_the_real_backbones(empty_homes, capsys):
    _place("alexnet")  # already present: not asked for
    asked = []

    def fetch(names):
        asked.extend(names)
        for name in names:
            _place(name)
        return []

    assert demo.choose_backbones(offline=False, fetch=fetch) == []
    assert sorted(asked) == ["lpips_alex", "vgg19_matconvnet", "vit_base"]
    assert "real pretrained backbones" in capsys.readouterr().out


def test_a_training_file_that_could_not_be_fetched_means_random(empty_homes):
    assert demo.choose_backbones(offline=False, fetch=lambda names: ["vit_base"]) == demo.RANDOM_BACKBONE_SETTINGS
    # only the LPIPS metric file missing: training still uses the real backbones
    for name in TRAINING:
        _place(name)
    assert demo.choose_backbones(offline=False, fetch=lambda names: list(names)) == []


# --- report ----------------------------------------------------------------------------------------

@pytest.fixture
def scored_stage(tmp_path, tiny_fujifilm_root):
    """A main-stage folder with G_step_0 (start) and G_step_5, swept by inference.py."""
    import inference
    from models import build_generator
    stage = tmp_path / "run" / "unpaired"
    (stage / "checkpoints").mkdir(parents=True)
    for step in (0, 5):
        torch.manual_seed(step)
        torch.save(build_generator("efficient_isp").state_dict(), stage / "checkpoints" / f"G_step_{step}.pth")
    (stage / "config.json").write_text(json.dumps(
        {"backbone": "efficient_isp", "dataset": "fujifilm", "data_root": str(tiny_fujifilm_root), "demosaic": "menon",
         "cache_dir": "", "wb_gains": [1.6, 1.2, 1.4], "demosaic_gamma": 2.2}))
    assert inference.main(["--run", str(stage), "--no-lpips", "--quiet", "--metrics", "psnr"]) == 0
    return stage


def _psnr_8bit(images, targets):
    """PSNR of 8-bit truncated images against targets, per image, then the mean (numpy, written out)."""
    x = np.floor(np.clip(images, 0, 1).astype(np.float32) * np.float32(255)) / 255
    mse = ((x - targets) ** 2).reshape(len(x), -1).mean(axis=1)
    return float(np.mean(10 * np.log10(1.0 / mse)))


def test_report_scores_reference_start_best_and_published(scored_stage, generated_checkpoints):
    from data import ISPDataset
    # the published column reads the cache's file; a generated stand-in there exercises the same path
    text, picture = demo_report.make_report(scored_stage, cache_dir=generated_checkpoints)
    rows = {r["method"]: r for r in csv.DictReader(open(scored_stage / "report.csv"))}
    assert list(rows) == ["demosaiced reference", "start (step 0)", f"best (G_step_{_best_step(scored_stage)})",
                          "published (fujifilm_efficient_isp_unpaired)"]
    ds = ISPDataset(json.loads((scored_stage / "config.json").read_text())["data_root"], split="val",
                    reference="menon", demosaic_kwargs={"wb_gains": (1.6, 1.2, 1.4), "gamma": 2.2})
    refs = np.stack([ds[i]["reference"].numpy() for i in range(len(ds))])
    targets = np.stack([ds[i]["target"].numpy() for i in range(len(ds))])
    assert float(rows["demosaiced reference"]["psnr"]) == pytest.approx(_psnr_8bit(refs, targets), abs=1e-3)
    assert "published (fujifilm_efficient_isp_unpaired)" in text
    # columns reference | start | best | published | target, one row per validation image (3 here)
    # one image pixel per PNG pixel, 2 px gaps, a 14 px label strip
    assert Image.open(picture).size == (5 * 66 + 2, 14 + 3 * 66 + 2)


def _best_step(stage):
    from tools.best import merge, top_k
    return top_k(merge([stage / "eval_val"]), "psnr", 1)[0]["step"]


def test_report_without_published_file_says_so(scored_stage, tmp_path):
    text, picture = demo_report.make_report(scored_stage, cache_dir=tmp_path / "nowhere")
    assert "published: skipped" in text and "fujifilm_efficient_isp_unpaired" in text
    assert Image.open(picture).size[0] == 4 * 66 + 2  # reference | start | best | target


def test_report_cli_errors_and_help(tmp_path, capsys):
    from cli import run_main
    assert run_main(demo_report.main, "python -m tools.demo_report", [str(tmp_path)]) == 2
    assert "config.json" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        demo_report.main(["--help"])
    assert info.value.code == 0
