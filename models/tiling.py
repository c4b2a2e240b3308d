"""Full-resolution forward passes in tiles that equal the whole-image forward to float precision.

- Efficient ISP, Robust ISP, SRCNN are chains of stride-1 convolutions (then a pixel shuffle): each
  tile is read with a halo of at least the network's receptive radius, so every kept output pixel
  sees the same inputs, and the same zero padding at the image border, as in one whole-image pass.
- RMFA-Net is not local: each block's channel attention pools (mean and max) over the whole image,
  and its tone mapping upsamples with a scale set by the whole image's size. It runs block by block:
  the small half-resolution illumination is computed whole; pass 1 computes the fused features in
  tiles (illumination resampled at the tile's global coordinates) and gathers their global mean and
  max; pass 2 applies the attention in tiles and writes the block output in place. Memory: two
  full-resolution feature maps plus tiles, about half the whole-image forward's peak.
- Any other network runs whole.
"""
from __future__ import annotations

import torch
from torch import nn

from common.errors import UserError

from .efficient_isp import ThreeConvShuffleISP
from .rmfa_net import RMFABlock, RMFANet
from .srcnn import SRCNN

LOCAL_NETWORKS = (ThreeConvShuffleISP, SRCNN)


class TilingError(UserError, ValueError):
    """Tile settings that cannot work (tile not larger than twice the halo)."""


