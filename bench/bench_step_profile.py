"""Where fit.py's step spends its time at small patches (64x64, 128x128), where fixed per-step costs weigh
most: torch.profiler's top operators of fit.Trainer._train_step, the share of the step in the method's
own arithmetic (convolutions, matmuls, attention) against the rest (elementwise ops, copies, fills,
Python between operators), and the step with skip_zero_weight_terms on and off in the same process.

Defaults are the README demo's stages (random backbones, vit_tiny, batch 4; pretraining with the content
term at weight 0, unpaired with the adversarial terms at 0.1, a D update every step here).

    python -m bench.bench_step_profile                        # pretrain and unpaired, 64 and 128
    python -m bench.bench_step_profile --stages unpaired --sizes 128 --top 20
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

import fit
from bench.bench_roofline import best_seconds
from data import make_synthetic_dataset
from training.config_loader import load_config
from training.distributed import DistInfo
from training.monitor import Monitor
from training.sampling import make_loader

REPO = Path(__file__).resolve().parents[1]
DEMO_LAMBDAS = {"pretrain": {"content": 0.0}, "unpaired": {"adv_color": 0.1, "adv_lin0": 0.1, "adv_lin3": 0.1}}
ARITHMETIC = ("conv", "mm", "addmm", "bmm", "matmul", "linear", "scaled_dot_product", "attention")


def make_trainer(work: Path, args, stage: str, size: int, skip: bool):
    settings = dict(data_root=str(work / "data"), out_dir=str(work / "runs"), allow_random_backbones=True,
                    vit_model=args.vit, batch_size=args.batch, num_workers=0, cache_dir=str(work / "demosaic"),
                    patch_size=size, d_every=1, feature_cache=False, log_every=10**9, sample_every=10**9,
                    lambdas=DEMO_LAMBDAS[stage], skip_zero_weight_terms=skip)
    cfg = load_config(REPO / "config.py", [f"{k}={v}" for k, v in settings.items()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random backbones
        trainer = fit.Trainer(stage, cfg, work / "runs" / f"{stage}{size}{skip}", None, DistInfo(),
                              torch.device("cpu"))
    batch = next(iter(make_loader(trainer.dataset, trainer.cfg, 0, 1, 0, 1, pin_memory=False)))
    params, monitor = list(trainer.generator.parameters()), Monitor(work / "monitor", False)

    def step():
        trainer.step += 1
        trainer._train_step(batch, params, monitor)
    return step


def profile_step(step, steps: int, top: int) -> tuple[str, float]:
    """(table of the top operators by self time, share of the convolutions / matmuls / attention). The
    profiler times operators by the wall clock: on a loaded machine read the shares, not the ms."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    events = [e for e in prof.key_averages() if e.key.startswith("aten::")]
    total = sum(e.self_cpu_time_total for e in events)
    arithmetic = sum(e.self_cpu_time_total for e in events if any(a in e.key for a in ARITHMETIC))
    rows = sorted(events, key=lambda e: -e.self_cpu_time_total)[:top]
    lines = [f"    {'operator':<44}{'ms/step':>9}{'calls/step':>12}{'share':>8}"]
    lines += [f"    {e.key:<44}{e.self_cpu_time_total / 1e3 / steps:>9.1f}{e.count / steps:>12.0f}"
              f"{e.self_cpu_time_total / total:>8.1%}" for e in rows]
    return "\n".join(lines), arithmetic / total


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", nargs="+", default=["pretrain", "unpaired"], choices=sorted(DEMO_LAMBDAS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--vit", default="vit_tiny_patch16_224")
    parser.add_argument("--steps", type=int, default=5, help="timed / profiled steps (best step reported)")
    parser.add_argument("--top", type=int, default=10, help="operators listed")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default); 1 times "
                        "with this thread's CPU time, robust on a shared machine")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_synthetic_dataset(work / "data", "fujifilm", counts={"train": args.batch}, size=max(args.sizes), seed=0)
        timing = "thread CPU time" if torch.get_num_threads() == 1 else "wall clock"
        print(f"fit.py step on CPU, {torch.get_num_threads()} threads ({timing}), batch {args.batch}, "
              f"random backbones, {args.vit}, a D update every step; the demo's loss weights")
        for stage in args.stages:
            for size in args.sizes:
                fast = make_trainer(work, args, stage, size, skip=True)
                slow = make_trainer(work, args, stage, size, skip=False)
                skipped, computed = best_seconds(fast, args.steps), best_seconds(slow, args.steps)
                table, arithmetic = profile_step(fast, args.steps, args.top)
                print(f"\n{stage} {size}x{size}: step {1e3 * skipped:.0f} ms with terms of weight 0 skipped, "
                      f"{1e3 * computed:.0f} ms computed ({computed / skipped:.2f}x); in the profiled step, "
                      f"convolutions/matmuls/attention take {arithmetic:.0%} of the operators' time")
                print(table, flush=True)
    return 0


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m bench.bench_step_profile"))
