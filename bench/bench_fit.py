"""Training throughput of fit.py's stages: steps/s and peak memory per stage, CPU by default.

  python -m bench.bench_fit                       # every stage, batch 4, 64 px patches, random backbones
  python -m bench.bench_fit --stages unpaired --batch 8 --patch 128 --steps 6
Each stage runs in a fresh process (so peak RSS is that stage's own) through fit.py itself, on the
synthetic dataset; the first step (graph warm-up, lazy inits) is excluded from steps/s.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from training.stages import STAGE_TABLE, STAGES

REPO = Path(__file__).resolve().parents[1]

_WORKER = r"""
import json, resource, sys, time
import torch
sys.path.insert(0, {repo!r})
import fit
from training import stages

times = []
original = fit.Trainer._train_step
def timed(self, *args, **kwargs):
    start = time.perf_counter()
    result = original(self, *args, **kwargs)
    times.append(time.perf_counter() - start)
    return result
fit.Trainer._train_step = timed
fit.main({argv!r})
steady = times[1:] or times
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps({{"steps_per_s": len(steady) / sum(steady), "first_step_s": times[0],
                              "peak_rss_mib": peak_mib, "threads": torch.get_num_threads()}}))
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--backbone", default="efficient_isp")  # the one with a published pretrained generator
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--patch", type=int, default=64, help="output patch size")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--vit", help="timm ViT of the color discriminator (default: config.py's vit_model)")
    parser.add_argument("--data-root", default="", help="Fujifilm-layout dataset (default: a fresh synthetic one)")
    return parser.parse_args(argv)


def bench_stage(stage: str, args, data_root: Path, out_dir: Path) -> dict:
    published = STAGE_TABLE[stage].starts_from_pretrain and args.backbone == "efficient_isp"
    argv = ["--set", f"data_root={data_root}", f"out_dir={out_dir}", f"run_name={stage}", f"stage={stage}",
            f"backbone={args.backbone}", "allow_random_backbones=True", *([f"vit_model={args.vit}"] * bool(args.vit)),
            "pretrained_generator=" + ("efficient_isp_pretrain" if published else ""),
            f"batch_size={args.batch}", f"patch_size={args.patch}", f"pretrain_steps={args.steps}",
            f"max_steps={args.steps}", "num_workers=0", f"save_every={args.steps}", "sample_every=100000",
            "cache_dir=" + str(out_dir / "cache")]
    code = _WORKER.format(repo=str(REPO), argv=argv)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode or not lines:
        raise RuntimeError(f"stage {stage} failed:\n{result.stderr[-2000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data_root = Path(args.data_root) if args.data_root else None
        if data_root is None:
            sys.path.insert(0, str(REPO))
            from data import make_synthetic_dataset
            data_root = make_synthetic_dataset(tmp / "fujifilm", "fujifilm", counts={"train": 16, "val": 2, "test": 2},
                                               size=max(args.patch, 64), seed=0)
        print(f"fit.py stages on CPU: backbone {args.backbone}, batch {args.batch}, patch {args.patch}x{args.patch}, "
              f"{args.steps} steps, random backbones, ViT {args.vit or 'of config.py'}")
        print(f"{'stage':<15}{'steps/s':>10}{'s/step':>10}{'first step s':>14}{'peak RSS MiB':>14}")
        for stage in args.stages:
            r = bench_stage(stage, args, data_root, tmp / "runs")
            print(f"{stage:<15}{r['steps_per_s']:>10.3f}{1 / r['steps_per_s']:>10.2f}{r['first_step_s']:>14.2f}"
                  f"{r['peak_rss_mib']:>14.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
