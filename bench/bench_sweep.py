"""Checkpoints scored per minute: inference.py (data loaded once) vs one process per checkpoint.

Builds a synthetic Fujifilm-layout validation split and a run folder of Efficient ISP checkpoints,
then times
  ours:  ONE `inference.py --run RUN` process scoring every checkpoint (load once, reuse);
  naive: one fresh `inference.py --checkpoints CK` process per checkpoint, each re-importing torch
         and re-reading/preprocessing the split (what a per-checkpoint loop does),
on the same checkpoints and data, and prints checkpoints/minute for both and their ratio.
--metrics psnr is the release's selection sweep (models picked by validation PSNR); pass
--metrics psnr,ssim,ms_ssim to time the full table (metric cost then dominates on CPU).

  python -m bench.bench_sweep                       # defaults: 60 checkpoints, 128 val images, 256 px
  python -m bench.bench_sweep --checkpoints 8 --images 64 --naive-sample 3
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_run(root: Path, n_checkpoints: int, images: int, size: int) -> Path:
    import torch

    from data import make_synthetic_dataset
    from models import build_generator
    data_root = make_synthetic_dataset(root / "data", "fujifilm", counts={"val": images}, size=size, seed=0)
    run = root / "run"
    (run / "checkpoints").mkdir(parents=True)
    for i in range(n_checkpoints):
        torch.manual_seed(i)
        torch.save(build_generator("efficient_isp").state_dict(), run / "checkpoints" / f"G_step_{(i + 1) * 10}.pth")
    (run / "config.json").write_text(json.dumps({"backbone": "efficient_isp", "dataset": "fujifilm",
                                                 "data_root": str(data_root)}))
    return run


def _inference(args: list, metrics: str, device: str) -> tuple[float, float, float]:
    """Seconds of one inference.py process: (wall, loading the split, scoring checkpoints)."""
    cmd = [sys.executable, str(REPO / "inference.py"), "--quiet", "--no-lpips", "--metrics", metrics,
           "--device", device, *args]
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"inference.py failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    loaded = re.search(r"images in ([0-9.]+)s", result.stdout)
    scored = re.search(r"failed in ([0-9.]+)s", result.stdout)
    return elapsed, float(loaded.group(1)), float(scored.group(1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoints", type=int, default=60, help="checkpoints in the run (real sweeps: thousands)")
    p.add_argument("--images", type=int, default=128, help="validation images (real split: 1024)")
    p.add_argument("--size", type=int, default=256, help="RAW side (Fujifilm: 256)")
    p.add_argument("--metrics", default="psnr", help="metrics scored (inference.py --metrics)")
    p.add_argument("--naive-sample", type=int, default=4,
                   help="time the naive loop on this many checkpoints and extrapolate per checkpoint")
    p.add_argument("--device", default="cpu", help="device for inference.py (cuda where available)")
    p.add_argument("--workdir", help="keep the synthetic data and CSVs here (default: a temp dir)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.workdir or tmp)
        print(f"building {args.images} val images of {args.size}px and {args.checkpoints} checkpoints in {root}")
        run = make_run(root, args.checkpoints, args.images, args.size)
        ours, ours_load, ours_scoring = _inference(["--run", str(run), "--out", str(root / "ours")],
                                                   args.metrics, args.device)
        ckpts = sorted((run / "checkpoints").glob("*.pth"))[: max(1, args.naive_sample)]
        # Settings come from <run>/config.json, found beside the checkpoint's folder.
        naive_runs = [_inference(["--checkpoints", str(c), "--out", str(root / "naive" / c.stem)],
                                 args.metrics, args.device) for c in ckpts]
    naive = sum(r[0] for r in naive_runs) / len(naive_runs)
    naive_load = sum(r[1] for r in naive_runs) / len(naive_runs)
    ours_rate, naive_rate = args.checkpoints / ours * 60.0, 60.0 / naive
    per_ckpt_score = ours_scoring / args.checkpoints  # marginal cost once the split is in memory
    print(f"metrics: {args.metrics}; {args.images} images/checkpoint; device {args.device}")
    print(f"inference.py, one process: {args.checkpoints} checkpoints in {ours:.1f}s "
          f"(split loaded once in {ours_load:.1f}s) -> {ours_rate:.1f} ckpt/min")
    print(f"naive, process per checkpoint: {naive:.2f}s each (mean of {len(ckpts)}; {naive_load:.1f}s of it "
          f"reloading the split) -> {naive_rate:.1f} ckpt/min")
    print(f"speed-up: {ours_rate / naive_rate:.1f}x (goal >= 10x)")
    print(f"per checkpoint: naive {naive:.2f}s vs ours {per_ckpt_score:.2f}s; the speed-up tends to "
          f"{naive / per_ckpt_score:.1f}x for long sweeps and is bounded by (process start + load) / scoring")
    return 0


if __name__ == "__main__":
    sys.exit(main())
