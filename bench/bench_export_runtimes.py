"""Full-HD latency per backbone in PyTorch eager, onnxruntime and LiteRT (XNNPACK), 2 CPU threads.

Each backbone (random weights: latency does not depend on their values) is exported with tools.export
(parity-checked), then timed at Full HD: packed input 1x4x544x960 (NHWC 1x544x960x4 for LiteRT),
RMFA-Net 1x3x1088x1920; Efficient ISP also through the fused AVX2 kernel (tools/fast_inference.py).
Every runtime's max |difference| from the eager output is printed next to its time. Needs requirements-export.txt.
Goal: Efficient ISP <= 20 ms in the fastest runtime.
"""
import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.bench_generators import count_macs, full_hd_input
from models import EfficientISP, build_generator
from tools import export, fast_inference


def median_ms(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def torch_runner(net, x):
    def run():
        with torch.inference_mode():
            return net(x)
    return run


def onnx_runner(path: Path, x: np.ndarray, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return lambda: sess.run(None, {name: x})[0]


def litert_runner(path: Path, x_nhwc: np.ndarray, threads: int):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=threads)  # XNNPACK delegate is the default
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]

    def run():
        interp.set_tensor(inp, x_nhwc)
        interp.invoke()
        return interp.get_tensor(out).transpose(0, 3, 1, 2)  # NHWC -> NCHW for the parity check
    return run


def bench_backbone(name: str, work: Path, repeats: int, threads: int):
    torch.manual_seed(0)
    net = build_generator(name).eval()
    x = full_hd_input(name)
    gmac = count_macs(net, x) / 1e9
    onnx_path = export.export_onnx(net, work, 1e-4, [(36, 52)])[0]
    tflite_path = export.export_tflite(net, work, tuple(x.shape[-2:]), dynamic=False, fp16=False,
                                       tolerance=1e-4, parity_sizes=[(36, 52)])[0]
    x_np = x.numpy()
    runners = {"pytorch eager": torch_runner(net, x), "onnxruntime": onnx_runner(onnx_path, x_np, threads),
               "litert xnnpack": litert_runner(tflite_path, np.ascontiguousarray(x_np.transpose(0, 2, 3, 1)),
                                               threads)}
    if isinstance(net, EfficientISP) and fast_inference.fused_kernel_available():
        fused, out = fast_inference.FusedThreeConvISP(net), torch.empty(1, 3, 2 * x.shape[2], 2 * x.shape[3])
        runners["fused avx2"] = lambda: fused(x)
        runners["fused avx2 (reused out)"] = lambda: fused(x, out=out)
    with torch.inference_mode():
        reference = net(x).numpy()
    for runtime, run in runners.items():
        diff = float(np.abs(np.asarray(run()) - reference).max())
        ms = median_ms(run, repeats)
        print(f"{name:14s} {runtime:23s} {ms:9.1f} ms {gmac:7.2f} GMAC {gmac / ms * 1e3:7.1f} GMAC/s "
              f"max|diff| vs eager {diff:.2e}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=["efficient_isp", "robust_isp", "rmfa_tiny"])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"threads={args.threads} load_avg={os.getloadavg()[0]:.2f} (Full HD output 1088x1920)")
    for name in args.backbones:
        with tempfile.TemporaryDirectory() as work:
            bench_backbone(name, Path(work), args.repeats, args.threads)


if __name__ == "__main__":
    main()
