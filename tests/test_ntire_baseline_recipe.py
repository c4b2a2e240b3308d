"""recipes/ntire2026_efficient_isp_baseline.py: the NTIRE 2026 organisers' baseline training, one test per point
where it differs from the release (docs/method.md §9), and everything else the release's (config.py)."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import fit
from training import checkpoints as ckpt
from training.config_loader import load_config

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes" / "ntire2026_efficient_isp_baseline.py"
# The keys the recipe changes, with the baseline's values; every other key is config.py's.
BASELINE = {"dataset": "ntire2026", "demosaic": "grayworld", "batch_size": 16, "target_pairing": "index",
            "pretrained_generator": "scratch", "save_every": 100, "checkpoint_schedule": "release"}
OWN = {"run_name", "data_root"}  # where the run goes and the placeholder users edit


@pytest.fixture(scope="module")
def recipe():
    return load_config(RECIPE)


@pytest.fixture(scope="module")
def ntire_root(tmp_path_factory):
    from data.synth.synthetic_ntire import make_synthetic_ntire
    root = tmp_path_factory.mktemp("ntire_recipe") / "ntire2026"
    return make_synthetic_ntire(root, counts={"train": 4, "val": 2, "test": 0}, size=64, seed=0)


def test_batch_16(recipe):
    assert recipe["batch_size"] == 16


def test_everything_else_is_the_release(recipe):
    defaults = load_config(REPO / "config.py")
    changed = {key for key in defaults if recipe[key] != defaults[key]}
    assert changed == set(BASELINE) | OWN
    assert {key: recipe[key] for key in BASELINE} == BASELINE
    # The release values themselves (docs/method.md §5-6), written out.
    assert (recipe["stage"], recipe["backbone"]) == ("unpaired", "efficient_isp")
    assert (recipe["g_lr"], recipe["g_betas"], recipe["d_lr"], recipe["d_betas"]) == (5e-4, (0.5, 0.9), 1e-5,
                                                                                      (0.5, 0.9))
    assert (recipe["d_every"], recipe["r1_gamma"], recipe["penalty_scale"], recipe["d_grad_clip"]) == (10, 10.0,
                                                                                                       100.0, 1.0)
    assert recipe["dla"] is True and recipe["lambdas"] == {} and recipe["train_split"] == "train"
    assert recipe["train_indices"] == "" and recipe["patch_size"] == 0
    assert recipe["data_root"] == "datasets/ntire2026" and "EDIT" in RECIPE.read_text()


def test_every_100_steps_in_the_release_phase(recipe):
    steps = [s for s in range(1, 351) if ckpt.is_save_step(s, recipe["save_every"], recipe["checkpoint_schedule"])]
    assert steps == [1, 101, 201, 301]  # right after the D updates at 1, 11, 21, ...
    names = [ckpt.generator_checkpoint_path("r", s, recipe["checkpoint_schedule"]).name for s in steps]
    assert names == ["G_step_100.pth", "G_step_200.pth", "G_step_300.pth", "G_step_400.pth"]  # index % 100 == 0


def test_index_pairing_and_grayworld_reference(recipe, ntire_root):
    cfg = dict(recipe, data_root=str(ntire_root), cache_dir="")
    dataset = fit.make_dataset("unpaired", cfg, "packed4")
    assert dataset.reference == "grayworld"
    raws = sorted(p.name for p in (ntire_root / "train" / "raws").glob("*.npy"))
    jpegs = sorted(p.name for p in (ntire_root / "train" / "jpegs").glob("*.jpg"))
    expected = {raw[:-4]: jpeg for raw, jpeg in zip(raws, jpegs)}  # RAW i with JPEG i, both sorted by name
    assert {name: path.name for name, path in zip(dataset.names, dataset.target_paths)} == expected
    assert dataset[0]["reference"].shape == (3, 64, 64)


def _default_init(seed):
    """PyTorch's Conv2d initialisation written out (kaiming_uniform_(a=sqrt(5)) then the bias), in the order the
    Efficient ISP creates its convolutions 4 -> 12 -> 12 -> 12, 3x3."""
    torch.manual_seed(seed)
    weights = {}
    for name, (c_in, c_out) in {"conv1": (4, 12), "conv2": (12, 12), "conv3": (12, 12)}.items():
        fan_in = c_in * 9
        gain = math.sqrt(2.0 / (1 + 5))  # leaky_relu gain with a = sqrt(5)
        bound = math.sqrt(3.0) * gain / math.sqrt(fan_in)
        weights[f"{name}.weight"] = torch.empty(c_out, c_in, 3, 3).uniform_(-bound, bound)
        weights[f"{name}.bias"] = torch.empty(c_out).uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
    return weights


def test_from_scratch_with_default_init_and_no_pretrain_stage(recipe, ntire_root, tmp_path):
    overrides = [f"data_root={ntire_root}", f"out_dir={tmp_path}", "allow_random_backbones=True",
                 "vit_model=vit_tiny_patch16_224", "batch_size=2", "num_workers=0", "cache_dir=", "max_steps=1",
                 "seed=3", f"feature_cache_dir={tmp_path / 'features'}"]
    assert fit.main(["--config", str(RECIPE), "--set", *overrides]) == 0
    run = tmp_path / recipe["run_name"]
    assert not (run / "pretrain").exists()  # "scratch": no pretraining stage ran
    checkpoints = run / "unpaired" / "checkpoints"
    assert sorted(p.name for p in checkpoints.glob("G_step_*.pth")) == ["G_step_0.pth", "G_step_100.pth"]
    start = torch.load(checkpoints / "G_step_0.pth", weights_only=True)
    expected = _default_init(3)
    assert set(start) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(start[key].numpy(), value.numpy(), rtol=0, atol=1e-7, err_msg=key)
