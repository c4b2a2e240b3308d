"""Strip-tiled CPU inference for small fully-convolutional ISPs (Efficient ISP and relatives).

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
from pathlib import Path

import torch
from torch import nn


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


_EXTENSION = None
_SOURCE = Path(__file__).resolve().parent / "csrc" / "three_conv_isp.cpp"


def fused_kernel_available() -> bool:
    """True if this CPU has AVX2 and FMA (the fused kernel's instruction set)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx2" in flags and "fma" in flags


def _load_extension():
    """Compile (first call only, ~40 s; cached by torch in ~/.cache/torch_extensions) and import the kernel."""
    global _EXTENSION
    if _EXTENSION is None:
        if not fused_kernel_available():
            raise RuntimeError("the fused Efficient ISP kernel needs an x86 CPU with AVX2 and FMA")
        from torch.utils.cpp_extension import load
        # -fopenmp: at::parallel_for is an inline OpenMP loop; without it the bands run serially.
        _EXTENSION = load("three_conv_isp", [str(_SOURCE)], extra_cflags=["-O3", "-mavx2", "-mfma", "-fopenmp"],
                          extra_ldflags=["-fopenmp"])
    return _EXTENSION


class FusedThreeConvISP:
    """Efficient ISP forward in one fused AVX2 kernel (fp32): same output as net(x) up to fp32 round-off.

    For any ThreeConvShuffleISP with widths 12/12 (Efficient ISP): conv1 tanh, conv2 ReLU, conv3 ReLU,
    pixel shuffle x2, streamed row by row so intermediates stay in L2; bands of band_rows rows (default:
    one band per thread) run in parallel on torch's intra-op threads. By default each conv row uses Winograd
    F(4,3) along the row (6 products per 4 outputs and tap row instead of 12; winograd_tile=2: F(2,3);
    winograd=False: the direct kernel); max |diff| vs eager stays ~1e-7 at default init. Pass out= (a reused
    tensor) to skip page-faulting a fresh output every frame. Inference only (no autograd).
    """

    def __init__(self, net: nn.Module, band_rows: int | None = None, winograd: bool = True,
                 winograd_tile: int = 4):
        convs = [getattr(net, name, None) for name in ("conv1", "conv2", "conv3")]
        shapes = [tuple(c.weight.shape) if isinstance(c, nn.Conv2d) else None for c in convs]
        if shapes != [(12, 4, 3, 3), (12, 12, 3, 3), (12, 12, 3, 3)] or not all(c.bias is not None for c in convs):
            raise ValueError(f"fused kernel supports the 4->12->12->12 Efficient ISP only, got conv shapes {shapes}")
        if band_rows is not None and band_rows < 1:
            raise ValueError(f"band_rows must be >= 1 or None, got {band_rows}")
        self.band_rows = band_rows
        if winograd_tile not in (2, 4):
            raise ValueError(f"winograd_tile must be 2 (F(2,3)) or 4 (F(4,3)), got {winograd_tile}")
        self.winograd_tile = winograd_tile if winograd else 0
        self.params = []
        for conv in convs:
            w = conv.weight.detach().float()
            # Direct: [c_in][ky][kx][c_out] so the kernel broadcasts consecutive output-channel weights.
            # Winograd F(m,3) along rows: U = G g over kx, laid out [m+2][c_in][ky][c_out].
            w = _winograd_row_weights(w, winograd_tile) if winograd else w.permute(1, 2, 3, 0).contiguous()
            self.params += [w, conv.bias.detach().float().contiguous()]
        self.kernel = _load_extension()

    def __call__(self, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 4 or x.dtype != torch.float32 or x.device.type != "cpu":
            raise ValueError(f"expected a float32 CPU tensor (B, 4, h, w), got {x.dtype} {tuple(x.shape)} on {x.device}")
        # Default: one band per thread (each band restarts its row rings, so fewer bands = less redundant work).
        band_rows = self.band_rows or -(-x.shape[2] // torch.get_num_threads())
        return self.kernel.forward(x, *self.params, band_rows, out, self.winograd_tile)


def _winograd_row_weights(w: torch.Tensor, tile: int) -> torch.Tensor:
    """(c_out, c_in, 3, 3) -> (tile + 2, c_in, 3, c_out): Winograd F(tile,3) filter transform G g along kx.

    Computed in float64 and rounded once; F(4,3) uses the points 0, +-1, +-2, inf.
    """
    if tile == 2:
        g = [[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]]
    else:
        g = [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
             [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]
    u = torch.einsum("kx,oiyx->kiyo", torch.tensor(g, dtype=torch.float64), w.double())
    return u.float().contiguous()
