"""Speed switches (training/acceleration.py): each runs one fit.py step on CPU and stays within its
numerical budget of the float32 step from the same start; the wiring; loader keys. No GPU needed."""
import copy
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import fit
from training.acceleration import autocast_forward, configure_acceleration
from training.config_loader import ConfigError, load_config
from training.distributed import DistInfo
from training.monitor import Monitor
from training.sampling import make_loader

REPO = Path(__file__).resolve().parents[1]
SWITCHES = {"cudnn_benchmark": True, "channels_last": True, "frozen_autocast": "bf16", "generator_autocast": "",
            "discriminator_autocast": "", "torch_compile": False}


class _TwoMaps(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        return y, 2 * y


def _kit():
    return SimpleNamespace(vgg=nn.Conv2d(3, 8, 3), texture=_TwoMaps(), color=nn.Linear(6, 5), lpips_plus=None,
                           dists=None, discriminators={"lin0": nn.Conv2d(4, 2, 3), "color": nn.Linear(5, 1)})


@pytest.fixture
def restore_backends():
    saved = torch.backends.cudnn.benchmark, torch.backends.mkldnn.enabled
    yield
    torch.backends.cudnn.benchmark, torch.backends.mkldnn.enabled = saved


def test_autocast_forward_is_in_place_and_returns_float32():
    torch.manual_seed(0)
    net, x = _TwoMaps(), torch.rand(2, 3, 8, 8)
    expected = net(x)
    keys = list(net.state_dict())
    autocast_forward(net, "cpu", torch.bfloat16)
    got = net(x)
    assert list(net.state_dict()) == keys and isinstance(net, _TwoMaps)
    for g, e in zip(got, expected):
        gap = ((g - e).norm() / e.norm()).item()
        assert g.dtype == torch.float32 and 0 < gap < 1e-2  # bf16 rounding (8 bits), not float32's
    twin = copy.deepcopy(net)  # the copy runs its own weights
    with torch.no_grad():
        twin.conv.weight.zero_()
        twin.conv.bias.zero_()
    assert torch.equal(twin(x)[0], torch.zeros_like(got[0])) and torch.equal(net(x)[0], got[0])


def test_wiring(restore_backends):
    torch.backends.cudnn.benchmark = False
    kit, generator = _kit(), nn.Conv2d(4, 12, 3)
    configure_acceleration(SWITCHES, torch.device("cpu"), generator, kit)
    assert torch.backends.cudnn.benchmark is False  # a cuDNN flag: CUDA only
    for conv in (generator, kit.vgg, kit.discriminators["lin0"]):
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert all(getattr(kit, n).autocast_setting == ("cpu", torch.bfloat16) for n in ("vgg", "texture", "color"))
    assert not hasattr(generator, "autocast_setting") and not hasattr(kit.discriminators["color"], "autocast_setting")
    configure_acceleration(SWITCHES, torch.device("cuda"), nn.Conv2d(4, 12, 3), _kit())  # no GPU needed
    assert torch.backends.cudnn.benchmark is True
    with pytest.raises(ConfigError, match="generator_autocast"):
        configure_acceleration({**SWITCHES, "generator_autocast": "fp8"}, torch.device("cpu"), generator, _kit())


# --- one step per switch, against float32 ---------------------------------------------------------

def _step(root, tmp_path, stage, **switches) -> dict:
    """First fit.py step (seeded start, first batch): loss values and the generator's gradient."""
    settings = dict(data_root=str(root), out_dir=str(tmp_path), allow_random_backbones=True,
                    vit_model="vit_tiny_patch16_224", batch_size=2, num_workers=0, cache_dir="", d_every=1,
                    feature_cache=False, log_every=10**6, sample_every=10**6, lambdas={"content": 0.0}
                    if stage == "pretrain" else {}, **switches)
    cfg = load_config(REPO / "config.py", [f"{k}={v}" for k, v in settings.items()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random backbones; oneDNN notice
        trainer = fit.Trainer(stage, cfg, tmp_path / stage, None, DistInfo(), torch.device("cpu"))
    batch = next(iter(make_loader(trainer.dataset, trainer.cfg, 0, 1, 0, 1, pin_memory=False)))
    params = list(trainer.generator.parameters())
    trainer.step = 1
    logs = trainer._train_step(batch, params, Monitor(tmp_path / "mon", False))
    return {"losses": {k: v for k, v in logs.items() if k.startswith(("raw/", "D/"))},
            "grad": torch.cat([p.grad.flatten() for p in params])}


@pytest.fixture(scope="module")
def float32_step(tiny_fujifilm_root, tmp_path_factory):
    return {stage: _step(tiny_fujifilm_root, tmp_path_factory.mktemp(stage), stage) for stage in ("unpaired",)}


def _gaps(result, base):
    losses = max(abs(result["losses"][k] - v) / max(abs(v), 1e-12) for k, v in base["losses"].items())
    grad = ((result["grad"] - base["grad"]).norm() / base["grad"].norm()).item()
    return losses, grad


# switch, value, max relative gap of the loss values and of the generator's gradient (bench_switches
# measures the same gaps; bf16 keeps 8 significant bits)
@pytest.mark.parametrize("key,value,loss_budget,grad_budget", [
    ("cudnn_benchmark", False, 1e-4, 1e-3), ("channels_last", True, 1e-4, 1e-3),
    ("frozen_autocast", "bf16", 0.1, 0.5), ("generator_autocast", "bf16", 0.1, 0.5),
    ("discriminator_autocast", "bf16", 0.1, 0.5)])
def test_switch_runs_one_step_within_budget(key, value, loss_budget, grad_budget, float32_step, tiny_fujifilm_root,
                                            tmp_path, restore_backends):
    loss_gap, grad_gap = _gaps(_step(tiny_fujifilm_root, tmp_path, "unpaired", **{key: value}),
                               float32_step["unpaired"])
    assert loss_gap <= loss_budget and grad_gap <= grad_budget
    if value in ("bf16", "fp16"):
        assert loss_gap > 0  # autocast did run in reduced precision


def test_torch_compile_runs_one_step(tiny_fujifilm_root, tmp_path):
    # The tiniest compiled step: pretraining with the content term at weight 0 compiles the generator only
    # (the VGG is compiled lazily and never called).
    plain = _step(tiny_fujifilm_root, tmp_path / "plain", "pretrain")
    compiled = _step(tiny_fujifilm_root, tmp_path / "compiled", "pretrain", torch_compile=True)
    loss_gap, grad_gap = _gaps(compiled, plain)
    assert loss_gap < 1e-5 and grad_gap < 1e-4


def test_loader_keys():
    data = list(range(8))
    cfg = {"batch_size": 2, "seed": 0, "num_workers": 0, "prefetch_factor": 4, "persistent_workers": True}
    loader = make_loader(data, cfg, 0, 3, 0, 1, pin_memory=False)
    assert not loader.persistent_workers and loader.prefetch_factor is None  # no workers: nothing to keep
    loader = make_loader(data, dict(cfg, num_workers=1), 0, 3, 0, 1, pin_memory=False)
    assert loader.persistent_workers and loader.prefetch_factor == 4
    assert len(list(loader)) == 3


def test_renamed_frozen_bf16_key_still_loads():
    """A run saved before frozen_autocast existed (config.json with frozen_bf16) resumes with the same meaning."""
    from pathlib import Path

    from training.config_loader import apply_overrides, load_config

    cfg = load_config(Path(__file__).resolve().parents[1] / "config.py")
    assert apply_overrides(cfg, {"frozen_bf16": True})["frozen_autocast"] == "bf16"
    assert apply_overrides(cfg, {"frozen_bf16": False})["frozen_autocast"] == ""
    assert apply_overrides(cfg, ["frozen_bf16=True"])["frozen_autocast"] == "bf16"
