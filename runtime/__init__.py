"""Inference runtimes for trained generators: PyTorch, or the fused AVX2 Efficient ISP kernel on CPU.
Nothing is compiled at import time: the kernel builds on first use."""
from .fused_efficient_isp import FusedThreeConvISP, fused_kernel_available
from .select import PARITY_BOUND, RUNTIMES, CheckedRuntime, RuntimeUnavailable, select_runtime

__all__ = ["FusedThreeConvISP", "fused_kernel_available", "PARITY_BOUND", "RUNTIMES", "CheckedRuntime",
           "RuntimeUnavailable", "select_runtime"]
