"""Metric CSVs: one per checkpoint (or per test_model.py run) with a row per image and a last 'mean' row,
and the merge of many such CSVs into one summary per checkpoint. Every file is written with
common.atomic_write, so an existing CSV is a complete one."""
from __future__ import annotations

import csv
import math
from pathlib import Path

from common import atomic_write

from .metrics import QUANTIZE_ALIASES

SUMMARY_NAME = "mean"  # the `file` value of the summary row
FAILED_LOG = "failed.csv"  # a sweep's log of checkpoints that could not be scored
NON_METRIC_COLUMNS = ("file", "step", "checkpoint", "quantize")


def summarise(rows: list[dict]) -> dict:
    """Mean of each metric over images, ignoring NaN (MS-SSIM on images too small for 5 scales)."""
    summary = {}
    for key in rows[0]:
        if key == "file":
            continue
        values = [r[key] for r in rows if not math.isnan(r[key])]
        summary[key] = sum(values) / len(values) if values else math.nan
    return summary


def with_summary(rows: list[dict]) -> list[dict]:
    """The per-image rows followed by their 'mean' row."""
    return rows + [{"file": SUMMARY_NAME, **summarise(rows)}]


def write_csv(path, rows: list[dict], columns=None) -> None:
    """rows as a CSV (header = columns, default the first row's keys; extra keys are dropped), atomically."""
    with atomic_write(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns or rows[0]), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def checkpoint_table(rows: list[dict], step, checkpoint, quantize: str) -> list[dict]:
    """A checkpoint's CSV rows: file, step, the metrics, checkpoint, quantize; the last row is the mean."""
    extra = {"checkpoint": str(checkpoint), "quantize": quantize}
    return [{"file": r["file"], "step": step, **{k: v for k, v in r.items() if k != "file"}, **extra}
            for r in with_summary(rows)]


def already_scored(csv_path: Path, metrics, quantize: str = "none") -> bool:
    """A complete CSV (written atomically, so existing = complete) holding every requested metric,
    scored with the same quantisation, aliases included (CSVs from before the column existed are scored again)."""
    if not csv_path.is_file():
        return False
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or _mode(rows[-1].get("quantize")) != _mode(quantize):
        return False
    return all(m in rows[-1] for m in metrics)


def _mode(quantize):
    """A CSV's quantize value with aliases resolved ('truncate', the earlier spelling, is 'png8')."""
    return QUANTIZE_ALIASES.get(quantize, quantize)


def record_failure(out_csv: Path, checkpoint, error: Exception) -> None:
    """One line in FAILED_LOG beside out_csv. An append, not atomic_write: parallel sweep workers share the
    log, and one short append per failure cannot interleave."""
    log = out_csv.parent / FAILED_LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    message = str(error).replace("\n", " ")[:300]
    with open(log, "a") as handle:
        handle.write(f"{checkpoint},{type(error).__name__}: {message}\n")


def find_csvs(inputs) -> list[Path]:
    """The checkpoint CSVs among inputs (files, or folders searched recursively; the failure log skipped)."""
    files = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.csv") if p.name != FAILED_LOG)
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
    """The summary row of one checkpoint CSV as {checkpoint, step, quantize, metric: float}, None if absent."""
    with open(path, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("file") == SUMMARY_NAME]
    if not rows:
        return None
    row = rows[-1]
    step = _number(row.get("step"))
    merged = {"checkpoint": row.get("checkpoint") or path.stem, "step": None if math.isnan(step) else int(step),
              "quantize": _mode(row.get("quantize")) or "unknown"}
    merged.update({k: _number(v) for k, v in row.items() if k not in NON_METRIC_COLUMNS})
    return merged


def merge(inputs) -> list[dict]:
    """One summary per checkpoint and quantize mode (later files win on duplicates), sorted by step: a float
    and a jpeg75 sweep of the same checkpoints both stay, for selection by either."""
    by_checkpoint = {}
    for path in find_csvs(inputs):
        summary = read_summary(path)
        if summary is not None:
            by_checkpoint[summary["checkpoint"], summary["quantize"]] = summary
    rows = list(by_checkpoint.values())
    return sorted(rows, key=lambda r: (r["step"] is None, r["step"] or 0, r["checkpoint"]))


def metric_names(rows) -> list[str]:
    names = []
    for row in rows:
        names += [k for k in row if k not in NON_METRIC_COLUMNS and k not in names]
    return names


def write_merged(rows, path) -> None:
    """Every checkpoint's summary in one CSV: step, the metrics, checkpoint."""
    write_csv(path, rows, columns=["step", *metric_names(rows), "checkpoint"])
