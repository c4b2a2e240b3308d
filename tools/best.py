"""Pick the best checkpoints of a sweep: merge inference.py CSVs, print the top k, plot metrics vs step.

  python -m tools.best runs/fuji_unpaired/eval_val                    # top 5 by PSNR
  python -m tools.best runs/x/eval_val --metric ssim --top 10 --plot curves.png --merged all.csv
Inputs are per-checkpoint CSVs or folders holding them (searched recursively); only their
summary rows (file == 'mean') are used. LPIPS and delta_e2000 rank lower-is-better, every other metric higher.
When the run came from a reproduction recipe (its config.json, found beside the checkpoints or above
the CSV folder, or given with --config, has 'published' metrics), the paper's numbers are printed
beside the best checkpoint's, with the difference.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from pathlib import Path

SUMMARY_NAME = "mean"  # inference.py's summary row marker
LOWER_IS_BETTER = {"lpips", "delta_e2000"}
NON_METRIC_COLUMNS = {"file", "step", "checkpoint", "quantize"}


def find_csvs(inputs) -> list[Path]:
    files = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.csv") if p.name != "failed.csv")
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"no such CSV or folder: {path}")
    return files


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def read_summary(path: Path) -> dict | None:
    """The summary row of one checkpoint CSV as {checkpoint, step, metric: float}, None if absent."""
    with open(path, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("file") == SUMMARY_NAME]
    if not rows:
        return None
    row = rows[-1]
    step = _number(row.get("step"))
    merged = {"checkpoint": row.get("checkpoint") or path.stem, "step": None if math.isnan(step) else int(step),
              "quantize": row.get("quantize") or "unknown"}
    merged.update({k: _number(v) for k, v in row.items() if k not in NON_METRIC_COLUMNS})
    return merged


def merge(inputs) -> list[dict]:
    """One summary per checkpoint (later files win on duplicates), sorted by step."""
    by_checkpoint = {}
    for path in find_csvs(inputs):
        summary = read_summary(path)
        if summary is not None:
            by_checkpoint[summary["checkpoint"]] = summary
    rows = list(by_checkpoint.values())
    return sorted(rows, key=lambda r: (r["step"] is None, r["step"] or 0, r["checkpoint"]))


def metric_names(rows) -> list[str]:
    names = []
    for row in rows:
        names += [k for k in row if k not in NON_METRIC_COLUMNS and k not in names]
    return names


def top_k(rows, metric: str, k: int) -> list[dict]:
    if rows and metric not in metric_names(rows):
        raise SystemExit(f"metric {metric!r} not in the CSVs; available: {metric_names(rows)}")
    scored = [r for r in rows if not math.isnan(r.get(metric, math.nan))]
    return sorted(scored, key=lambda r: r[metric], reverse=metric not in LOWER_IS_BETTER)[:k]


def format_table(rows, metrics) -> str:
    header = ["rank", "step", *metrics, "checkpoint"]
    lines = ["  ".join(f"{h:>9}" if h != "checkpoint" else h for h in header)]
    for rank, row in enumerate(rows, 1):
        values = [f"{row.get(m, math.nan):9.4f}" for m in metrics]
        step = "-" if row["step"] is None else str(row["step"])
        lines.append("  ".join([f"{rank:>9}", f"{step:>9}", *values, str(row["checkpoint"])]))
    return "\n".join(lines)


def write_merged(rows, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    columns = ["step", *metric_names(rows), "checkpoint"]
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def plot_metrics(rows, path: Path, best: dict | None = None) -> None:
    """One panel per metric against step; the selected checkpoint is marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    stepped = [r for r in rows if r["step"] is not None]
    metrics = [m for m in metric_names(stepped) if any(not math.isnan(r.get(m, math.nan)) for r in stepped)]
    if not metrics:
        raise SystemExit("nothing to plot: no checkpoint summary has both a step and a metric")
    fig, axes = plt.subplots(len(metrics), 1, figsize=(7, 2.4 * len(metrics)), sharex=True, squeeze=False)
    for axis, metric in zip(axes[:, 0], metrics):
        points = [(r["step"], r[metric]) for r in stepped if not math.isnan(r.get(metric, math.nan))]
        axis.plot([p[0] for p in points], [p[1] for p in points], marker=".", linewidth=1)
        if best is not None and best.get("step") is not None and not math.isnan(best.get(metric, math.nan)):
            axis.plot([best["step"]], [best[metric]], "r*", markersize=12)
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def _config_candidates(inputs, best: dict | None) -> list[Path]:
    """Where a sweep's run config.json may be: beside the best checkpoint's run, then above each input."""
    candidates = []
    checkpoint = Path(str(best.get("checkpoint", ""))) if best else None
    if checkpoint is not None and checkpoint.parent.name == "checkpoints":
        candidates.append(checkpoint.parent.parent / "config.json")
    for item in inputs:
        folder = Path(item) if Path(item).is_dir() else Path(item).parent
        candidates += [folder / "config.json", folder.parent / "config.json"]
    return candidates


