"""Terms of weight 0 are not computed (skip_zero_weight_terms): their networks are never called, a
discriminator of weight 0 is neither run nor updated, and the generator's update is the one of the full
loss with that term at weight 0 (Dynamic Loss Adaptation and Adam written out here)."""
import copy
import warnings
from pathlib import Path

import pytest
import torch

import fit
from training.config_loader import ConfigError, load_config
from training.distributed import DistInfo
from training.monitor import Monitor
from training.sampling import make_loader

REPO = Path(__file__).resolve().parents[1]


def tiny_config(root, tmp_path, **extra):
    settings = dict(data_root=str(root), out_dir=str(tmp_path), allow_random_backbones=True,
                    vit_model="vit_tiny_patch16_224", batch_size=2, num_workers=0, cache_dir="", d_every=1,
                    feature_cache=False, log_every=10**6, sample_every=10**6, **extra)
    return load_config(REPO / "config.py", [f"{k}={v}" for k, v in settings.items()])


def make_trainer(stage, cfg, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random backbones
        return fit.Trainer(stage, cfg, tmp_path / stage, None, DistInfo(), torch.device("cpu"))


def count_calls(module) -> list:
    calls = []
    module.register_forward_hook(lambda *_: calls.append(1))
    return calls


def one_step(trainer, tmp_path) -> dict:
    batch = next(iter(make_loader(trainer.dataset, trainer.cfg, 0, 1, 0, 1, pin_memory=False)))
    trainer.step = 1
    return trainer._train_step(batch, list(trainer.generator.parameters()), Monitor(tmp_path / "mon", False))


def test_zero_weight_content_is_skipped_and_the_update_is_unchanged(tiny_fujifilm_root, tmp_path):
    cfg = tiny_config(tiny_fujifilm_root, tmp_path, lambdas={"content": 0.0, "tv": 0.5})
    trainer = make_trainer("pretrain", cfg, tmp_path)
    start = copy.deepcopy(trainer.generator)
    vgg_calls = count_calls(trainer.kit.vgg)
    batch = next(iter(make_loader(trainer.dataset, trainer.cfg, 0, 1, 0, 1, pin_memory=False)))
    logs = one_step(trainer, tmp_path)
    assert vgg_calls == [] and "raw/content" not in logs and {"raw/mse", "raw/tv"} <= logs.keys()

    # Reference: every term computed (the content term through the same VGG, weight 0), DLA by hand:
    # grad = sum_i lambda_i g_i / (||g_i|| + eps), then one Adam step from the same start.
    params = list(start.parameters())
    fake, goal = start(batch["raw"]), batch["reference"]
    terms = {"content": (trainer.kit.vgg(fake) - trainer.kit.vgg(goal)).pow(2).mean(),
             "mse": (fake - goal).pow(2).mean(),
             "tv": ((fake[:, :, 1:] - fake[:, :, :-1]).pow(2).mean(dim=(1, 2, 3))
                    + (fake[..., 1:] - fake[..., :-1]).pow(2).mean(dim=(1, 2, 3))).mean()}
    assert vgg_calls == [1, 1]  # the hook does see the network when it runs
    lambdas = {"content": 0.0, "mse": 1.0, "tv": 0.5}
    combined = [torch.zeros_like(p) for p in params]
    for name, term in terms.items():
        grads = torch.autograd.grad(term, params, retain_graph=True)
        norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
        combined = [c + lambdas[name] * g / (norm + cfg["dla_eps"]) for c, g in zip(combined, grads)]
    optimizer = torch.optim.Adam(params, lr=cfg["g_lr"], betas=tuple(cfg["g_betas"]))
    for p, g in zip(params, combined):
        p.grad = g
    optimizer.step()
    for (name, got), want in zip(trainer.generator.named_parameters(), params):
        assert torch.allclose(got, want, rtol=1e-5, atol=1e-7), name


def test_zero_weight_discriminator_is_neither_run_nor_updated(tiny_fujifilm_root, tmp_path):
    lambdas = {"adv_color": 0.0}
    skipped = make_trainer("unpaired", tiny_config(tiny_fujifilm_root, tmp_path, lambdas=lambdas), tmp_path)
    computed = make_trainer("unpaired", tiny_config(tiny_fujifilm_root, tmp_path, lambdas=lambdas,
                                                    skip_zero_weight_terms=False), tmp_path)
    vit_calls, color_d_calls = count_calls(skipped.kit.color), count_calls(skipped.kit.discriminators["color"])
    color_d = copy.deepcopy(skipped.kit.discriminators["color"].state_dict())
    lin0 = copy.deepcopy(skipped.kit.discriminators["lin0"].state_dict())
    logs = one_step(skipped, tmp_path)
    reference_logs = one_step(computed, tmp_path)
    assert vit_calls == [] and color_d_calls == []
    assert not any("color" in key for key in logs) and "raw/adv_color" in reference_logs
    after = skipped.kit.discriminators["color"].state_dict()
    assert all(torch.equal(after[k], v) for k, v in color_d.items())
    assert any(not torch.equal(skipped.kit.discriminators["lin0"].state_dict()[k], v) for k, v in lin0.items())
    # The computed term at weight 0 adds nothing to the generator's update.
    for (name, got), (_, want) in zip(skipped.generator.named_parameters(), computed.generator.named_parameters()):
        assert torch.allclose(got, want, rtol=1e-6, atol=1e-8), name
    for key in ("raw/content", "raw/adv_lin0", "raw/adv_lin3", "raw/tv", "D/lin0/loss"):
        assert logs[key] == pytest.approx(reference_logs[key], rel=1e-5), key


def test_every_term_at_weight_zero_is_refused(tiny_fujifilm_root, tmp_path):
    cfg = tiny_config(tiny_fujifilm_root, tmp_path, lambdas={"content": 0.0, "mse": 0.0, "tv": 0.0})
    with pytest.raises(ConfigError, match="weight 0"):
        make_trainer("pretrain", cfg, tmp_path)
