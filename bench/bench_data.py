"""Throughput of the training data path: ISPDataset + DataLoader (batch 32) on 256x256 Fujifilm-style pairs,
with the demosaiced reference computed on the fly (cold cache) and read back from disk (warm cache).

  python -m bench.bench_data                 # ~1 minute on 2 cores: 96 synthetic images
  python -m bench.bench_data --root datasets/synthetic/fujifilm --split train --images 0
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def measure(dataset, batch_size, workers, passes=1) -> tuple:
    """(overall samples/s, steady samples/s after the first batch, seconds to the first batch, samples seen).

    Worker start-up (spawning, imports) lands in the first batch; the steady figure leaves it out. With few
    batches and several workers the steady figure flatters a cold cache (workers build batches in parallel),
    so the overall figure is the honest one there.
    """
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0, drop_last=False)
    seen, first_batch_at, start = 0, None, time.perf_counter()
    for _ in range(passes):
        for batch in loader:
            seen += batch["raw"].shape[0]
            if first_batch_at is None:
                first_batch_at, first_size = time.perf_counter(), seen
    elapsed = time.perf_counter() - first_batch_at
    rate = (seen - first_size) / elapsed if seen > first_size and elapsed > 0 else float("nan")
    return seen / (time.perf_counter() - start), rate, first_batch_at - start, seen


def _report(label, figures):
    overall, steady, first, seen = figures
    print(f"  {label:<22}: {overall:7.1f} samples/s overall, {steady:7.1f} after the first batch "
          f"({seen} samples; first batch {first:.2f} s)")


def run(args) -> None:
    from data import make_synthetic_dataset
    from wiring import build_dataset, data_config

    with tempfile.TemporaryDirectory(prefix="bench_data_") as scratch:
        root = Path(args.root) if args.root else Path(scratch) / "fujifilm"
        if not args.root:
            start = time.perf_counter()
            make_synthetic_dataset(root, "fujifilm", counts={"train": args.images}, size=args.size, seed=0)
            print(f"generated {args.images} synthetic {args.size}x{args.size} pairs in "
                  f"{time.perf_counter() - start:.1f} s")
        cache_dir = Path(scratch) / "cache"
        cfg = data_config({"dataset": "fujifilm", "data_root": str(root), "demosaic": args.method,
                           "cache_dir": str(cache_dir)})  # fit.py's own dataset (config.py's other data keys)
        plain = build_dataset(cfg, args.split, args.input_kind)
        with_ref = build_dataset(cfg, args.split, args.input_kind, reference=True)
        print(f"{len(plain)} images, batch {args.batch_size}, {args.workers} DataLoader worker(s), "
              f"reference={args.method}, input={args.input_kind}")
        _report("no reference", measure(plain, args.batch_size, args.workers, args.passes))
        _report("reference, cold cache", measure(with_ref, args.batch_size, args.workers, 1))
        _report("reference, warm cache", measure(with_ref, args.batch_size, args.workers, args.passes))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=None, help="existing Fujifilm-layout dataset (default: synthesise one)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--images", type=int, default=96, help="synthetic images to generate (default 96)")
    parser.add_argument("--size", type=int, default=256, help="synthetic RAW/target side (default 256)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="DataLoader workers")
    parser.add_argument("--method", default="menon", choices=["menon", "opencv"])
    parser.add_argument("--input-kind", default="packed4", choices=["packed4", "split3"])
    parser.add_argument("--passes", type=int, default=2, help="passes over the data for the warm figures")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
