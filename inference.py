"""Score generator checkpoints on a validation split (PSNR, SSIM, MS-SSIM, LPIPS, CIEDE2000; docs/method.md §7).

The split is read and preprocessed ONCE per process and kept in memory; every checkpoint is then
only a forward pass plus metrics. One CSV per checkpoint (rows: file, step, metrics; last row the
mean, file='mean'); a checkpoint whose CSV exists is skipped, so an interrupted sweep resumes.
As the release's validation sweeps did, the clamped float output is scored; --quantize png8 (alias truncate;
or round) scores the 8-bit image instead, as the test tables were (docs/method.md §7), and --quantize jpeg75 the
decoded NTIRE 2026 submission JPEG (truncated 8-bit, PIL quality 75, the writer tools.submit uses), as the
challenge's leaderboard scores it (docs/method.md §9). The mode is a CSV column, a CSV scored another way is
scored again, and the best checkpoint printed at the end is the best of the CSVs scored with this mode.
Bad files of the split (corrupt, not 16-bit, odd size, missing pair) are left out and listed at the end
(exit code 2); a checkpoint that fails is logged in failed.csv and the sweep goes on (exit code 1).

  python inference.py --run runs/fuji_unpaired                    # every G_step_*.pth of a run
  python inference.py --run runs/x --mod 40 --rem 10              # only steps with step % 40 == 10
  python inference.py --checkpoints a.pth b.pth --backbone efficient_isp --dataset fujifilm \
      --data-root datasets/fujifilm --out eval/
"""
from __future__ import annotations

import argparse
import sys
import time
from functools import lru_cache
from pathlib import Path

import torch
from tqdm import tqdm

from cli import report_bad_inputs
from data import DATASET_PRESETS
from data.readers.presets import ZRR_NORMALISATIONS
from evaluation import (
    METRIC_NAMES,
    NON_METRIC_COLUMNS,
    QUANTIZE_CHOICES,
    SWEEP_SPLIT,
    already_scored,
    by_step,
    canonical_quantize,
    checkpoint_step,
    checkpoint_table,
    csv_path_for,
    evaluate_model,
    read_run_config,
    record_failure,
    run_checkpoints,
    select_by_remainder,
    sweep_summary,
    write_csv,
)
from runtime import RUNTIMES, select_runtime
from wiring import build_lpips_metric, data_config, load_model, load_split, resolve_generator


@lru_cache(maxsize=None)
def note_once(message: str) -> None:
    print(f"inference.py: {message}", file=sys.stderr, flush=True)


def score_checkpoint(path: Path, backbone: str, data, csv_path: Path, device="cpu", quantize: str = "none",
                     lpips=None, metrics=None, runtime: str = "auto") -> dict:
    """Load, evaluate and write one checkpoint's CSV; returns its summary row."""
    _, _, model, _ = load_model(path, backbone)
    # channels_last: ~30% faster small convolutions on CPU (and tensor-core friendly on GPU).
    model = model.to(device, memory_format=torch.channels_last)
    forward = select_runtime(model, runtime, device, note=note_once)  # e.g. the fused AVX2 Efficient ISP kernel
    rows = evaluate_model(forward, data, device=device, quantize=quantize, lpips=lpips, metrics=metrics)
    table = checkpoint_table(rows, checkpoint_step(path), path, quantize)
    write_csv(csv_path, table)
    return table[-1]


def run_config(args) -> tuple[Path | None, dict]:
    """The run folder (--run, or above --checkpoints' checkpoints/ folder) and its config.json."""
    run_dir = Path(args.run) if args.run else None
    if run_dir is None and args.checkpoints:
        first = Path(args.checkpoints[0])
        if first.parent.name == "checkpoints":
            run_dir = first.parent.parent
    return run_dir, (read_run_config(run_dir) if run_dir else {})


def resolve_settings(args, run_dir: Path | None, config: dict) -> dict:
    """The backbone and the dataset settings (wiring.data_config: config.py's data keys, then the run's
    config.json, then the flags); the backbone, dataset and data root must come from the flags or the run."""
    flags = {"backbone": args.backbone, "dataset": args.dataset, "data_root": args.data_root,
             "zrr_normalisation": args.zrr_normalisation}
    missing = [k for k in ("backbone", "dataset", "data_root") if not (flags[k] or config.get(k))]
    if missing:
        where = f"{run_dir / 'config.json'}" if run_dir else "no --run given"
        raise SystemExit(f"inference.py: missing {', '.join('--' + m.replace('_', '-') for m in missing)} "
                         f"(not in {where})")
    return {"backbone": flags["backbone"] or config["backbone"], **data_config(config, flags)}


def print_sweep_summary(csv_files, config: dict, quantize: str | None = None) -> None:
    """Best checkpoint by validation PSNR over every CSV of the sweep's folders (earlier runs included) scored
    with `quantize` (None: all), beside the published numbers when the run came from a recipe."""
    report = sweep_summary(csv_files, config, quantize=quantize)
    if report:
        print(report, flush=True)


