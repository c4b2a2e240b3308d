"""What each speed switch of config.py does to one training step: loss values, generator gradient and
weight update, discriminator update, each against the float32 step from the same start and batch (all in
this process), and the step time next to the float32 one.

Every trainer is fit.Trainer on a synthetic dataset with random backbones; its first step (same seed, so
same initial weights) is the one compared; the next --steps steps are timed (best of them; torch.compile
compiles during the first step and is timed after it).

    python -m bench.bench_switches                          # unpaired, 64x64, batch 2, vit_tiny, CPU
    python -m bench.bench_switches --size 128 --switches frozen_autocast=bf16 torch_compile=True
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

import fit
from data import make_synthetic_dataset
from training.config_loader import load_config
from training.distributed import DistInfo
from training.monitor import Monitor
from training.sampling import make_loader

REPO = Path(__file__).resolve().parents[1]
SWITCHES = ("channels_last=True", "frozen_autocast=bf16", "generator_autocast=bf16", "discriminator_autocast=bf16",
            "frozen_autocast=fp16", "torch_compile=True", "cudnn_benchmark=False")


def make_trainer(work: Path, args, overrides: list[str]):
    settings = dict(data_root=str(work / "data"), out_dir=str(work / "runs"), allow_random_backbones=True,
                    vit_model=args.vit, batch_size=args.batch, num_workers=0, cache_dir=str(work / "demosaic"),
                    d_every=1, feature_cache=False, log_every=10**9, sample_every=10**9, stage=args.stage)
    cfg = load_config(REPO / "config.py", [f"{k}={v}" for k, v in settings.items()] + overrides)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random backbones are the point here
        return fit.Trainer(args.stage, cfg, work / "runs" / "_".join(overrides or ["float32"]), None, DistInfo(),
                           torch.device(args.device))


def run(work: Path, args, overrides: list[str]) -> dict:
    """One compared step, then timed steps: losses, G gradient / update, D update, seconds per step."""
    with torch.backends.mkldnn.flags(enabled=torch.backends.mkldnn.enabled):  # a switch may turn oneDNN off
        return _run(work, args, overrides)


def _run(work: Path, args, overrides: list[str]) -> dict:
    trainer = make_trainer(work, args, overrides)
    batch = next(iter(make_loader(trainer.dataset, trainer.cfg, 0, 1, 0, 1, pin_memory=False)))
    params, monitor = list(trainer.generator.parameters()), Monitor(work / "monitor", False)
    g_start = torch.cat([p.detach().flatten() for p in params])
    discriminators = trainer.kit.discriminators
    d_start = {n: torch.cat([p.detach().flatten() for p in d.parameters()]) for n, d in discriminators.items()}
    trainer.step = 1
    logs = trainer._train_step(batch, params, monitor)
    result = {"losses": {k: v for k, v in logs.items() if k.startswith(("raw/", "D/"))},
              "g_grad": torch.cat([p.grad.flatten() for p in params]),
              "g_delta": torch.cat([p.detach().flatten() for p in params]) - g_start,
              "d_delta": {n: torch.cat([p.detach().flatten() for p in d.parameters()]) - d_start[n]
                          for n, d in trainer.kit.discriminators.items()}}
    times = []
    for _ in range(args.steps):
        trainer.step += 1
        start = time.perf_counter()
        trainer._train_step(batch, params, monitor)
        times.append(time.perf_counter() - start)
    result["step_s"] = min(times) if times else float("nan")
    return result


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


def compare(result: dict, base: dict) -> dict:
    """Max relative gap of the loss values; relative L2 gap of G's gradient, G's and every D's update."""
    losses = max(abs(result["losses"][k] - v) / max(abs(v), 1e-12) for k, v in base["losses"].items())
    d_gap = max((relative(result["d_delta"][n], v) for n, v in base["d_delta"].items()), default=0.0)
    return {"losses": losses, "g_grad": relative(result["g_grad"], base["g_grad"]),
            "g_delta": relative(result["g_delta"], base["g_delta"]), "d_delta": d_gap}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="unpaired")
    parser.add_argument("--size", type=int, default=64, help="image size (whole images, no crops)")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2, help="timed steps after the compared one")
    parser.add_argument("--vit", default="vit_tiny_patch16_224")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--switches", nargs="+", default=list(SWITCHES), metavar="KEY=VALUE")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_synthetic_dataset(work / "data", "fujifilm", counts={"train": args.batch}, size=args.size, seed=0)
        print(f"{args.stage} step, {args.device}, batch {args.batch}, {args.size}x{args.size}, {args.vit}, "
              f"random backbones, d_every=1; gaps vs the float32 step from the same start (relative)")
        base = run(work, args, [])
        print(f"{'switch':<28}{'step s':>8}{'float32 s':>11}{'losses':>10}{'G grad':>10}{'G update':>10}"
              f"{'D update':>10}")
        print(f"{'float32 (all off)':<28}{base['step_s']:>8.3f}{base['step_s']:>11.3f}{0:>10.1e}{0:>10.1e}"
              f"{0:>10.1e}{0:>10.1e}", flush=True)
        for switch in args.switches:
            gaps = compare(result := run(work, args, [switch]), base)
            print(f"{switch:<28}{result['step_s']:>8.3f}{base['step_s']:>11.3f}{gaps['losses']:>10.1e}"
                  f"{gaps['g_grad']:>10.1e}{gaps['g_delta']:>10.1e}{gaps['d_delta']:>10.1e}", flush=True)
    return 0


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m bench.bench_switches"))
