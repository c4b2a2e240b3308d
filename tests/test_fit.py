"""fit.py: every stage runs, resume is exact, kills lose nothing, overrides are checked, DDP matches."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import fit
from training import checkpoints as ckpt
from training.config_loader import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]


def tiny_overrides(root, out_dir, run_name, **extra):
    """Small, fast settings: random backbones (warned), tiny ViT, 64 px images, batch 2."""
    settings = dict(data_root=str(root), out_dir=str(out_dir), run_name=run_name, allow_random_backbones=True,
                    vit_model="vit_tiny_patch16_224", batch_size=2, num_workers=0, cache_dir="",
                    pretrain_steps=2, max_steps=2, save_every=1, d_every=1, sample_every=1, log_every=1,
                    feature_cache_dir=str(Path(out_dir) / "feature_cache"))
    settings.update(extra)
    return [f"{k}={v}" for k, v in settings.items()]


def load_weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)


# --- configuration ---------------------------------------------------------------------------------

def test_overrides_are_typed_and_presets_apply():
    cfg = load_config(REPO / "config.py", ["max_steps=7", "g_betas=(0.0, 0.9)", "backbone=rmfa_tiny"])
    assert cfg["max_steps"] == 7 and cfg["g_betas"] == (0.0, 0.9)
    assert (cfg["g_lr"], cfg["d_lr"], cfg["d_every"]) == (1e-4, 5e-5, 4)  # RMFA preset
    cfg = load_config(REPO / "config.py", ["backbone=rmfa_tiny", "g_lr=3e-4", "d_lr=1"])
    assert cfg["g_lr"] == 3e-4 and cfg["d_lr"] == 1.0 and isinstance(cfg["d_lr"], float)
    assert load_config(REPO / "config.py")["g_lr"] == 5e-4


def test_unknown_key_lists_close_matches():
    with pytest.raises(ConfigError, match="did you mean max_steps"):
        load_config(REPO / "config.py", ["max_step=3"])


@pytest.mark.parametrize("override", ["max_steps=abc", "allow_random_backbones=1", "g_betas=0.5", "nokey"])
def test_wrong_types_are_errors(override):
    with pytest.raises(ConfigError):
        load_config(REPO / "config.py", [override])


def test_other_config_file(tmp_path):
    other = tmp_path / "other.py"
    other.write_text(re.sub(r"^max_steps = \d+", "max_steps = 11", (REPO / "config.py").read_text(), flags=re.M))
    assert load_config(other)["max_steps"] == 11


def test_cli_reports_bad_override(capsys):
    from cli import run_main
    assert run_main(fit.main, "fit.py", ["--set", "bacbone=robust_isp"]) == 2
    assert "did you mean backbone" in capsys.readouterr().err


# --- stages ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", ["unpaired", "paired", "paired_no_adv"])
def test_stage_runs_and_writes_checkpoints(stage, tiny_fujifilm_root, tmp_path):
    assert fit.main(["--set", *tiny_overrides(tiny_fujifilm_root, tmp_path, "run", stage=stage)]) == 0
    pre, main = tmp_path / "run" / "pretrain", tmp_path / "run" / stage
    assert sorted(p.name for p in (pre / "checkpoints").glob("G_step_*.pth")) == ["G_step_1.pth", "G_step_2.pth"]
    assert sorted(p.name for p in (main / "checkpoints").glob("G_step_*.pth")) == [
        "G_step_0.pth", "G_step_1.pth", "G_step_2.pth"]  # step 0: the starting generator, for the sweep
    start, pretrained = (load_weights(main / "checkpoints" / "G_step_0.pth"),
                         load_weights(pre / "checkpoints" / "G_step_2.pth"))
    assert all(torch.equal(start[k], pretrained[k]) for k in pretrained)
    state = ckpt.load_state(main / "checkpoints" / "last.pth")
    assert state["step"] == 2 and state["config"]["stage"] == stage
    expected_d = {"unpaired": {"color", "lin0", "lin3"}, "paired": {"lin0", "lin3"}, "paired_no_adv": set()}
    assert set(state["discriminators"]) == expected_d[stage]
    assert list((main / "samples").glob("*.png")) and list((main / "tb").glob("events.*"))
    # the main stage starts from the pretrained generator, and training changed it
    first = load_weights(main / "checkpoints" / "G_step_1.pth")
    last = load_weights(main / "checkpoints" / "G_step_2.pth")
    assert any(not torch.equal(first[k], last[k]) for k in first)


# The starting generator of these runs is a registry name resolved in a checkpoint cache of generated files
# (tests/conftest.py generated_checkpoints): the authors' weights play no part in what is checked.
DEMOSAIC_PRETRAIN = "efficient_isp_pretrain"


def _start_weights(cache):
    from pretrained import PUBLISHED
    return load_weights(cache / PUBLISHED[DEMOSAIC_PRETRAIN].repo_path)


def test_pretrained_generator_by_registry_name_skips_pretraining(tiny_fujifilm_root, tmp_path, generated_checkpoints):
    overrides = tiny_overrides(tiny_fujifilm_root, tmp_path, "run", max_steps=1, pretrained_generator=DEMOSAIC_PRETRAIN,
                               checkpoint_dir=generated_checkpoints)
    assert fit.main(["--set", *overrides]) == 0
    assert not (tmp_path / "run" / "pretrain").exists()
    published = _start_weights(generated_checkpoints)
    trained = load_weights(tmp_path / "run" / "unpaired" / "checkpoints" / "G_step_1.pth")
    delta = max((trained[k] - published[k].cpu()).abs().max().item() for k in published)
    assert 0 < delta < 1e-2  # one Adam step of lr 5e-4 away from the starting weights


# --- resume ----------------------------------------------------------------------------------------

def test_resume_is_exact(tiny_fujifilm_root, tmp_path, generated_checkpoints):
    common = dict(pretrained_generator=DEMOSAIC_PRETRAIN, checkpoint_dir=generated_checkpoints, d_every=2,
                  save_every=3, patch_size=48)
    assert fit.main(["--set", *tiny_overrides(tiny_fujifilm_root, tmp_path, "straight", max_steps=6, **common)]) == 0
    assert fit.main(["--set", *tiny_overrides(tiny_fujifilm_root, tmp_path, "split", max_steps=3, **common)]) == 0
    assert fit.main(["--resume", str(tmp_path / "split"), "--set", "max_steps=6"]) == 0
    straight = ckpt.load_state(tmp_path / "straight" / "unpaired" / "checkpoints" / "last.pth")
    split = ckpt.load_state(tmp_path / "split" / "unpaired" / "checkpoints" / "last.pth")
    assert straight["step"] == split["step"] == 6
    for key, value in straight["generator"].items():
        assert torch.equal(value, split["generator"][key]), key
    for name, state in straight["discriminators"].items():
        for key, value in state.items():
            assert torch.equal(value, split["discriminators"][name][key]), (name, key)


def test_killed_run_resumes(tiny_fujifilm_root, tmp_path):
    overrides = tiny_overrides(tiny_fujifilm_root, tmp_path, "killed", stage="pretrain", pretrain_steps=400,
                               sample_every=1000, log_every=1000)
    proc = subprocess.Popen([sys.executable, "fit.py", "--set", *overrides], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = tmp_path / "killed" / "pretrain" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(folder.glob("G_step_*.pth"))) < 5:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    snapshots = list(folder.glob("G_step_*.pth"))
    assert len(snapshots) >= 5, "run produced no checkpoints before the kill"
    for path in snapshots:
        load_weights(path)  # every published file loads
    state = ckpt.load_state(folder / "last.pth")
    newest = max(int(p.stem.split("_")[-1]) for p in snapshots)
    assert newest - state["step"] <= 1  # at most save_every (=1) steps lost
    assert fit.main(["--resume", str(tmp_path / "killed"), "--set", f"pretrain_steps={state['step'] + 2}"]) == 0
    assert ckpt.load_state(folder / "last.pth")["step"] == state["step"] + 2
    assert not [p for p in folder.iterdir() if p.suffix == ".tmp"]  # leftovers of the kill are swept


def test_atomic_save_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "G_step_1.pth"
    ckpt.atomic_save({"w": torch.ones(3)}, target)

    def broken_save(obj, handle):
        handle.write(b"partial")
        raise KeyboardInterrupt  # as if killed mid-write

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        ckpt.atomic_save({"w": torch.zeros(3)}, target)
    assert torch.equal(load_weights(target)["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["G_step_1.pth"]


# --- non-finite losses -----------------------------------------------------------------------------

def test_nan_loss_stops_naming_the_term(tiny_fujifilm_root, tmp_path, monkeypatch):
    import losses
    monkeypatch.setattr(losses, "tv_loss", lambda x: x.sum() * float("nan"))
    with pytest.raises(FloatingPointError, match="tv"):
        fit.main(["--set", *tiny_overrides(tiny_fujifilm_root, tmp_path, "nan", stage="pretrain")])
    assert (tmp_path / "nan" / "pretrain" / "nonfinite_step_1" / "report.json").exists()


def test_nan_loss_skip_policy_counts(tiny_fujifilm_root, tmp_path, monkeypatch):
    import losses
    monkeypatch.setattr(losses, "tv_loss", lambda x: x.sum() * float("nan"))
    overrides = tiny_overrides(tiny_fujifilm_root, tmp_path, "skip", stage="pretrain", nan_policy="skip")
    assert fit.main(["--set", *overrides]) == 0
    state = ckpt.load_state(tmp_path / "skip" / "pretrain" / "checkpoints" / "last.pth")
    assert state["skipped"] == 2 and state["step"] == 2


# --- torchrun --------------------------------------------------------------------------------------

def test_two_process_ddp_matches_single_process(tiny_fujifilm_root, tmp_path, generated_checkpoints):
    common = dict(pretrained_generator=DEMOSAIC_PRETRAIN, checkpoint_dir=generated_checkpoints, max_steps=2,
                  d_every=1, batch_size=4)
    single = tiny_overrides(tiny_fujifilm_root, tmp_path, "single", **common)
    double = tiny_overrides(tiny_fujifilm_root, tmp_path, "ddp", **common)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "fit.py", "--set", *single], cwd=REPO, check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                             "--standalone", "fit.py", "--set", *double], cwd=REPO, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    a = ckpt.load_state(tmp_path / "single" / "unpaired" / "checkpoints" / "last.pth")
    b = ckpt.load_state(tmp_path / "ddp" / "unpaired" / "checkpoints" / "last.pth")
    start = _start_weights(generated_checkpoints)
    # Gradients averaged over 2 ranks are summed in another order than one batch of 4: float32 rounding, which
    # Adam's normalisation can lift to ~1e-6 on a near-zero weight (0.3% of one step at lr 5e-4).
    for key, value in a["generator"].items():
        moved = (value - start[key].cpu()).abs().max().item()
        assert moved > 0
        torch.testing.assert_close(b["generator"][key], value, rtol=1e-4, atol=5e-6)
    for name, state in a["discriminators"].items():
        for key, value in state.items():
            torch.testing.assert_close(b["discriminators"][name][key], value, rtol=1e-4, atol=1e-6)


def nan_discriminator_loss(d, real, fake, gamma=10.0, penalty_scale=100.0):
    loss = d(real).mean() * float("nan")
    return loss, {"adv": loss.detach(), "r1": loss.detach(), "r2": loss.detach()}


def test_nan_discriminator_loss_stops_naming_it(tiny_fujifilm_root, tmp_path, monkeypatch, generated_checkpoints):
    import losses
    monkeypatch.setattr(losses, "discriminator_step_loss", nan_discriminator_loss)
    overrides = tiny_overrides(tiny_fujifilm_root, tmp_path, "dnan", pretrained_generator=DEMOSAIC_PRETRAIN,
                               checkpoint_dir=generated_checkpoints)
    with pytest.raises(FloatingPointError, match="D_lin0"):
        fit.main(["--set", *overrides])
    assert (tmp_path / "dnan" / "unpaired" / "nonfinite_step_1" / "report.json").exists()


def test_nan_discriminator_loss_skip_policy_counts(tiny_fujifilm_root, tmp_path, monkeypatch, generated_checkpoints):
    import losses
    monkeypatch.setattr(losses, "discriminator_step_loss", nan_discriminator_loss)
    overrides = tiny_overrides(tiny_fujifilm_root, tmp_path, "dskip", nan_policy="skip",
                               pretrained_generator=DEMOSAIC_PRETRAIN, checkpoint_dir=generated_checkpoints)
    assert fit.main(["--set", *overrides]) == 0
    state = ckpt.load_state(tmp_path / "dskip" / "unpaired" / "checkpoints" / "last.pth")
    assert state["skipped"] == 2 and state["step"] == 2  # one skipped D update per step (d_every=1)
    before = {k: v.clone() for k, v in state["discriminators"]["lin0"].items()}
    assert all(torch.isfinite(v).all() for v in before.values())


# --- DLA low-gradient warning ----------------------------------------------------------------------

def _event_texts(tb_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tb_dir), size_guidance={"tensors": 0})
    events.Reload()
    return {tag: [e.step for e in events.Tensors(tag)] for tag in events.Tags()["tensors"]}


def test_low_gradient_warning_once_per_term(tmp_path, capsys):
    from training.monitor import Monitor
    monitor = Monitor(tmp_path, enabled=True)
    eps = 1e-8
    # below 10 x eps warns; exactly at it and above does not
    assert monitor.warn_low_gradient_norms(3, {"content": 9.9e-8, "tv": 1e-7, "adv": 0.5}, eps) == ["content"]
    assert monitor.warn_low_gradient_norms(4, {"content": 1e-10, "tv": 2e-9, "adv": 0.5}, eps) == ["tv"]
    assert monitor.warn_low_gradient_norms(5, {"content": 1e-10, "tv": 2e-9}, eps) == []
    monitor.close()
    err = capsys.readouterr().err
    assert err.count("WARNING: DLA") == 2 and "'content'" in err and "'tv'" in err
    # the share a term still gets: norm / (norm + eps) = 9.9e-8 / 1.09e-7 = 0.908
    assert "0.91 of its share" in err
    texts = _event_texts(tmp_path / "tb")
    assert texts == {"warnings/dla_low_gradient/content/text_summary": [3],
                     "warnings/dla_low_gradient/tv/text_summary": [4]}


def test_fit_warns_about_low_gradient_terms_once(tiny_fujifilm_root, tmp_path, capsys):
    # dla_eps far above every gradient norm: every term is "low" at step 1, and said once over 3 steps
    overrides = tiny_overrides(tiny_fujifilm_root, tmp_path, "low", stage="pretrain", pretrain_steps=3, dla_eps=1e3)
    assert fit.main(["--set", *overrides]) == 0
    err = capsys.readouterr().err
    for term in ("content", "mse", "tv"):
        assert err.count(f"term '{term}'") == 1, err[-2000:]