def find_recipe_config(inputs, best: dict | None = None) -> dict | None:
    """The first run config.json near the sweep that carries a recipe's published metrics."""
    for path in _config_candidates(inputs, best):
        if not path.is_file():
            continue
        try:
            config = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(config, dict) and config.get("published"):
            return config
    return None


def published_comparison(config: dict, best: dict) -> str:
    """The recipe's published metrics beside the best checkpoint's, with measured - published."""
    published = config["published"]
    name = config.get("recipe") or "this run's recipe"
    pick = f", published pick at step {published['step']}" if "step" in published else ""
    step = "-" if best.get("step") is None else best["step"]
    lines = [f"reproduction of {name}: best checkpoint (step {step}) vs published{pick}",
             f"{'metric':>9}  {'published':>9}  {'measured':>9}  {'difference':>10}"]
    measured_order = [m for m in metric_names([best]) if m in published]
    for metric in measured_order + [m for m in published if m not in measured_order and m != "step"]:
        expected, measured = float(published[metric]), best.get(metric, math.nan)
        order = "  (lower is better)" if metric in LOWER_IS_BETTER else ""
        if math.isnan(measured):
            lines.append(f"{metric:>9}  {expected:9.4f}  {'-':>9}  {'-':>10}  (not in the CSVs)")
        else:
            lines.append(f"{metric:>9}  {expected:9.4f}  {measured:9.4f}  {measured - expected:+10.4f}{order}")
    lines.append(f"published: the paper's test set, truncated 8-bit outputs; measured: this sweep's split, scored "
                 f"as quantize={best.get('quantize', 'unknown')}.\nLike for like: sweep the test split with "
                 "--quantize truncate, or run test_model.py on the best checkpoint.")
    return "\n".join(lines)


def best_report(rows, inputs, metric: str = "psnr", config: dict | None = None) -> str:
    """The best checkpoint by metric and, for a recipe run, its comparison with the published numbers."""
    best = top_k(rows, metric, 1)
    if not best:
        return f"no checkpoint has a {metric} value"
    config = config if config is not None else find_recipe_config(inputs, best[0])
    if not config or not config.get("published"):
        return f"best by {metric}: step {best[0]['step']}  {best[0]['checkpoint']}"
    return published_comparison(config, best[0])


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", help="checkpoint CSVs or folders of them")
    p.add_argument("--metric", default="psnr", help="ranking metric (default psnr)")
    p.add_argument("--top", type=int, default=5, help="how many to print")
    p.add_argument("--plot", help="PNG of every metric vs step (default <first folder>/metrics_vs_step.png)")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--merged", help="also write all summaries to this CSV")
    p.add_argument("--config", help="run config.json with the recipe's 'published' metrics "
                                    "(default: found beside the checkpoints or above the CSV folders)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    rows = merge(args.inputs)
    if not rows:
        raise SystemExit(f"no checkpoint summaries found in {args.inputs}")
    best = top_k(rows, args.metric, args.top)
    metrics = metric_names(rows)
    order = "lower" if args.metric in LOWER_IS_BETTER else "higher"
    print(f"{len(rows)} checkpoints; top {len(best)} by {args.metric} ({order} is better):")
    print(format_table(best, metrics))
    config = None
    if args.config:
        try:
            config = json.loads(Path(args.config).read_text())
        except (OSError, json.JSONDecodeError) as err:
            build_parser().error(f"--config {args.config}: cannot read it as JSON ({err})")
    print(best_report(rows, args.inputs, args.metric, config))
    if args.merged:
        write_merged(rows, Path(args.merged))
        print(f"merged CSV: {args.merged}")
    if not args.no_plot:
        first = Path(args.inputs[0])
        plot = Path(args.plot) if args.plot else (first if first.is_dir() else first.parent) / "metrics_vs_step.png"
        plot_metrics(rows, plot, best[0] if best else None)
        print(f"plot: {plot}")
    return 0


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m tools.best"))
