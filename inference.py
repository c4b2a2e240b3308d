"""Score generator checkpoints on a validation split (PSNR, SSIM, MS-SSIM, LPIPS, CIEDE2000; SPEC section 7).

The split is read and preprocessed ONCE per process and kept in memory; every checkpoint is then
only a forward pass plus metrics. One CSV per checkpoint (rows: file, step, metrics; last row the
mean, file='mean'); a checkpoint whose CSV exists is skipped, so an interrupted sweep resumes.
As the release's validation sweeps did, the clamped float output is scored; --quantize truncate
(or round) scores the 8-bit image instead, as the test tables were (SPEC section 7). The mode is a
CSV column, and a CSV scored another way is scored again.
Bad files of the split (corrupt, not 16-bit, odd size, missing pair) are left out and listed at the end
(exit code 2); a checkpoint that fails is logged in failed.csv and the sweep goes on (exit code 1).

  python inference.py --run runs/fuji_unpaired                    # every G_step_*.pth of a run
  python inference.py --run runs/x --mod 40 --rem 10              # only steps with step % 40 == 10
  python inference.py --checkpoints a.pth b.pth --backbone efficient_isp --dataset fujifilm \
      --data-root datasets/fujifilm --out eval/
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import torch
from tqdm import tqdm

from cli import report_bad_inputs
from losses.metrics import METRIC_NAMES, QUANTIZE_MODES, build_lpips_metric, score_batch
from runtime import RUNTIMES, select_runtime

STEP_PATTERN = re.compile(r"step_?(\d+)")
SUMMARY_NAME = "mean"
FAILED_LOG = "failed.csv"


@dataclass
class EvalData:
    """A preprocessed split held in memory: batches of inputs and 8-bit (or float) targets."""
    inputs: list
    targets: list
    names: list
    load_seconds: float
    problems: list = field(default_factory=list)  # bad files of the split that were left out

    def __len__(self):
        return len(self.names)


def checkpoint_step(path) -> int | None:
    """Global step from a file name like G_step_1230.pth or Efficient_ISP_unpaired_step_27220.pth."""
    matches = STEP_PATTERN.findall(Path(path).stem)
    return int(matches[-1]) if matches else None


def run_checkpoints(run_dir) -> list[Path]:
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        raise FileNotFoundError(f"run folder has no checkpoints/ directory: {folder}")
    return sorted(folder.glob("G_step_*.pth"), key=lambda p: (checkpoint_step(p) or 0, p.name))


def read_run_config(run_dir) -> dict:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def select_by_remainder(paths, mod: int | None, rem: int | None) -> list[Path]:
    """Checkpoints whose step % mod == rem (process_set's split of the work); all when mod is None."""
    if mod is None:
        return list(paths)
    if mod <= 0 or rem is None or not 0 <= rem < mod:
        raise ValueError(f"--mod must be > 0 and 0 <= --rem < --mod (got mod={mod}, rem={rem})")
    chosen = []
    for path in paths:
        step = checkpoint_step(path)
        if step is None:
            raise ValueError(f"{path}: no step number in the file name, cannot apply --mod/--rem")
        if step % mod == rem:
            chosen.append(path)
    return chosen


def _compact_target(target: torch.Tensor) -> torch.Tensor:
    """Keep targets as uint8 when they are exact 8-bit values (4x less memory), else float32."""
    scaled = target * 255.0
    if torch.all((scaled - scaled.round()).abs() < 1e-4):
        return scaled.round().to(torch.uint8)
    return target


def _target_float(target: torch.Tensor) -> torch.Tensor:
    return target.float() / 255.0 if target.dtype == torch.uint8 else target


def load_eval_data(data_root, dataset, split: str, input_kind: str, batch_size: int = 16,
                   limit: int | None = None, num_workers: int = 0, progress: bool = True,
                   indices=None) -> EvalData:
    """Read, preprocess and batch a whole split (or the stems of an index list / sequence) once; bad
    files (corrupt, wrong bit depth, odd size, missing pair) are left out and listed in EvalData.problems.

    dataset: a preset name or data.DatasetPreset."""
    from data import ISPDataset
    start = time.perf_counter()
    with warnings.catch_warnings():  # the skipped files are listed at the end of the run instead
        warnings.simplefilter("ignore")
        ds = ISPDataset(data_root, preset=dataset, split=split, input_kind=input_kind, paired=True,
                        indices=indices, skip_bad=True)
    problems = list(ds.problems)
    if limit is not None and limit < len(ds):  # listing files is cheap; build again on the subset
        ds = ISPDataset(data_root, preset=dataset, split=split, input_kind=input_kind, paired=True,
                        indices=ds.names[:limit], skip_bad=True)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    inputs, targets, names = [], [], []
    for batch in tqdm(loader, desc=f"loading {split}", disable=not progress, leave=False):
        inputs.append(batch["raw"])
        targets.append(_compact_target(batch["target"]))
        names.extend(batch["name"])
    return EvalData(inputs, targets, names, time.perf_counter() - start, problems)


@lru_cache(maxsize=None)
def note_once(message: str) -> None:
    print(f"inference.py: {message}", file=sys.stderr, flush=True)


@torch.no_grad()
def evaluate_model(model, data: EvalData, device="cpu", quantize: str = "none", lpips=None,
                   metrics=None, runtime: str = "auto") -> list[dict]:
    """Per-image metric rows {file, psnr, ssim, ms_ssim[, lpips]} for one generator."""
    # channels_last: ~30% faster small convolutions on CPU (and tensor-core friendly on GPU).
    model = model.to(device, memory_format=torch.channels_last).eval()
    run = select_runtime(model, runtime, device, note=note_once)  # e.g. the fused AVX2 Efficient ISP kernel
    rows, position = [], 0
    for inputs, targets in zip(data.inputs, data.targets):
        output = run(inputs.to(device, memory_format=torch.channels_last))
        target = _target_float(targets).to(device)
        if output.shape != target.shape:
            raise ValueError(f"generator output {tuple(output.shape)} does not match targets "
                             f"{tuple(target.shape)}: wrong --backbone or --dataset?")
        scores = score_batch(output, target, quantize=quantize, lpips=lpips, metrics=metrics)
        for i in range(output.shape[0]):
            rows.append({"file": data.names[position + i], **{k: v[i].item() for k, v in scores.items()}})
        position += output.shape[0]
    return rows


def summarise(rows: list[dict]) -> dict:
    """Mean of each metric over images, ignoring NaN (MS-SSIM on images too small for 5 scales)."""
    summary = {}
    for key in rows[0]:
        if key == "file":
            continue
        values = [r[key] for r in rows if not math.isnan(r[key])]
        summary[key] = sum(values) / len(values) if values else math.nan
    return summary


def write_csv_atomic(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def csv_path_for(checkpoint: Path, out_dir: Path | None, split: str) -> Path:
    """<out>/<stem>.csv; by default <run>/eval_<split>/ beside the run's checkpoints/ folder."""
    if out_dir is None:
        parent = checkpoint.parent
        base = parent.parent if parent.name == "checkpoints" else parent
        out_dir = base / f"eval_{split}"
    return Path(out_dir) / f"{checkpoint.stem}.csv"


def score_checkpoint(path: Path, backbone: str, data: EvalData, csv_path: Path, device="cpu",
                     quantize: str = "none", lpips=None, metrics=None, runtime: str = "auto") -> dict:
    """Load, evaluate and write one checkpoint's CSV; returns its summary row."""
    from models import load_generator
    model = load_generator(path, backbone, map_location="cpu")
    step = checkpoint_step(path)
    rows = evaluate_model(model, data, device=device, quantize=quantize, lpips=lpips, metrics=metrics,
                          runtime=runtime)
    summary = {"file": SUMMARY_NAME, **summarise(rows)}
    table = [{"file": r["file"], "step": step, **{k: v for k, v in r.items() if k != "file"}} for r in rows]
    table.append({"file": SUMMARY_NAME, "step": step, **{k: v for k, v in summary.items() if k != "file"}})
    for row in table:
        row["checkpoint"] = str(path)
        row["quantize"] = quantize
    write_csv_atomic(csv_path, table)
    return table[-1]


def already_scored(csv_path: Path, metrics, quantize: str = "none") -> bool:
    """A complete CSV (written atomically, so existing = complete) holding every requested metric,
    scored with the same quantisation (CSVs from before the column existed are scored again)."""
    if not csv_path.is_file():
        return False
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or rows[-1].get("quantize") != quantize:
        return False
    return all(m in rows[-1] for m in metrics)


def _record_failure(out_csv: Path, checkpoint: Path, error: Exception) -> None:
    log = out_csv.parent / FAILED_LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    message = str(error).replace("\n", " ")[:300]
    with open(log, "a") as handle:  # one short append per failure: safe with parallel workers
        handle.write(f"{checkpoint},{type(error).__name__}: {message}\n")


def run_config(args) -> tuple[Path | None, dict]:
    """The run folder (--run, or above --checkpoints' checkpoints/ folder) and its config.json."""
    run_dir = Path(args.run) if args.run else None
    if run_dir is None and args.checkpoints:
        first = Path(args.checkpoints[0])
        if first.parent.name == "checkpoints":
            run_dir = first.parent.parent
    return run_dir, (read_run_config(run_dir) if run_dir else {})


def resolve_settings(args, run_dir: Path | None, config: dict) -> dict:
    """Backbone/dataset/data root from the flags, else from the run's config.json."""
    settings = {"backbone": args.backbone or config.get("backbone"),
                "dataset": args.dataset or config.get("dataset"),
                "data_root": args.data_root or config.get("data_root")}
    missing = [k for k, v in settings.items() if not v]
    # the run's own input normalisation (ZRR has two); not required, so set after the check
    settings["zrr_normalisation"] = args.zrr_normalisation or config.get("zrr_normalisation", "pynet")
    if missing:
        where = f"{run_dir / 'config.json'}" if run_dir else "no --run given"
        raise SystemExit(f"inference.py: missing {', '.join('--' + m.replace('_', '-') for m in missing)} "
                         f"(not in {where})")
    return settings


def print_sweep_summary(csv_files, config: dict) -> None:
    """Best checkpoint by validation PSNR over every CSV of the sweep's folders (earlier runs included),
    beside the published numbers when the run came from a recipe."""
    from tools.best import best_report, merge, metric_names
    folders = sorted({Path(c).parent for c in csv_files if Path(c).parent.is_dir()})
    rows = merge(folders) if folders else []
    if rows and "psnr" in metric_names(rows):
        print(best_report(rows, folders, "psnr", config if config.get("published") else None), flush=True)


def collect_checkpoints(args) -> list[Path]:
    paths = []
    if args.run:
        paths += run_checkpoints(args.run)
    for item in args.checkpoints or []:
        path = Path(item)
        if path.is_dir():
            paths += sorted(path.glob("*.pth"), key=lambda p: (checkpoint_step(p) or 0, p.name))
        elif path.is_file():
            paths.append(path)
        else:
            paths.append(_resolve_named(item))
    unique = list({path.resolve(): path for path in paths}.values())  # --run and --checkpoints may overlap
    return select_by_remainder(unique, args.mod, args.rem)


def _resolve_named(name: str) -> Path:
    try:
        from pretrained import resolve_checkpoint
    except ImportError:
        raise FileNotFoundError(f"checkpoint not found: {name}") from None
    return Path(resolve_checkpoint(name)[0])


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoints", nargs="*", help="checkpoint files, folders of .pth, or registry names")
    p.add_argument("--run", help="run folder: scores <run>/checkpoints/G_step_*.pth; defaults from config.json")
    p.add_argument("--backbone", help="generator name (default: run config.json 'backbone')")
    p.add_argument("--dataset", choices=["fujifilm", "zrr", "ntire2026", "camera"],
                   help="dataset preset (default: run config); ntire2026/camera score against <split>/gt/")
    p.add_argument("--data-root", help="dataset root (default: run config 'data_root')")
    p.add_argument("--split", default="val", help="split to score (default val)")
    p.add_argument("--mod", type=int, help="only checkpoints with step %% MOD == REM")
    p.add_argument("--rem", type=int, help="remainder for --mod")
    p.add_argument("--out", help="CSV folder (default <run>/eval_<split>)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--limit", type=int, help="score only the first N images of the split")
    p.add_argument("--indices", help="index list (file stems, one per line, # comments) to score from --split, "
                                     "e.g. ZRR's held-out validation list with --split train (tools.data split)")
    p.add_argument("--zrr-normalisation", choices=["pynet", "fujifilm_black"],
                   help="ZRR input normalisation (default: run config 'zrr_normalisation', else pynet)")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader workers for the one-off load")
    p.add_argument("--quantize", choices=QUANTIZE_MODES, default="none",
                   help="none (release sweeps): score the clamped float output; truncate / round: score the "
                        "8-bit image, as test tables are made (truncate is the release's PNG saving)")
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
        print_sweep_summary([c for _, c in todo], config)
        return 0
    from models import build_generator, generator_info
    if args.runtime == "fused":  # fail before the sweep, not once per checkpoint
        select_runtime(build_generator(settings["backbone"]), "fused", args.device)
    input_kind = generator_info(settings["backbone"])["input_kind"]
    from data import BadInputError, get_preset
    try:
        data = load_eval_data(settings["data_root"], get_preset(settings["dataset"], settings["zrr_normalisation"]),
                              args.split, input_kind, args.batch_size, args.limit, args.num_workers,
                              progress=not args.quiet, indices=args.indices)
    except BadInputError as error:  # bad data or index list: one line naming it, no traceback
        print(f"inference.py: {error}", file=sys.stderr)
        return 2
    print(f"loaded {len(data)} {args.split} images in {data.load_seconds:.1f}s", flush=True)
    failures, scoring_start = 0, time.perf_counter()
    for path, csv_file in tqdm(pending, desc="checkpoints", disable=args.quiet):
        try:
            summary = score_checkpoint(path, settings["backbone"], data, csv_file, args.device,
                                       args.quantize, lpips, metrics, args.runtime)
        except Exception as err:  # a broken checkpoint must not stop the sweep
            failures += 1
            _record_failure(csv_file, path, err)
            print(f"FAILED {path}: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
            continue
        line = "  ".join(f"{k} {v:.4f}" for k, v in summary.items() if k not in ("file", "step", "checkpoint", "quantize"))
        tqdm.write(f"{path.name}  step {summary['step']}  {line}")
    print(f"done: {len(pending) - failures} scored, {failures} failed in "
          f"{time.perf_counter() - scoring_start:.1f}s", flush=True)
    print_sweep_summary([c for _, c in todo], config)
    bad_inputs = report_bad_inputs("inference.py", data.problems, len(data) + len(data.problems))
    return bad_inputs or (1 if failures else 0)


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "inference.py"))
