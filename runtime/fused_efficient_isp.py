"""Efficient ISP forward in one fused AVX2 kernel (CPU inference), compiled on first use.

The C++ source is runtime/csrc/three_conv_isp.cpp; torch.utils.cpp_extension builds it with the system
compiler the first time (~40 s) and caches the build in ~/.cache/torch_extensions.
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import torch
from torch import nn

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
        with contextlib.redirect_stderr(io.StringIO()):  # its CUDA_HOME notice is noise for a CPU kernel
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
    winograd=False: the direct kernel); max |diff| vs eager stays within 16 float32 eps of the output's largest
    magnitude (~2e-7 at default init; tests/test_fast_inference.py holds it to that). Pass out= (a reused
    tensor) to skip page-faulting a fresh output every frame. Inference only (no autograd).
    """

    @staticmethod
    def check_shapes(net: nn.Module) -> list:
        """net's conv1..conv3, or ValueError when net is not the 4->12->12->12 Efficient ISP."""
        convs = [getattr(net, name, None) for name in ("conv1", "conv2", "conv3")]
        shapes = [tuple(c.weight.shape) if isinstance(c, nn.Conv2d) else None for c in convs]
        if shapes != [(12, 4, 3, 3), (12, 12, 3, 3), (12, 12, 3, 3)] or not all(c.bias is not None for c in convs):
            raise ValueError(f"fused kernel supports the 4->12->12->12 Efficient ISP only, got conv shapes {shapes}")
        return convs

    def __init__(self, net: nn.Module, band_rows: int | None = None, winograd: bool = True,
                 winograd_tile: int = 4):
        convs = self.check_shapes(net)
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
            raise ValueError(f"expected a float32 CPU tensor (B, 4, h, w), "
                             f"got {x.dtype} {tuple(x.shape)} on {x.device}")
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
