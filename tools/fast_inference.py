"""Strip-tiled CPU inference for small fully-convolutional ISPs (Efficient ISP and relatives); the fused
AVX2 Efficient ISP kernel is runtime.fused_efficient_isp (re-exported).

At Full HD the whole-frame run streams every 12-channel intermediate (25 MB each) through DRAM.
Running the network on horizontal strips keeps a strip's intermediates in L2, and independent
strips run in parallel on a thread pool (one intra-op thread per strip worker).

Exactness: a strip of input rows [r0, r1) is run on rows [r0 - halo, r1 + halo) clipped to the
frame, with the network's own zero padding. Rows whose receptive field touches a cut (not a frame
edge) are wrong, but with halo >= the number of stacked 3x3 convs those rows all lie in the halo,
which is cropped away. Frame edges are real edges, so their padding matches the whole-frame run.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn

# The fused kernel lives in the runtime library (inference.py and test_model.py use it); re-exported here.
from runtime.fused_efficient_isp import FusedThreeConvISP, fused_kernel_available  # noqa: F401


def conv_halo(net: nn.Module) -> int:
    """Rows of context needed per side: sum of (kernel_h // 2) * dilation over the stacked convs."""
    halo = 0
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            if m.stride[0] != 1:
                raise ValueError(f"strip tiling needs stride-1 convs, got stride {m.stride} in {m}")
            halo += (m.kernel_size[0] // 2) * m.dilation[0]
    return halo


class StripRunner:
    """Runs a packed-input ISP on horizontal strips in parallel; output equals net(x) (fp32 round-off).

    net must map (B, C, h, w) -> (B, 3, s*h, s*w) with s = net.output_scale, built from stride-1
    convs + pointwise ops + a final pixel shuffle (the Efficient ISP family). The network's body
    (everything before the pixel shuffle) is called per strip; the shuffle is fused into the copy
    to the preallocated output.
    """

    def __init__(self, net: nn.Module, strip_rows: int = 32, workers: int = 2, channels_last: bool = True):
        if strip_rows < 1 or workers < 1:
            raise ValueError(f"strip_rows and workers must be >= 1, got {strip_rows}, {workers}")
        self.net = net.eval()
        self.scale = int(getattr(net, "output_scale", 1))
        self.halo = conv_halo(net)
        self.strip_rows = strip_rows
        self.workers = workers
        self.channels_last = channels_last
        self.pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
        self.body = _body_without_shuffle(net)

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()

    def _run_strip(self, x: torch.Tensor, out: torch.Tensor, r0: int, r1: int):
        h = x.shape[-2]
        a, b = max(r0 - self.halo, 0), min(r1 + self.halo, h)
        piece = x[..., a:b, :]
        if self.channels_last:
            piece = piece.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            y = self.body(piece)[..., r0 - a:r0 - a + (r1 - r0), :]
            s = self.scale
            n, c, rows, w = y.shape
            # pixel shuffle as a strided copy: y[n, c*s*s + i*s + j, r, q] -> out[n, c, r*s + i, q*s + j]
            target = out[..., r0 * s:r1 * s, :].view(n, c // (s * s), rows, s, w, s)
            target.copy_(y.view(n, c // (s * s), s, s, rows, w).permute(0, 1, 4, 2, 5, 3))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"expected a (B, C, h, w) tensor, got shape {tuple(x.shape)}")
        n, _, h, w = x.shape
        s = self.scale
        out_channels = self.net.conv3.out_channels // (s * s)
        out = torch.empty(n, out_channels, h * s, w * s, dtype=x.dtype, device=x.device)
        bounds = [(r, min(r + self.strip_rows, h)) for r in range(0, h, self.strip_rows)]
        if self.pool is None:
            for r0, r1 in bounds:
                self._run_strip(x, out, r0, r1)
            return out
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # parallelism comes from the strips, not from inside each conv
        try:
            list(self.pool.map(lambda rb: self._run_strip(x, out, *rb), bounds))
        finally:
            torch.set_num_threads(threads)
        return out


def _body_without_shuffle(net: nn.Module):
    """Callable running net.forward without its final pixel shuffle (swapped for identity)."""
    if not isinstance(getattr(net, "pixel_shuffle", None), nn.PixelShuffle):
        raise ValueError(f"{type(net).__name__} has no pixel_shuffle module; strip runner needs one")
    clone = type(net)()
    clone.load_state_dict(net.state_dict())
    clone.pixel_shuffle = nn.Identity()
    return clone.eval()