def collect_checkpoints(args) -> list[Path]:
    paths = []
    if args.run:
        paths += run_checkpoints(args.run)
    for item in args.checkpoints or []:
        path = Path(item)
        if path.is_dir():
            paths += by_step(path.glob("*.pth"))
        elif path.is_file():
            paths.append(path)
        else:
            paths.append(resolve_generator(item)[0])  # a published name, from the checkpoint cache
    unique = list({path.resolve(): path for path in paths}.values())  # --run and --checkpoints may overlap
    return select_by_remainder(unique, args.mod, args.rem)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoints", nargs="*", help="checkpoint files, folders of .pth, or registry names")
    p.add_argument("--run", help="run folder: scores <run>/checkpoints/G_step_*.pth; defaults from config.json")
    p.add_argument("--backbone", help="generator name (default: run config.json 'backbone')")
    p.add_argument("--dataset", choices=sorted(DATASET_PRESETS),
                   help="dataset preset (default: run config); ntire2026/camera score against <split>/gt/")
    p.add_argument("--data-root", help="dataset root (default: run config 'data_root')")
    p.add_argument("--split", default=SWEEP_SPLIT, help="split to score (default %(default)s)")
    p.add_argument("--mod", type=int, help="only checkpoints with step %% MOD == REM")
    p.add_argument("--rem", type=int, help="remainder for --mod")
    p.add_argument("--out", help="CSV folder (default <run>/eval_<split>)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--limit", type=int, help="score only the first N images of the split")
    p.add_argument("--indices", help="index list (file stems, one per line, # comments) to score from --split, "
                                     "e.g. ZRR's held-out validation list with --split train (tools.data split)")
    p.add_argument("--zrr-normalisation", choices=sorted(ZRR_NORMALISATIONS),
                   help="ZRR input normalisation (default: run config 'zrr_normalisation', else data's default)")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader workers for the one-off load")
    p.add_argument("--quantize", choices=QUANTIZE_CHOICES, default="none",
                   help="none (release sweeps): score the clamped float output; png8 (alias truncate) / round: "
                        "score the 8-bit image, as test tables are made (png8 is the release's PNG saving); "
                        "jpeg75: score the decoded NTIRE submission JPEG, as the challenge does")
    p.add_argument("--lpips-weights", help="LPIPS AlexNet v0.1 weight file (else searched; column omitted)")
    p.add_argument("--no-lpips", action="store_true", help="skip LPIPS even when weights are present")
    p.add_argument("--metrics", default=",".join(METRIC_NAMES),
                   help="comma list of metrics (default all); 'psnr' alone makes a fast selection sweep "
                        "(the release picked checkpoints by validation PSNR)")
    p.add_argument("--rescore", action="store_true", help="score even checkpoints that already have a CSV")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--runtime", choices=RUNTIMES, default="auto",
                   help="auto: the fused AVX2 kernel for efficient_isp on CPU when it builds (checked against "
                        "PyTorch on each checkpoint's first batch), else PyTorch; torch; fused (or exit 2)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    args.quantize = canonical_quantize(args.quantize)  # CSVs record one spelling per mode
    if not args.run and not args.checkpoints:
        raise SystemExit("inference.py: give --run and/or --checkpoints")
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    unknown = sorted(set(metrics) - set(METRIC_NAMES))
    if unknown:
        raise SystemExit(f"inference.py: unknown --metrics {unknown}; choose from {METRIC_NAMES}")
    run_dir, config = run_config(args)
    settings = resolve_settings(args, run_dir, config)
    out_dir = Path(args.out) if args.out else None
    todo = [(p, csv_path_for(p, out_dir, args.split)) for p in collect_checkpoints(args)]
    lpips = None
    if "lpips" in metrics and not args.no_lpips and todo:
        lpips = build_lpips_metric(args.lpips_weights, device=args.device)
    required = [m for m in metrics if m != "lpips" or lpips is not None]
    pending = [(p, c) for p, c in todo if args.rescore or not already_scored(c, required, args.quantize)]
    print(f"{len(todo)} checkpoint(s) selected, {len(todo) - len(pending)} already scored, "
          f"{len(pending)} to score", flush=True)
    if not pending:
        print_sweep_summary([c for _, c in todo], config, args.quantize)
        return 0
    from models import build_generator, generator_info
    if args.runtime == "fused":  # fail before the sweep, not once per checkpoint
        select_runtime(build_generator(settings["backbone"]), "fused", args.device)
    input_kind = generator_info(settings["backbone"])["input_kind"]
    data = load_split(settings, args.split, input_kind, args.batch_size, args.limit, args.num_workers,
                      progress=not args.quiet, indices=args.indices)
    print(f"loaded {len(data)} {args.split} images in {data.load_seconds:.1f}s", flush=True)
    failures, scoring_start = 0, time.perf_counter()
    for path, csv_file in tqdm(pending, desc="checkpoints", disable=args.quiet):
        try:
            summary = score_checkpoint(path, settings["backbone"], data, csv_file, args.device,
                                       args.quantize, lpips, metrics, args.runtime)
        except Exception as err:  # a broken checkpoint must not stop the sweep
            failures += 1
            record_failure(csv_file, path, err)
            print(f"FAILED {path}: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
            continue
        line = "  ".join(f"{k} {v:.4f}" for k, v in summary.items() if k not in NON_METRIC_COLUMNS)
        tqdm.write(f"{path.name}  step {summary['step']}  {line}")
    print(f"done: {len(pending) - failures} scored, {failures} failed in "
          f"{time.perf_counter() - scoring_start:.1f}s", flush=True)
    print_sweep_summary([c for _, c in todo], config, args.quantize)
    bad_inputs = report_bad_inputs("inference.py", data.problems, len(data) + len(data.problems))
    return bad_inputs or (1 if failures else 0)


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "inference.py"))
