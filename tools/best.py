"""Pick the best checkpoints of a sweep: merge inference.py CSVs, print the top k, plot metrics vs step
(a command line over evaluation.selection and evaluation.tables).

  python -m tools.best runs/fuji_unpaired/eval_val                    # top 5 by PSNR
  python -m tools.best runs/x/eval_val --metric ssim --top 10 --plot curves.png --merged all.csv
Inputs are per-checkpoint CSVs or folders holding them (searched recursively); only their
summary rows (file == 'mean') are used. LPIPS and delta_e2000 rank lower-is-better, every other metric higher.
--quantize MODE ranks only the CSVs scored that way (e.g. jpeg75: the score of the submitted JPEGs, as the
NTIRE 2026 leaderboard computes it); CSVs of several modes together are ranked with a note.
When the run came from a reproduction recipe (its config.json, found beside the checkpoints or above
the CSV folder, or given with --config, has 'published' metrics), the paper's numbers are printed
beside the best checkpoint's, with the difference.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evaluation import (
    LOWER_IS_BETTER,
    QUANTIZE_CHOICES,
    SELECTION_METRIC,
    best_report,
    format_table,
    merge,
    metric_names,
    mixed_modes_note,
    plot_metrics,
    scored_as,
    top_k,
    write_merged,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", help="checkpoint CSVs or folders of them")
    p.add_argument("--metric", default=SELECTION_METRIC, help="ranking metric (default %(default)s)")
    p.add_argument("--quantize", choices=QUANTIZE_CHOICES,
                   help="rank only CSVs scored this way (inference.py --quantize; jpeg75 = the submitted JPEGs' "
                        "score); default: every CSV")
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
    if args.quantize:
        modes = sorted({str(r["quantize"]) for r in rows})
        rows = scored_as(rows, args.quantize)
        if not rows:
            raise SystemExit(f"no CSV in {args.inputs} was scored with --quantize {args.quantize} (found: "
                             f"{', '.join(modes)}); sweep with inference.py --quantize {args.quantize}")
    elif mixed_modes_note(rows):
        print(mixed_modes_note(rows))
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
