"""Which checkpoints a sweep scores, where their CSVs go, and which one is best: ranking, the plot of every
metric against step, and for a run made from a reproduction recipe the published-vs-measured report."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from common import atomic_write

from .metrics import QUANTIZE_ALIASES
from .tables import merge, metric_names

SWEEP_SPLIT = "val"  # the release picked checkpoints on the validation split
STEP_PATTERN = re.compile(r"step_?(\d+)")
SELECTION_METRIC = "psnr"  # the release picked the checkpoint with the best validation PSNR
LOWER_IS_BETTER = {"lpips", "delta_e2000"}  # every other metric ranks higher-is-better


def checkpoint_step(path) -> int | None:
    """Global step from a file name like G_step_1230.pth or Efficient_ISP_unpaired_step_27220.pth."""
    matches = STEP_PATTERN.findall(Path(path).stem)
    return int(matches[-1]) if matches else None


def by_step(paths) -> list[Path]:
    return sorted(paths, key=lambda p: (checkpoint_step(p) or 0, p.name))


def run_checkpoints(run_dir) -> list[Path]:
    """A run's generator checkpoints (<run>/checkpoints/G_step_*.pth) in step order."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        raise FileNotFoundError(f"run folder has no checkpoints/ directory: {folder}")
    return by_step(folder.glob("G_step_*.pth"))


def read_run_config(run_dir) -> dict:
    """A run's config.json ({} when absent; ValueError naming the file when it is not JSON)."""
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


def csv_path_for(checkpoint: Path, out_dir: Path | None, split: str) -> Path:
    """<out>/<stem>.csv; by default <run>/eval_<split>/ beside the run's checkpoints/ folder."""
    if out_dir is None:
        parent = checkpoint.parent
        base = parent.parent if parent.name == "checkpoints" else parent
        out_dir = base / f"eval_{split}"
    return Path(out_dir) / f"{checkpoint.stem}.csv"


def top_k(rows, metric: str, k: int) -> list[dict]:
    """The k best checkpoint summaries by metric (NaN left out)."""
    if rows and metric not in metric_names(rows):
        raise SystemExit(f"metric {metric!r} not in the CSVs; available: {metric_names(rows)}")
    scored = [r for r in rows if not math.isnan(r.get(metric, math.nan))]
    return sorted(scored, key=lambda r: r[metric], reverse=metric not in LOWER_IS_BETTER)[:k]


def scored_as(rows, quantize: str | None) -> list[dict]:
    """The checkpoint summaries scored with this quantisation (aliases resolved; None keeps every row)."""
    if quantize is None:
        return list(rows)
    mode = QUANTIZE_ALIASES.get(quantize, quantize)
    return [r for r in rows if r.get("quantize") == mode]


def mixed_modes_note(rows) -> str | None:
    """A warning line when the summaries were scored with different quantisations (their ranks then mix scales)."""
    modes = sorted({str(r.get("quantize", "unknown")) for r in rows})
    if len(modes) < 2:
        return None
    return (f"note: these CSVs were scored with different --quantize modes ({', '.join(modes)}), which score the "
            "same checkpoint differently; rank one mode at a time with --quantize MODE")


def format_table(rows, metrics) -> str:
    header = ["rank", "step", *metrics, "checkpoint"]
    lines = ["  ".join(f"{h:>9}" if h != "checkpoint" else h for h in header)]
    for rank, row in enumerate(rows, 1):
        values = [f"{row.get(m, math.nan):9.4f}" for m in metrics]
        step = "-" if row["step"] is None else str(row["step"])
        lines.append("  ".join([f"{rank:>9}", f"{step:>9}", *values, str(row["checkpoint"])]))
    return "\n".join(lines)


def plot_metrics(rows, path: Path, best: dict | None = None) -> None:
    """One panel per metric against step, saved as PNG; the selected checkpoint is marked."""
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
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format=Path(path).suffix.lstrip(".") or "png", dpi=100)
    plt.close(fig)


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
                 "--quantize png8, or run test_model.py on the best checkpoint.")
    return "\n".join(lines)


def best_report(rows, inputs, metric: str = SELECTION_METRIC, config: dict | None = None) -> str:
    """The best checkpoint by metric and, for a recipe run, its comparison with the published numbers."""
    best = top_k(rows, metric, 1)
    if not best:
        return f"no checkpoint has a {metric} value"
    config = config if config is not None else find_recipe_config(inputs, best[0])
    if not config or not config.get("published"):
        mode = best[0].get("quantize", "unknown")
        return f"best by {metric} (scored as quantize={mode}): step {best[0]['step']}  {best[0]['checkpoint']}"
    return published_comparison(config, best[0])


def sweep_summary(csv_files, config: dict, metric: str = SELECTION_METRIC, quantize: str | None = None) -> str | None:
    """best_report over every CSV in the folders of csv_files (earlier sweeps included) scored with `quantize`
    (None: every CSV); the published comparison only when config carries a recipe's numbers. None when nothing
    has the metric."""
    folders = sorted({Path(c).parent for c in csv_files if Path(c).parent.is_dir()})
    rows = scored_as(merge(folders), quantize) if folders else []
    if not rows or metric not in metric_names(rows):
        return None
    return best_report(rows, folders, metric, config if config.get("published") else None)
