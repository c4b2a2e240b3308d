"""Achieved / peak arithmetic rate of fit.py's generator step and discriminator step, on this machine.

Peak: the dense float32 matmul rate measured here (torch.matmul of two N x N matrices, 2 N^3 flop, best of a
few). FLOPs: torch.utils.flop_counter.FlopCounterMode over one step (2 per multiply-add of every conv,
matmul and attention, forward and backward; elementwise ops, bias adds and norms are not counted, so a
part that is all elementwise reads as a low rate). fit's G step is _train_step less its
discriminator_step, as in bench_train_step. Per network, the same count and timing over a forward and a
backward to its input show which part falls short of the peak and why.

    python -m bench.bench_roofline                     # unpaired, batch 4, 256x256, ViT-B, feature cache on
    python -m bench.bench_roofline --stage pretrain --size 128
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

import fit
from bench.bench_train_step import first_batch
from data import make_synthetic_dataset
from training.config_loader import load_config
from training.distributed import DistInfo
from training.monitor import Monitor

REPO = Path(__file__).resolve().parents[1]


class _NoModuleTracking:
    """Stands in for FlopCounterMode's per-module tracker, whose hooks break the double backward of the
    R1/R2 penalties; only the total is wanted here."""
    parents = {"Global"}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def flop_counter() -> FlopCounterMode:
    """torch's FlopCounterMode, totals only, with its flash-attention formulas also given to the CPU
    flash-attention kernels (same arguments first: query, key, value; grad_out first in backward)."""
    mode = FlopCounterMode(display=False)
    mode.mod_tracker = _NoModuleTracking()
    aten = torch.ops.aten
    for cpu_op, formula_op in ((aten._scaled_dot_product_flash_attention_for_cpu,
                                aten._scaled_dot_product_flash_attention),
                               (aten._scaled_dot_product_flash_attention_for_cpu_backward,
                                aten._scaled_dot_product_flash_attention_backward)):
        mode.flop_registry.setdefault(cpu_op, mode.flop_registry[formula_op])
    return mode


def count_flops(fn) -> int:
    """FLOPs torch's FlopCounterMode counts while fn() runs (forward and any backward inside it)."""
    with flop_counter() as mode:
        fn()
    return mode.get_total_flops()


def clock() -> float:
    """Seconds: with one torch thread, the CPU time of this thread (every op runs on it), which other
    processes on a shared machine barely change; with more, the wall clock."""
    return time.thread_time() if torch.get_num_threads() == 1 else time.perf_counter()


def best_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: allocator, oneDNN primitive caches
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
    """Dense float32 matmul rate of this machine (flop/s) at the current torch thread count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / best_seconds(lambda: torch.matmul(a, b), repeats)


class StepSplit:
    """Wraps fit.discriminator_step: its FLOPs (from the enclosing FlopCounterMode) and its seconds."""

    def __init__(self):
        self.inner, self.mode, self.flops, self.seconds = fit.discriminator_step, None, 0, 0.0

    def __call__(self, *args, **kwargs):
        before = self.mode.get_total_flops() if self.mode else 0
        start = clock()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.seconds = clock() - start
            self.flops = (self.mode.get_total_flops() if self.mode else 0) - before


def make_trainer(work: Path, args):
    settings = dict(data_root=str(work / "data"), out_dir=str(work / "runs"), allow_random_backbones=True,
                    vit_model=args.vit, batch_size=args.batch, num_workers=0, cache_dir=str(work / "demosaic"),
                    d_every=1, log_every=10**9, sample_every=10**9, feature_cache=args.feature_cache,
                    feature_cache_dir=str(work / "features"), feature_cache_features=("content", "color", "texture"))
    cfg = load_config(REPO / "config.py", [f"{k}={v}" for k, v in settings.items()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random backbones: same arithmetic as the real ones
        return fit.Trainer(args.stage, cfg, work / "runs" / args.stage, None, DistInfo(), torch.device("cpu"))


def step_figures(trainer, repeats: int) -> dict:
    """(flop, seconds) of fit's G step and D step."""
    batch, monitor = first_batch(trainer), Monitor(trainer.stage_dir, False)
    params, split = list(trainer.generator.parameters()), StepSplit()
    fit.discriminator_step = split

    def step():
        trainer.step = 1  # a D step every time (d_every=1, step 1)
        trainer._train_step(batch, params, monitor)

    with flop_counter() as mode:
        split.mode = mode
        step()
    split.mode, total = None, mode.get_total_flops()
    d_flops = split.flops
    step()  # warm-up
    g, d = [], []
    for _ in range(repeats):
        start = clock()
        step()
        d.append(split.seconds)
        g.append(clock() - start - split.seconds)
    return {"G step (fit)": (total - d_flops, min(g)), "D step (fit)": (d_flops, min(d))}


def network_figures(trainer, repeats: int) -> dict:
    """(flop, seconds) of a forward and a backward to the input of each network the step runs."""
    batch = first_batch(trainer)
    fake = trainer.generator(batch["raw"]).detach()
    kit = trainer.kit
    parts = {"generator": (trainer.generator, batch["raw"]), "VGG-19 to relu5_4": (kit.vgg, fake),
             "AlexNet trunk": (kit.texture, fake), "ViT (blur, resize, tokens)": (kit.color, fake)}
    figures = {}
    for name, (net, image) in parts.items():
        if net is None:
            continue
        run = _forward_backward(net, image.clone().requires_grad_(name != "generator"))
        figures[name] = (count_flops(run), best_seconds(run, repeats))
    return figures


def _forward_backward(net, x):
    def run():
        out = net(x)
        torch.autograd.backward([o.sum() for o in (out if isinstance(out, tuple) else (out,))])
    return run


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="unpaired")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=256, help="image size (whole images)")
    parser.add_argument("--vit", help="timm ViT name (default: config.py's vit_model)")
    parser.add_argument("--no-feature-cache", dest="feature_cache", action="store_false")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (best is reported)")
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default); 1 times "
                        "with this thread's CPU time, robust on a shared machine")
    args = parser.parse_args(argv)
    args.vit = args.vit or load_config(REPO / "config.py")["vit_model"]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    peak = matmul_peak(args.matmul_size)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_synthetic_dataset(work / "data", "fujifilm", counts={"train": args.batch}, size=args.size, seed=0)
        trainer = make_trainer(work, args)
        figures = {**step_figures(trainer, args.repeats), **network_figures(trainer, args.repeats)}
    timing = "thread CPU time" if torch.get_num_threads() == 1 else "wall clock"
    print(f"{args.stage} step, CPU float32, {torch.get_num_threads()} threads ({timing}), batch {args.batch}, "
          f"{args.size}x{args.size}, {args.vit}, feature cache {'on' if args.feature_cache else 'off'}")
    print(f"peak: dense float32 matmul {args.matmul_size}^2 x {args.matmul_size}^2: {peak / 1e9:.1f} GFLOP/s")
    print(f"{'part':<30}{'GFLOP':>9}{'ms':>10}{'GFLOP/s':>10}{'of peak':>9}")
    for name, (flop, seconds) in figures.items():
        if name == "generator":
            print("per network, forward + backward to its input:")
        rate = flop / seconds
        print(f"{name:<30}{flop / 1e9:>9.2f}{1e3 * seconds:>10.1f}{rate / 1e9:>10.1f}{rate / peak:>9.0%}")
    return 0


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m bench.bench_roofline"))
