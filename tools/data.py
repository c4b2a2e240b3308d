"""Data helper: synthetic dataset, demosaic cache preparation, dataset check, val/test split lists.

  python -m tools.data synth   [--out datasets/synthetic]            both layouts: <out>/fujifilm, <out>/zrr
  python -m tools.data prepare --root R --preset P --split S          fill the demosaic cache (all cores)
  python -m tools.data check   --root R --preset P                    print every problem found
  python -m tools.data split   --root R --preset P --n-val 1024 --n-test 1024   write train/val/test lists
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

# Same default as config.py's cache_dir, so `prepare` fills the cache that training reads. Entries are keyed by
# the RAW file's absolute path, size and mtime plus the settings, so one cache serves every dataset.
DEFAULT_CACHE_DIR = Path(".cache") / "demosaic"


def cmd_synth(args) -> int:
    from data import make_synthetic_dataset

    for layout in args.layouts:
        counts = {"train": args.train, "val": args.val, "test": args.test}
        counts = {k: v for k, v in counts.items() if v is not None and (layout == "fujifilm" or k != "val")}
        size = args.fujifilm_size if layout == "fujifilm" else args.zrr_size
        start = time.time()
        root = make_synthetic_dataset(Path(args.out) / layout, layout, counts=counts or None, size=size,
                                      seed=args.seed, progress=True)
        print(f"{layout}: wrote {root} in {time.time() - start:.1f} s")
    return 0


def _prepare_one(raw_path, cache_dir, method, white_level, demosaic_kwargs):
    from data import BadInputError, dataset_reference

    try:
        dataset_reference(raw_path, cache_dir, method, white_level, demosaic_kwargs)
        return None
    except BadInputError as error:
        return str(error)


def _demosaic_kwargs(args) -> dict:
    kwargs = {}
    if args.wb_gains is not None:
        kwargs["wb_gains"] = tuple(args.wb_gains)
    if args.gamma is not None:
        kwargs["gamma"] = args.gamma
    return kwargs


def cmd_prepare(args) -> int:
    from tqdm import tqdm

    from data import get_preset, read_index_list
    from data.layout import list_images, split_dirs

    preset = get_preset(args.preset)
    cache_dir = Path(args.cache_dir)
    white_level = preset.white_level if args.white_level is None else args.white_level
    raw_dir, _ = split_dirs(args.root, args.split, preset)
    raws = list_images(raw_dir, preset.raw_ext)
    paths = list(raws.values()) if args.indices is None else [raws[s] for s in read_index_list(args.indices)]
    work = functools.partial(_prepare_one, cache_dir=cache_dir, method=args.method, white_level=white_level,
                             demosaic_kwargs=_demosaic_kwargs(args))
    workers = max(1, args.workers)
    failures = []
    with Pool(workers) as pool:
        results = pool.imap_unordered(work, paths, chunksize=4)
        for problem in tqdm(results, total=len(paths), desc=f"demosaic {args.method} {args.split}", unit="img"):
            if problem:
                failures.append(problem)
    print(f"cache {cache_dir}: {len(paths) - len(failures)} references ready, {len(failures)} failed")
    for problem in failures:
        print(f"  {problem}", file=sys.stderr)
    return 1 if failures else 0


def cmd_check(args) -> int:
    from data import check_dataset

    problems = check_dataset(args.root, args.preset, splits=args.splits)
    for problem in problems:
        print(problem)
    print(f"{args.root}: {len(problems)} problem(s)" if problems else f"{args.root}: OK")
    return 1 if problems else 0


def cmd_split(args) -> int:
    from data import get_preset, make_split, read_index_list, write_split_lists
    from data.layout import list_images, split_dirs

    preset = get_preset(args.preset)
    raw_dir, _ = split_dirs(args.root, args.source_split, preset)
    exclude = read_index_list(args.exclude) if args.exclude else ()
    split = make_split(list_images(raw_dir, preset.raw_ext), args.n_val, args.n_test, args.seed, exclude)
    out_dir = Path(args.out) if args.out else Path(args.root) / "splits"
    for name, path in write_split_lists(out_dir, split).items():
        print(f"{path}: {len(split[name])} images")
    return 0


def _dataset_args(parser, preset_default="fujifilm"):
    parser.add_argument("--root", required=True, help="dataset root holding <split>/<raw_dir>/...")
    parser.add_argument("--preset", default=preset_default, choices=["fujifilm", "zrr"], help="dataset layout")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="write the embedded synthetic dataset (both layouts)")
    synth.add_argument("--out", default="datasets/synthetic", help="output folder (default %(default)s)")
    synth.add_argument("--layouts", nargs="+", default=["fujifilm", "zrr"], choices=["fujifilm", "zrr"])
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--train", type=int, default=None, help="images per split (default 192/32/32)")
    synth.add_argument("--val", type=int, default=None)
    synth.add_argument("--test", type=int, default=None)
    synth.add_argument("--fujifilm-size", type=int, default=None, help="RAW side (default 256; target same)")
    synth.add_argument("--zrr-size", type=int, default=None, help="RAW side (default 224; JPG target twice)")
    synth.set_defaults(func=cmd_synth)

    prepare = commands.add_parser("prepare", help="fill the demosaic reference cache of one split (all cores)")
    _dataset_args(prepare)
    prepare.add_argument("--split", default="train")
    prepare.add_argument("--method", default="menon", choices=["menon", "opencv"])
    prepare.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR),
                         help="default %(default)s (relative to the current folder, as in config.py)")
    prepare.add_argument("--indices", default=None, help="text file of stems to prepare (default: whole split)")
    prepare.add_argument("--white-level", type=float, default=None, help="default: the preset's white level")
    prepare.add_argument("--wb-gains", type=float, nargs=3, default=None, help="default 1.6 1.2 1.4")
    prepare.add_argument("--gamma", type=float, default=None, help="default 2.2")
    prepare.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="default: all cores")
    prepare.set_defaults(func=cmd_prepare)

    check = commands.add_parser("check", help="scan a dataset and print every problem")
    _dataset_args(check)
    check.add_argument("--splits", nargs="+", default=None, help="default: the preset's splits that exist")
    check.set_defaults(func=cmd_check)

    split = commands.add_parser("split", help="write reproducible train/val/test index lists")
    _dataset_args(split)
    split.add_argument("--source-split", default="train", help="split whose files are divided")
    split.add_argument("--n-val", type=int, default=1024)
    split.add_argument("--n-test", type=int, default=1024)
    split.add_argument("--seed", type=int, default=0)
    split.add_argument("--exclude", default=None, help="text file of stems to leave out (e.g. misaligned pairs)")
    split.add_argument("--out", default=None, help="output folder (default <root>/splits)")
    split.set_defaults(func=cmd_split)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from data import BadInputError

    try:
        return args.func(args)
    except BadInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m tools.data"))