def receptive_radius(module: nn.Module) -> int:
    """Sum of the convolutions' half-widths: the receptive radius of a chain of stride-1 convolutions
    (an upper bound when branches run in parallel)."""
    return sum((c.kernel_size[0] // 2) * c.dilation[0] for c in module.modules() if isinstance(c, nn.Conv2d))


def required_halo(model: nn.Module) -> int:
    """The smallest tile margin (input pixels) that makes tiling exact for this network."""
    if isinstance(model, RMFANet):
        block = model.rmfa_blocks[0]
        return max(receptive_radius(model.input_module), receptive_radius(model.output_module),
                   _fusion_radius(block), receptive_radius(block.spatial_attention))
    return receptive_radius(model)


def _fusion_radius(block: RMFABlock) -> int:
    return receptive_radius(block.texture_module) + receptive_radius(block.fusion)


def _tiles(height: int, width: int, core: int, halo: int):
    """(core rows, core cols, window rows, window cols) slices covering the image core x core at a time."""
    for top in range(0, height, core):
        for left in range(0, width, core):
            rows, cols = slice(top, min(top + core, height)), slice(left, min(left + core, width))
            yield rows, cols, slice(max(top - halo, 0), min(rows.stop + halo, height)), \
                slice(max(left - halo, 0), min(cols.stop + halo, width))


def _inside(core: slice, window: slice, scale: int = 1) -> slice:
    """Position of the core inside the window's output (scaled by the network's upsampling)."""
    return slice((core.start - window.start) * scale, (core.stop - window.start) * scale)


def _scaled(span: slice, scale: int) -> slice:
    return slice(span.start * scale, span.stop * scale)


def _tiled_local(fn, x: torch.Tensor, core: int, halo: int, scale: int = 1) -> torch.Tensor:
    height, width = x.shape[-2:]
    out = None
    for rows, cols, win_rows, win_cols in _tiles(height, width, core, halo):
        piece = fn(x[..., win_rows, win_cols])
        if out is None:
            out = piece.new_empty(x.shape[0], piece.shape[1], height * scale, width * scale)
        out[..., _scaled(rows, scale), _scaled(cols, scale)] = \
            piece[..., _inside(rows, win_rows, scale), _inside(cols, win_cols, scale)]
    return out


def _source_taps(src_size: int, dst_size: int, span: slice, device):
    """Indices and weight of PyTorch's bilinear resize (align_corners=False, size given) for the
    destination positions in span: the same float32 arithmetic as the whole-image resize."""
    scale = torch.tensor(src_size, dtype=torch.float32) / dst_size
    real = ((torch.arange(span.start, span.stop, dtype=torch.float32) + 0.5) * scale - 0.5).clamp_min(0)
    first = real.long()
    weight = (real - first).clamp_max(1)
    second = torch.where(first < src_size - 1, first + 1, first)
    return first.to(device), second.to(device), weight.to(device)


def resize_window(src: torch.Tensor, size: tuple, rows: slice, cols: slice) -> torch.Tensor:
    """F.interpolate(src, size, 'bilinear', align_corners=False)[..., rows, cols] without the full result."""
    r0, r1, rw = _source_taps(src.shape[-2], size[0], rows, src.device)
    c0, c1, cw = _source_taps(src.shape[-1], size[1], cols, src.device)
    rw, cw = rw.to(src.dtype)[:, None], cw.to(src.dtype)
    mixed_rows = src.index_select(-2, r0) * (1 - rw) + src.index_select(-2, r1) * rw
    return mixed_rows.index_select(-1, c0) * (1 - cw) + mixed_rows.index_select(-1, c1) * cw


def _rmfa_block_tiled(block: RMFABlock, x: torch.Tensor, core: int, halo: int) -> torch.Tensor:
    """block(x) computed in tiles; overwrites and returns x."""
    height, width = x.shape[-2:]
    coarse = block.tone_mapping.coarse_illumination(x)  # half resolution: a quarter of x's memory
    fused = torch.empty_like(x)
    total = torch.zeros(x.shape[:2], dtype=torch.float64, device=x.device)
    peak = torch.full(x.shape[:2], -torch.inf, dtype=x.dtype, device=x.device)
    for rows, cols, win_rows, win_cols in _tiles(height, width, core, halo):
        window = x[..., win_rows, win_cols]
        tone = window - resize_window(coarse, (height, width), win_rows, win_cols)
        piece = block.fusion(torch.cat([block.texture_module(window), tone], dim=1))
        piece = piece[..., _inside(rows, win_rows), _inside(cols, win_cols)]
        fused[..., rows, cols] = piece
        total += piece.sum(dim=(2, 3), dtype=torch.float64)
        peak = torch.maximum(peak, piece.amax(dim=(2, 3)))
    mean = (total / (height * width)).to(x.dtype)
    weights = block.channel_attention.channel_weights(mean[..., None, None], peak[..., None, None])
    for rows, cols, win_rows, win_cols in _tiles(height, width, core, halo):
        # Only fused is read around the tile, x only at the tile itself: updating x in place is safe.
        attended = block.spatial_attention(weights * fused[..., win_rows, win_cols])
        x[..., rows, cols] += attended[..., _inside(rows, win_rows), _inside(cols, win_cols)]
    return x


def _rmfa_tiled(net: RMFANet, x: torch.Tensor, core: int, halo: int) -> torch.Tensor:
    features = _tiled_local(net.input_module, x, core, halo)
    for block in net.rmfa_blocks:
        features = _rmfa_block_tiled(block, features, core, halo)
    return _tiled_local(net.output_module, features, core, halo)


@torch.no_grad()
def tiled_forward(model: nn.Module, x: torch.Tensor, tile: int, overlap: int = 0) -> torch.Tensor:
    """model(x) computed in tiles of side `tile` (input pixels, margins included); tile <= 0 or an
    input no larger than a tile runs whole. The margin is max(overlap, required_halo(model))."""
    height, width = x.shape[-2:]
    if tile <= 0 or (height <= tile and width <= tile) or not isinstance(model, (RMFANet, *LOCAL_NETWORKS)):
        return model(x)
    halo = max(overlap, required_halo(model))
    core = tile - 2 * halo
    if core <= 0:
        raise TilingError(f"tile {tile} must exceed twice the tile margin {halo} "
                          f"(max of the overlap {overlap} and what {type(model).__name__} needs)")
    if isinstance(model, RMFANet):
        return _rmfa_tiled(model, x, core, halo)
    return _tiled_local(model, x, core, halo, getattr(model, "output_scale", 1))
