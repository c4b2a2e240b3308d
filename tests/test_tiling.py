"""Tiled full-resolution inference equals the whole-image forward for every backbone (models.tiling)."""
import pytest
import torch
import torch.nn.functional as F

from models import build_generator, load_generator, tiled_forward
from models.tiling import resize_window

PUBLISHED = {"efficient_isp": "Efficient_ISP_unpaired_step_27220.pth",
             "robust_isp": "Robust_unpaired_step_66090.pth",
             "rmfa_tiny": "RMFA_TINY_unpaired_step_48270.pth"}
# Odd sizes that are no multiple of the tile core; RMFA's 45 rows make the tone mapping's upsampling
# scale differ from 1/2, its 38 columns leave an odd half-resolution width.
PACKED_SHAPE, SPLIT_SHAPE = (1, 4, 37, 29), (1, 3, 45, 38)
# The README's claim for tiled vs whole-image outputs in [0, 1] (measured up to 1.8e-6 here, RMFA-Net tiny).
TILING_TOLERANCE = 2.3e-6


def _published(name, cache):
    """The file of that name in the cache: the authors' weights, or a generated stand-in."""
    return load_generator(next(cache.rglob(PUBLISHED[name])), name)


def _input(shape):
    torch.manual_seed(1)
    return torch.rand(*shape)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
@pytest.mark.parametrize("tile,overlap", [(16, 0), (21, 5)])
def test_published_backbones_tile_exactly(name, tile, overlap, checkpoint_cache):
    model = _published(name, checkpoint_cache)
    x = _input(SPLIT_SHAPE if name.startswith("rmfa") else PACKED_SHAPE)
    with torch.no_grad():
        whole = model(x)
    tiled = tiled_forward(model, x, tile, overlap)
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().max().item() < TILING_TOLERANCE


@pytest.mark.parametrize("name,tile", [("srcnn", 16), ("rmfa_medium", 24), ("rmfa_large", 32)])
def test_random_backbones_tile_exactly(name, tile):
    torch.manual_seed(0)
    model = build_generator(name).eval()
    x = _input(SPLIT_SHAPE if name.startswith("rmfa") else PACKED_SHAPE)
    with torch.no_grad():
        whole = model(x)
    assert (tiled_forward(model, x, tile, 0) - whole).abs().max().item() < TILING_TOLERANCE


def test_rmfa_per_tile_forward_would_be_wrong(checkpoint_cache):
    """The check has teeth: running the published RMFA-Net on each tile alone (tile statistics for the
    channel attention) does not reproduce the whole image."""
    model = _published("rmfa_tiny", checkpoint_cache)
    x = _input(SPLIT_SHAPE)
    x[..., :20, :] *= 0.2  # a dark top band: tiles see other global statistics
    with torch.no_grad():
        whole = model(x)
        top, bottom = model(x[..., :26, :]), model(x[..., 19:, :])  # halo 3 around row 23
    naive = torch.cat([top[..., :23, :], bottom[..., 4:, :]], dim=-2)
    assert (naive - whole).abs().max().item() > 100 * TILING_TOLERANCE
    assert (tiled_forward(model, x, 26, 3) - whole).abs().max().item() < TILING_TOLERANCE


@pytest.mark.parametrize("src,dst", [((11, 9), (23, 19)), ((8, 5), (16, 10)), ((7, 7), (15, 14))])
def test_resize_window_equals_the_whole_resize(src, dst):
    torch.manual_seed(2)
    image = torch.rand(1, 2, *src)
    whole = F.interpolate(image, size=dst, mode="bilinear", align_corners=False)
    rows, cols = slice(3, dst[0] - 2), slice(0, dst[1] - 1)
    assert torch.allclose(resize_window(image, dst, rows, cols), whole[..., rows, cols], atol=1e-6)


def test_margin_too_large_for_the_tile_is_refused():
    from models import TilingError
    with pytest.raises(TilingError, match="tile 12"):
        tiled_forward(build_generator("srcnn").eval(), torch.rand(1, 4, 30, 30), 12, 0)
