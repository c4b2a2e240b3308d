"""Semantic pseudo-pairing (docs/pairing.md): embed the training split's RAW files (through their demosaiced
reference) and its photos, match the two sets with optimal transport on the cosine cost, and write
pairing.csv (raw, photo, cost, rank), pairing.json (what made it) and pairing_contact_sheet.png (each RAW's
reference beside its matched photo: the best and the worst matches).

The data and pairing settings are config keys (config.py: dataset, data_root, train_split, demosaic, ...,
pairing_embedder, pairing_matcher, ...), so fit.py reuses this file when its run has the same inputs and
settings: point config key pairing_csv at it.

examples:
  python -m tools.pairing --out runs/pairing                                   # config.py as it is
  python -m tools.pairing --set dataset=ntire2026 data_root=datasets/ntire2026 pairing_embedder=dinov2_small
  python -m tools.pairing --config recipes/semantic_pairing_efficient_isp.py --set pairing_matcher=fgw
  python fit.py --config recipes/semantic_pairing_efficient_isp.py --set pairing_csv=runs/pairing/pairing.csv
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from training.config_loader import load_config
from training.pairing_run import compute_pairing, contact_sheet_path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.pairing", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config.py", help="config file (data and pairing_* keys)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override config keys")
    parser.add_argument("--out", default="runs/pairing", help="folder of pairing.csv and the contact sheet")
    parser.add_argument("--device", default="auto", help="embedder device: auto | cpu | cuda | cuda:N")
    parser.add_argument("--skip-bad", action="store_true", help="skip photos that do not decode (else: stop, "
                        "naming the first, after embedding and caching every good file)")
    parser.add_argument("--force", action="store_true", help="pair again even when pairing.csv matches")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config, args.set)
    cfg["skip_bad_files"] = cfg["skip_bad_files"] or args.skip_bad
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    path, reused = compute_pairing(cfg, Path(args.out) / "pairing.csv", device, force=args.force)
    print(f"[pairing] {'reused (inputs and settings unchanged)' if reused else 'wrote'} {path}")
    print(f"[pairing] contact sheet: {contact_sheet_path(path)}")
    return 0


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m tools.pairing"))
