"""Full-HD CPU latency of every generator: eager fp32, channels_last, TorchScript-frozen, mkldnn, torch.compile,
and for Efficient ISP the strip-tiled runner and the fused AVX2 kernel (tools/fast_inference.py).

Input 1x4x544x960 packed (output 1x3x1088x1920); RMFA-Net gets its 1x3x1088x1920 split input.
Prints median ms, the network's MAC count (counted from conv shapes with forward hooks) and the
achieved GMAC/s (Winograd modes: nominal direct-conv MACs per second; they do fewer real multiplies),
and each mode's max |difference| from the eager output. Goal: Efficient ISP <= 20 ms on 2 cores.
"""
import argparse
import os
import statistics
import time

import torch
from torch import nn

from models import GENERATORS, EfficientISP, build_generator, generator_info
from tools import fast_inference


def count_macs(net: nn.Module, x: torch.Tensor) -> int:
    """Multiply-accumulates of every conv/linear layer for input x (bias adds not counted)."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total += output.numel() * per_output
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.inference_mode():
        net(x)
    for h in handles:
        h.remove()
    return total


def time_ms(fn, x, repeats: int, warmup: int = 2) -> float:
    with torch.inference_mode():
        for _ in range(warmup):
            fn(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def variants(net: nn.Module, x: torch.Tensor, use_compile: bool):
    """(label, build) per execution mode; build() -> (callable, input). A mode that fails is reported."""
    x_cl = x.contiguous(memory_format=torch.channels_last)

    def frozen():
        with torch.no_grad():
            traced = torch.jit.freeze(torch.jit.trace(build_generator_like(net), x[..., :64, :64]))
        return torch.jit.optimize_for_inference(traced), x

    def mkldnn_tensors():
        from torch.utils import mkldnn as mkldnn_utils
        clone = build_generator_like(net)
        # pixel shuffle has no mkldnn kernel: run it on the dense result (it only moves values)
        shuffle = getattr(clone, "pixel_shuffle", nn.Identity())
        clone.pixel_shuffle = nn.Identity()
        converted = mkldnn_utils.to_mkldnn(clone)
        return (lambda t: shuffle(converted(t.to_mkldnn()).to_dense())), x

    yield "eager fp32", lambda: (net, x)
    yield "channels_last", lambda: (build_generator_like(net).to(memory_format=torch.channels_last), x_cl)
    yield "jit.freeze+optimize_for_inference", frozen
    yield "mkldnn tensors", mkldnn_tensors
    if isinstance(net, EfficientISP):
        yield from efficient_isp_variants(net, x)
    if use_compile:
        yield "torch.compile", lambda: (torch.compile(build_generator_like(net)), x)
        yield "torch.compile channels_last", lambda: (
            torch.compile(build_generator_like(net).to(memory_format=torch.channels_last)), x_cl)


def efficient_isp_variants(net: nn.Module, x: torch.Tensor):
    """Efficient-ISP-only paths from tools/fast_inference.py (strips in parallel; fused AVX2 kernel)."""
    yield "strip-tiled 68 rows, 2 workers", lambda: (fast_inference.StripRunner(net, strip_rows=68, workers=2), x)
    if not fast_inference.fused_kernel_available():
        return

    def fused_reused_output():
        fused = fast_inference.FusedThreeConvISP(net)
        out = torch.empty(x.shape[0], 3, 2 * x.shape[2], 2 * x.shape[3])
        return (lambda t: fused(t, out=out)), x

    yield "fused AVX2 kernel, direct conv", lambda: (fast_inference.FusedThreeConvISP(net, winograd=False), x)
    yield "fused AVX2 kernel, Winograd F(2,3) rows", lambda: (fast_inference.FusedThreeConvISP(net, winograd_tile=2), x)
    yield "fused AVX2 kernel, Winograd F(4,3) rows", lambda: (fast_inference.FusedThreeConvISP(net), x)
    # A video pipeline reuses its output buffer: no fresh 25 MB allocation (page faults) per frame.
    yield "fused AVX2 kernel, Winograd F(4,3) rows, reused output", fused_reused_output


def build_generator_like(net: nn.Module) -> nn.Module:
    clone = type(net)()
    clone.load_state_dict(net.state_dict())
    return clone.eval()


def full_hd_input(name: str) -> torch.Tensor:
    if generator_info(name)["input_kind"] == "packed4":
        return torch.rand(1, 4, 544, 960)
    return torch.rand(1, 3, 1088, 1920)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=["efficient_isp", "robust_isp", "srcnn", "rmfa_tiny"],
                        choices=sorted(GENERATORS))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (slow to build)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"threads={args.threads} load_avg={os.getloadavg()[0]:.2f} torch={torch.__version__}")
    print(f"{'backbone':14s} {'mode':56s} {'ms':>9s} {'GMAC':>7s} {'GMAC/s':>7s} {'max|diff| vs eager':>18s}")
    for name in args.backbones:
        torch.manual_seed(0)
        net = build_generator(name).eval()
        x = full_hd_input(name)
        gmac = count_macs(net, x) / 1e9
        with torch.inference_mode():
            reference = net(x)
        for label, build in variants(net, x, not args.no_compile):
            try:
                fn, inp = build()
                ms = time_ms(fn, inp, args.repeats)
                with torch.inference_mode():
                    diff = (fn(inp).to_dense() - reference).abs().max().item()
            except Exception as err:  # e.g. ops without an mkldnn kernel; report, don't crash
                print(f"{name:14s} {label:56s} failed: {type(err).__name__}: {str(err).splitlines()[0][:80]}")
                continue
            print(f"{name:14s} {label:56s} {ms:9.1f} {gmac:7.2f} {gmac / ms * 1e3:7.1f} {diff:18.2e}", flush=True)
            if hasattr(fn, "close"):
                fn.close()


if __name__ == "__main__":
    main()
