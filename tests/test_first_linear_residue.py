"""The release's gradient residue on the texture discriminators' untrained first linear layer.

fit.py's own step (Trainer._train_step) runs two generator steps and one discriminator update; the
test replays them the way the release's code does them, with plain autograd: the raw adversarial
term backward once and the DLA-scaled term backward twice (all accumulating into fc1's .grad), the D
loss written out with its R1/R2 penalties, the clip written out over every gradient including the
residue, and Adam on every layer but fc1 (docs/method.md §3).

Both sides run in float64: with random backbones a term's generator gradient can be ~1e-7, so its
DLA scale is ~1e6 and float32 rounding of the two computations would dominate the comparison.
"""
import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import default_collate

import fit
from training.config_loader import load_config
from training.distributed import DistInfo
from training.monitor import Monitor

REPO = Path(__file__).resolve().parents[1]
TEXTURE = ("lin0", "lin3")


def make_trainer(root, tmp_path, **extra):
    settings = dict(data_root=str(root), allow_random_backbones=True, vit_model="vit_tiny_patch16_224",
                    batch_size=2, num_workers=0, cache_dir="", d_every=2, max_steps=3, log_every=1000,
                    sample_every=1000, feature_cache=False)
    settings.update(extra)
    cfg = load_config(REPO / "config.py", [f"{k}={v}" for k, v in settings.items()])
    return fit.Trainer("unpaired", cfg, tmp_path / "unpaired", None, DistInfo(), torch.device("cpu"))


def release_generator_step(generator, discs, texture, batch):
    """Accumulate into each fc1.grad what the release's generator step leaves there."""
    fake = generator(batch["raw"])
    with torch.no_grad():
        real_maps = dict(zip(TEXTURE, texture(batch["target"])))
    fake_maps = dict(zip(TEXTURE, texture(fake)))
    params = list(generator.parameters())
    for name in TEXTURE:
        d = discs[name]
        loss = F.softplus(-(d(fake_maps[name]).flatten() - d(real_maps[name]).flatten())).mean()
        grads = torch.autograd.grad(loss, params, retain_graph=True)
        scale = 1.0 / (torch.sqrt(sum((g ** 2).sum() for g in grads)) + 1e-8)
        loss.backward(retain_graph=True)               # raw term, to measure the scale
        (scale * loss).backward(retain_graph=True)     # scaled term, for logging
        (scale * loss).backward(retain_graph=True)     # scaled term, inside the total
    return real_maps, {k: v.detach() for k, v in fake_maps.items()}


def release_discriminator_update(d, optimizer, real, fake, clip=1.0):
    optimizer.zero_grad(set_to_none=True)  # its own parameters only: fc1 keeps its .grad
    real, fake = real.detach().requires_grad_(True), fake.detach().requires_grad_(True)
    d_real, d_fake = d(real).flatten(), d(fake).flatten()
    g_real, = torch.autograd.grad(d_real.sum(), real, create_graph=True)
    g_fake, = torch.autograd.grad(d_fake.sum(), fake, create_graph=True)
    r1 = g_real.pow(2).flatten(1).sum(1) * 100
    r2 = g_fake.pow(2).flatten(1).sum(1) * 100
    (F.softplus(-(d_real - d_fake)) + 10 / 2 * (r1 + r2)).mean().backward()
    grads = [p.grad for p in d.parameters() if p.grad is not None]
    total = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))
    coefficient = min(1.0, clip / (float(total) + 1e-6))
    for g in grads:
        g.mul_(coefficient)
    optimizer.step()
    return float(total)


@pytest.fixture()
def batches(tiny_fujifilm_root):
    from data import ISPDataset
    ds = ISPDataset(tiny_fujifilm_root, preset="fujifilm", split="train", input_kind="packed4", paired=False,
                    reference="menon", seed=0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # networks built by the test are float64 too
    yield [{k: v.double() if torch.is_tensor(v) else v for k, v in default_collate([ds[i], ds[i + 1]]).items()}
           for i in (0, 2)]
    torch.set_default_dtype(previous)


def test_residue_matches_the_release_procedure(tiny_fujifilm_root, tmp_path, batches):
    trainer = make_trainer(tiny_fujifilm_root, tmp_path)
    discs = {k: copy.deepcopy(trainer.kit.discriminators[k]) for k in TEXTURE}
    initial_fc1 = {k: discs[k].fc1.weight.detach().clone() for k in TEXTURE}
    optimizers = {k: torch.optim.Adam([p for n, p in discs[k].named_parameters() if not n.startswith("fc1.")],
                                      lr=trainer.cfg["d_lr"], betas=trainer.cfg["d_betas"]) for k in TEXTURE}
    params = list(trainer.generator.parameters())
    monitor = Monitor(tmp_path / "mon", enabled=False)

    trainer.step = 1  # the next steps are 2 (generator only) and 3 (generator, then D: 3 - 1 = 2 * d_every)
    for batch in batches:
        generator_before = copy.deepcopy(trainer.generator)
        real_maps, fake_maps = release_generator_step(generator_before, discs, trainer.kit.texture, batch)
        trainer.step += 1
        trainer._train_step(batch, params, monitor)
    norms = {k: release_discriminator_update(discs[k], optimizers[k], real_maps[k], fake_maps[k]) for k in TEXTURE}

    for name in TEXTURE:
        ours = trainer.kit.discriminators[name]
        assert norms[name] > 1.0, "the clip must be active for this test to see its factor"
        torch.testing.assert_close(ours.fc1.weight.grad, discs[name].fc1.weight.grad, rtol=1e-7, atol=1e-12)
        torch.testing.assert_close(ours.fc1.bias.grad, discs[name].fc1.bias.grad, rtol=1e-7, atol=1e-12)
        assert torch.equal(ours.fc1.weight, initial_fc1[name])  # never trained
        for (key, value), expected in zip(ours.named_parameters(), discs[name].parameters()):
            torch.testing.assert_close(value, expected, rtol=1e-9, atol=1e-12, msg=f"{name}.{key}")


def test_residue_changes_training_and_resumes(tiny_fujifilm_root, tmp_path, batches):
    """Without the emulation the discriminator update differs (the residue dominates the clip), and
    the residue is part of the state that --resume restores."""
    on = make_trainer(tiny_fujifilm_root, tmp_path / "on")
    off = make_trainer(tiny_fujifilm_root, tmp_path / "off", emulate_first_linear_residue=False)
    monitor = Monitor(tmp_path / "mon", enabled=False)
    for trainer in (on, off):
        trainer.step = 0
        for batch in batches:
            trainer.step += 1
            trainer._train_step(batch, list(trainer.generator.parameters()), monitor)
    assert off.kit.discriminators["lin0"].fc1.weight.grad is None
    moved_on = on.kit.discriminators["lin0"].features[0].weight
    moved_off = off.kit.discriminators["lin0"].features[0].weight
    assert not torch.allclose(moved_on, moved_off, rtol=0, atol=1e-9)

    state = on.state()
    again = make_trainer(tiny_fujifilm_root, tmp_path / "again")
    again.restore(state)
    for name in TEXTURE:
        assert torch.equal(again.kit.discriminators[name].fc1.weight.grad,
                           on.kit.discriminators[name].fc1.weight.grad)
