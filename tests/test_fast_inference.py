"""Fast inference paths (strip-tiled runner, fused AVX2 kernel) must equal the eager Efficient ISP."""
import pytest
import torch
from torch import nn

from models import build_generator
from tools.fast_inference import FusedThreeConvISP, StripRunner, conv_halo, fused_kernel_available

# The claim (README, runtime/fused_efficient_isp.py): the fused output is eager's up to float32 round-off,
# at most 16 rounding steps (eps) of the output's scale; measured 1.9e-7 at Full HD with default init.
ROUNDOFF_STEPS = 16


def _roundoff_bound(ref: torch.Tensor) -> float:
    return ROUNDOFF_STEPS * torch.finfo(torch.float32).eps * ref.abs().max().item()


def _net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    net = build_generator("efficient_isp").eval()
    # Larger weights than the default init so tanh saturates and ReLU clips: every branch is exercised.
    for conv in (net.conv1, net.conv2, net.conv3):
        nn.init.normal_(conv.weight, std=0.4)
        nn.init.normal_(conv.bias, std=0.2)
    return net


def _eager(net, x):
    with torch.inference_mode():
        return net(x)


def test_halo_is_three_rows_for_three_convs():
    assert conv_halo(build_generator("efficient_isp")) == 3


@pytest.mark.parametrize("strip_rows,workers,channels_last", [(1, 2, True), (5, 2, False), (64, 1, True)])
def test_strip_runner_equals_eager(strip_rows, workers, channels_last):
    net = _net()
    x = torch.rand(2, 4, 23, 37)
    runner = StripRunner(net, strip_rows=strip_rows, workers=workers, channels_last=channels_last)
    try:
        out = runner(x)
    finally:
        runner.close()
    ref = _eager(net, x)
    assert out.shape == ref.shape == (2, 3, 46, 74)
    assert (out - ref).abs().max().item() < 1e-4
    assert ref.abs().max().item() > 1.0  # non-trivial output, so equality means something


@pytest.mark.skipif(not fused_kernel_available(), reason="fused kernel needs an AVX2+FMA x86 CPU")
@pytest.mark.parametrize("shape,band_rows", [((1, 4, 7, 13), 1), ((2, 4, 21, 40), 4), ((1, 4, 33, 17), 68)])
def test_fused_kernel_equals_eager(shape, band_rows):
    net = _net(1)
    x = torch.randn(shape)
    fused = FusedThreeConvISP(net, band_rows=band_rows)
    ref = _eager(net, x)
    out = fused(x)
    assert out.shape == ref.shape
    assert (out - ref).abs().max().item() <= _roundoff_bound(ref)
    buffer = torch.full_like(ref, float("nan"))
    assert fused(x, out=buffer) is not None
    assert (buffer - ref).abs().max().item() <= _roundoff_bound(ref)  # every output element written, none NaN


@pytest.mark.skipif(not fused_kernel_available(), reason="fused kernel needs an AVX2+FMA x86 CPU")
def test_fused_kernel_rejects_bad_input():
    fused = FusedThreeConvISP(_net())
    with pytest.raises(ValueError, match="float32"):
        fused(torch.rand(1, 3, 8, 8))
    with pytest.raises(RuntimeError, match="out must be"):
        fused(torch.rand(1, 4, 8, 8), out=torch.empty(1, 3, 8, 8))
    with pytest.raises(ValueError, match="winograd_tile"):
        FusedThreeConvISP(_net(), winograd_tile=3)
    with pytest.raises(ValueError, match="Efficient ISP only"):
        FusedThreeConvISP(build_generator("robust_isp"))


@pytest.mark.skipif(not fused_kernel_available(), reason="fused kernel needs an AVX2+FMA x86 CPU")
@pytest.mark.parametrize("shape", [(1, 4, 1, 1), (1, 4, 2, 3), (1, 4, 5, 33), (2, 4, 9, 31), (1, 4, 12, 65)])
@pytest.mark.parametrize("band_rows", [1, 3, None])
@pytest.mark.parametrize("tile", [2, 4])
def test_fused_winograd_matches_direct_and_eager_on_odd_sizes(shape, band_rows, tile):
    """Winograd F(tile,3) groups columns: odd widths, single pixels and tile-block tails must stay exact."""
    net = _net(2)
    x = torch.randn(shape) * 2  # wide input range: tanh saturates, ReLU clips
    ref = _eager(net, x)
    wino = FusedThreeConvISP(net, band_rows=band_rows, winograd=True, winograd_tile=tile)(x)
    direct = FusedThreeConvISP(net, band_rows=band_rows, winograd=False)(x)
    assert (wino - ref).abs().max().item() <= _roundoff_bound(ref)
    assert (direct - ref).abs().max().item() <= _roundoff_bound(ref)
    assert (wino - direct).abs().max().item() <= 2 * _roundoff_bound(ref)


@pytest.mark.skipif(not fused_kernel_available(), reason="fused kernel needs an AVX2+FMA x86 CPU")
@pytest.mark.parametrize("tile", [2, 4])
def test_fused_winograd_photo_like_input(tile):
    """Smooth [0, 1] input (the real use) with default-init weights, like a freshly built generator."""
    torch.manual_seed(3)
    net = build_generator("efficient_isp").eval()
    ramp = torch.linspace(0, 1, 70)
    x = (0.5 + 0.5 * torch.sin(6 * ramp[None, :] + 3 * ramp[:, None] + torch.arange(4.0)[:, None, None]))[None]
    x = (x + 0.02 * torch.rand_like(x)).clamp(0, 1)[..., :45, :]
    ref = _eager(net, x)
    out = FusedThreeConvISP(net, winograd=True, winograd_tile=tile)(x)
    assert out.shape == ref.shape == (1, 3, 90, 140)
    assert (out - ref).abs().max().item() <= _roundoff_bound(ref)
    assert ref.std().item() > 1e-3
