"""Pick the runtime a script runs a generator with: `auto` (the fused AVX2 kernel for Efficient ISP on
CPU when it builds, else PyTorch), `torch`, or `fused` (the kernel or an error).

The fused output is checked against PyTorch on the first call: max |fused - torch| must stay within
PARITY_BOUND = 1e-4 (1/39 of an 8-bit level). Measured (fp32 round-off): ~2e-7 at default init (Full HD,
bench/RESULTS.md), 1.3e-6 with the published Fujifilm Efficient ISP on a 544x960 input, where 2.7e-5 of the
8-bit output values (pixels on a rounding boundary) move by one level; metrics change accordingly little.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from common.errors import UserError

from .fused_efficient_isp import FusedThreeConvISP

RUNTIMES = ("auto", "torch", "fused")
PARITY_BOUND = 1e-4


class RuntimeUnavailable(UserError, RuntimeError):
    """--runtime fused was asked for but cannot run (wrong generator, device, CPU, compiler, parity)."""


class CheckedRuntime:
    """Calls `fast`; on the first call also runs `reference` and compares. Past the bound: raise
    (strict) or note it and use `reference` from then on."""

    def __init__(self, fast: Callable, reference: nn.Module, strict: bool, note: Callable[[str], None],
                 bound: float = PARITY_BOUND):
        self.fast, self.reference, self.strict, self.note, self.bound = fast, reference, strict, note, bound
        self.checked_diff = None  # max |fast - reference| of the first call, once made

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.checked_diff is not None:
            return self.fast(x)
        with torch.no_grad():
            out, expected = self.fast(x), self.reference(x)
        self.checked_diff = (out - expected).abs().max().item() if out.shape == expected.shape else float("inf")
        if self.checked_diff <= self.bound:
            return out
        message = (f"fused kernel output differs from PyTorch by {self.checked_diff:.3g} "
                   f"(bound {self.bound:g}) on the first input")
        if self.strict:
            raise RuntimeUnavailable(f"{message}; use --runtime torch")
        self.note(f"{message}; using PyTorch")
        self.fast = self.reference
        return expected


def _fused_problem(model: nn.Module, device) -> str | None:
    if torch.device(device).type != "cpu":
        return f"the fused kernel runs on CPU only (device {device})"
    try:
        FusedThreeConvISP.check_shapes(model)
    except ValueError as error:
        return str(error)
    return None


def select_runtime(model: nn.Module, runtime: str = "auto", device="cpu",
                   note: Callable[[str], None] = print) -> Callable[[torch.Tensor], torch.Tensor]:
    """A callable x -> model(x) in the chosen runtime (model itself for torch)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
    if runtime == "torch":
        return model
    problem = _fused_problem(model, device)
    if problem is not None:  # not applicable: PyTorch is simply the runtime (auto), nothing to note
        if runtime == "fused":
            raise RuntimeUnavailable(f"--runtime fused: {problem}; use --runtime torch or auto")
        return model
    try:
        fused = FusedThreeConvISP(model)
    except (RuntimeError, OSError, ImportError) as error:  # no AVX2, no compiler, build failure
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if runtime == "fused":
            raise RuntimeUnavailable(f"--runtime fused: the kernel did not build ({reason}); "
                                     "use --runtime torch") from error
        note(f"fused AVX2 kernel unavailable ({reason}); using PyTorch")
        return model
    return CheckedRuntime(lambda x: fused(x.contiguous()), model, strict=runtime == "fused", note=note)
