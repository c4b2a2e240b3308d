"""checkpoint_schedule: updates (save after updates N, 2N, ..., G_step_<updates>) or release (save after updates
1, 1+N, ..., G_step_<updates + 99>, the release's file names, docs/method.md §6); sweeps and resume work on both."""
import csv
import re

import pytest
import torch

import fit
import inference
import process_set
from tools import best
from training import checkpoints as ckpt


def saved(schedule, save_every, total):
    """(updates after which a snapshot is saved, their file numbers) for a run of `total` updates."""
    steps = [s for s in range(1, total + 1) if ckpt.is_save_step(s, save_every, schedule, total)]
    return steps, [ckpt.checkpoint_index(s, schedule) for s in steps]


def test_updates_schedule_saves_every_n_under_its_update_count():
    assert saved("updates", 10, 35) == ([10, 20, 30, 35], [10, 20, 30, 35])
    assert ckpt.generator_checkpoint_path("run", 20).name == "G_step_20.pth"


def test_release_schedule_phase_and_names():
    # The release: baseline_model_<chunk * 100 + batch> saved when that index % 10 == 0, chunk from 1, so the
    # file index is updates + 99 and the saves fall after updates 1, 11, 21, ... (the last update is saved too).
    assert saved("release", 10, 35) == ([1, 11, 21, 31, 35], [100, 110, 120, 130, 134])
    # The NTIRE 2026 baseline: every 100 steps, index % 100 == 0.
    assert saved("release", 100, 250) == ([1, 101, 201, 250], [100, 200, 300, 349])
    # The published Efficient_ISP_unpaired_step_27220 is 27,121 generator updates, a release save step.
    assert ckpt.checkpoint_index(27121, "release") == 27220 and ckpt.is_save_step(27121, 10, "release")
    assert ckpt.generator_checkpoint_path("run", 27121, "release").name == "G_step_27220.pth"
    assert ckpt.generator_checkpoint_path("run", 0, "release").name == "G_step_0.pth"  # the starting generator


def test_unknown_schedule_is_a_config_error(tmp_path):
    from training.config_loader import ConfigError
    with pytest.raises(ConfigError, match="checkpoint_schedule 'weekly'"):
        fit.main(["--set", "checkpoint_schedule=weekly", f"out_dir={tmp_path}"])


def _overrides(root, out_dir, run_name, **extra):
    settings = dict(data_root=str(root), out_dir=str(out_dir), run_name=run_name, allow_random_backbones=True,
                    vit_model="vit_tiny_patch16_224", batch_size=2, num_workers=0, cache_dir="",
                    pretrained_generator="scratch", max_steps=3, save_every=2, d_every=2, sample_every=100,
                    log_every=100, checkpoint_schedule="release", patch_size=48,
                    feature_cache_dir=str(out_dir / "feature_cache"))
    settings.update(extra)
    return ["--set", *(f"{k}={v}" for k, v in settings.items())]


def _names(stage_dir):
    return sorted((p.name for p in (stage_dir / "checkpoints").glob("G_step_*.pth")),
                  key=lambda n: int(n[7:-4]))


def test_release_run_sweeps_and_resumes_exactly(tiny_fujifilm_root, tmp_path, capsys):
    assert fit.main(_overrides(tiny_fujifilm_root, tmp_path, "straight")) == 0
    straight = tmp_path / "straight" / "unpaired"
    assert _names(straight) == ["G_step_0.pth", "G_step_100.pth", "G_step_102.pth"]  # updates 1 and 3
    # Resume: 2 updates (saved after 1 and after the last, 2), then on to 3.
    assert fit.main(_overrides(tiny_fujifilm_root, tmp_path, "split", max_steps=2)) == 0
    assert _names(tmp_path / "split" / "unpaired") == ["G_step_0.pth", "G_step_100.pth", "G_step_101.pth"]
    assert fit.main(["--resume", str(tmp_path / "split"), "--set", "max_steps=3"]) == 0
    a = torch.load(straight / "checkpoints" / "G_step_102.pth", weights_only=True)
    b = torch.load(tmp_path / "split" / "unpaired" / "checkpoints" / "G_step_102.pth", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # The sweep reads the release's numbers: inference.py --mod/--rem, process_set.py's plan, tools.best.
    assert inference.main(["--run", str(straight), "--mod", "4", "--rem", "2", "--metrics", "psnr",
                           "--no-lpips", "--quiet"]) == 0
    out = straight / "eval_val"
    assert sorted(p.name for p in out.glob("*.csv")) == ["G_step_102.csv"]  # 102 % 4 == 2; 0 and 100 are not
    with open(out / "G_step_102.csv", newline="") as handle:
        assert {row["step"] for row in csv.DictReader(handle)} == {"102"}
    capsys.readouterr()
    assert process_set.main(["--run", str(straight), "--n", "4", "--step", "2", "--dry-run"]) == 0
    plan = capsys.readouterr().out
    assert "--mod 4 --rem 0" in plan and "--mod 4 --rem 2" in plan
    assert best.main([str(out)]) == 0
    # the ranking table's first row: rank 1, step 102 (the release-named checkpoint)
    assert re.search(r"^\s*1\s+102\s", capsys.readouterr().out, flags=re.MULTILINE)


def test_updates_run_names(tiny_fujifilm_root, tmp_path):
    assert fit.main(_overrides(tiny_fujifilm_root, tmp_path, "plain", checkpoint_schedule="updates")) == 0
    assert _names(tmp_path / "plain" / "unpaired") == ["G_step_0.pth", "G_step_2.pth", "G_step_3.pth"]
