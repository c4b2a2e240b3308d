"""CUDA speed switches (training/acceleration.py) and loader keys: no-ops on CPU, wired as documented.

No GPU is needed: configure_cuda only reads the device type, so passing "cuda" exercises its wiring on
CPU modules (nothing is moved to a device)."""
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from training.acceleration import Bf16Extractor, configure_cuda
from training.sampling import make_loader

SWITCHES = {"cudnn_benchmark": True, "channels_last": True, "frozen_bf16": True}


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
def restore_cudnn():
    saved = torch.backends.cudnn.benchmark
    yield
    torch.backends.cudnn.benchmark = saved


def test_cpu_is_untouched(restore_cudnn):
    torch.backends.cudnn.benchmark = False
    kit, generator = _kit(), nn.Conv2d(4, 12, 3)
    modules = (kit.vgg, kit.texture, kit.color)
    configure_cuda(SWITCHES, torch.device("cpu"), generator, kit)
    assert (kit.vgg, kit.texture, kit.color) == modules
    assert generator.weight.is_contiguous() and kit.vgg.weight.is_contiguous()
    assert torch.backends.cudnn.benchmark is False


def test_cuda_wiring(restore_cudnn):
    kit, generator = _kit(), nn.Conv2d(4, 12, 3)
    vgg = kit.vgg
    configure_cuda(SWITCHES, torch.device("cuda"), generator, kit)
    assert torch.backends.cudnn.benchmark is True
    for conv in (generator, vgg, kit.discriminators["lin0"]):
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert all(isinstance(getattr(kit, n), Bf16Extractor) for n in ("vgg", "texture", "color"))
    assert kit.vgg.extractor is vgg
    assert isinstance(kit.discriminators["color"], nn.Linear)  # discriminators stay float32 modules


@pytest.mark.filterwarnings("ignore:CUDA is not available")
def test_bf16_wrapper_returns_float32_like_the_extractor():
    torch.manual_seed(0)
    inner = _TwoMaps()
    x = torch.rand(2, 3, 8, 8)
    wrapped = Bf16Extractor(inner)(x)  # CUDA autocast does not touch CPU ops: same values here
    expected = inner(x)
    assert all(w.dtype == torch.float32 and torch.equal(w, e) for w, e in zip(wrapped, expected))


def test_loader_keys():
    data = list(range(8))
    cfg = {"batch_size": 2, "seed": 0, "num_workers": 0, "prefetch_factor": 4, "persistent_workers": True}
    loader = make_loader(data, cfg, 0, 3, 0, 1, pin_memory=False)
    assert not loader.persistent_workers and loader.prefetch_factor is None  # no workers: nothing to keep
    loader = make_loader(data, dict(cfg, num_workers=1), 0, 3, 0, 1, pin_memory=False)
    assert loader.persistent_workers and loader.prefetch_factor == 4
    assert len(list(loader)) == 3
