"""Data helper: synthetic dataset, demosaic cache preparation, dataset check, val/test split lists.

  python -m tools.data synth   [--out datasets/synthetic]            both layouts: <out>/fujifilm, <out>/zrr
  python -m tools.data prepare --root R --preset P --split S          fill the demosaic cache (all cores)
  python -m tools.data check   --root R --preset P                    print every problem found
  python -m tools.data split   --root R --preset P --n-val 1024 --n-test 1024   write train/val/test lists
  python -m tools.data ingest  --raw DNGS --photos PHOTOS --out ROOT [--patch 256]  your camera (dataset=camera)
"""
from __future__ import annotations

import argparse
import functools
import multiprocessing
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
    from data.synth.synthetic_ntire import make_synthetic_ntire

    for layout in args.layouts:
        if layout == "ntire2026":
            requested = {"train": args.train, "val": args.val, "test": args.test}
            counts = {k: v for k, v in requested.items() if v is not None}
            start = time.time()
            root = make_synthetic_ntire(Path(args.out) / layout, counts=counts or None, size=args.ntire_size,
                                        seed=args.seed, progress=True)
            print(f"{layout}: wrote {root} in {time.time() - start:.1f} s")
            continue
        counts = {"train": args.train, "val": args.val, "test": args.test}
        counts = {k: v for k, v in counts.items() if v is not None and (layout == "fujifilm" or k != "val")}
        size = args.fujifilm_size if layout == "fujifilm" else args.zrr_size
        start = time.time()
        root = make_synthetic_dataset(Path(args.out) / layout, layout, counts=counts or None, size=size,
                                      seed=args.seed, progress=True)
        print(f"{layout}: wrote {root} in {time.time() - start:.1f} s")
    return 0


def _prepare_one(raw_path, cache_dir, method, white_level, demosaic_kwargs, preset="fujifilm"):
    from data import BadInputError, dataset_reference, get_preset, read_mosaic

    try:
        raw = read_mosaic(raw_path, get_preset(preset))  # the preset's file format (.png mosaic or packed .npy)
        dataset_reference(raw_path, cache_dir, method, white_level, demosaic_kwargs, raw=raw)
        return None
    except BadInputError as error:
        return str(error)


def _demosaic_kwargs(args) -> dict:
    kwargs = {}
    if args.wb_gains is not None:
        kwargs["wb_gains"] = tuple(args.wb_gains)
    if args.gamma is not None:
        kwargs["gamma"] = args.gamma
    kwargs["scaling"] = args.scaling
    return kwargs


def cmd_prepare(args) -> int:
    from tqdm import tqdm

    from data import BadInputError, get_preset, select_listed
    from data.readers.layout import list_images, split_dirs

    preset = get_preset(args.preset)
    if preset.per_file_levels:
        raise BadInputError(f"prepare: the {preset.name} preset keys references by each file's own white level; "
                            "they are computed and cached during the first pass of fit.py instead")
    cache_dir = Path(args.cache_dir)
    white_level = preset.white_level if args.white_level is None else args.white_level
    raw_dir, _ = split_dirs(args.root, args.split, preset)
    paths = list(select_listed(list_images(raw_dir, preset.raw_ext), args.indices, raw_dir).values())
    work = functools.partial(_prepare_one, cache_dir=cache_dir, method=args.method, white_level=white_level,
                             demosaic_kwargs=_demosaic_kwargs(args), preset=preset.name)
    workers = max(1, args.workers)
    failures = []
    with Pool(workers) as pool:
        results = pool.imap_unordered(work, paths, chunksize=4)
        label = f"demosaic {args.method} ({args.scaling}) {args.split}"
        for problem in tqdm(results, total=len(paths), desc=label, unit="img"):
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
    from data import get_preset, make_split, select_listed, write_split_lists
    from data.readers.layout import list_images, split_dirs

    preset = get_preset(args.preset)
    raw_dir, _ = split_dirs(args.root, args.source_split, preset)
    raws = list_images(raw_dir, preset.raw_ext)
    exclude = select_listed(raws, args.exclude, raw_dir) if args.exclude else {}  # an unknown stem is an error
    split = make_split(raws, args.n_val, args.n_test, args.seed, exclude)
    out_dir = Path(args.out) if args.out else Path(args.root) / "splits"
    header = (f"stems of {Path(args.root) / args.source_split / preset.raw_dir} (tools.data split, seed {args.seed}); "
              "one file stem per line")
    for name, path in write_split_lists(out_dir, split, header).items():
        print(f"{path}: {len(split[name])} images")
    return 0


def _ingest_one(job, out_root, split, patch, photo_patch):
    """One RAW or photo file -> its tiles; (kind, manifest entries, problem or None). Never raises for bad data."""
    from data import BadInputError
    from data.readers.ingest import ingest_photo_file, ingest_raw_file

    kind, path = job
    folder = "raw" if kind == "raw" else "photos"
    write = ingest_raw_file if kind == "raw" else ingest_photo_file
    size = patch if kind == "raw" else photo_patch
    try:
        return kind, write(path, Path(out_root) / split / folder, size, size, f"{split}/{folder}"), None
    except BadInputError as error:
        return kind, {}, str(error)


def cmd_ingest(args) -> int:
    import json

    from tqdm import tqdm

    from data.readers.camera import MANIFEST_NAME
    from data.readers.ingest import CAMERA_RAW_EXTS, PHOTO_EXTS, list_files, write_manifest

    out = Path(args.out)
    jobs = [("raw", p) for p in list_files(args.raw, CAMERA_RAW_EXTS)]
    jobs += [("photo", p) for p in list_files(args.photos, PHOTO_EXTS)]
    out.mkdir(parents=True, exist_ok=True)
    old = out / MANIFEST_NAME  # a second ingest (another split, more files) adds to the manifest
    manifest = json.loads(old.read_text()) if old.is_file() else {}
    manifest.setdefault("raw_patches", {})
    manifest.setdefault("photo_patches", {})
    manifest["patch"], manifest["photo_patch"] = args.patch, args.photo_patch or args.patch
    work = functools.partial(_ingest_one, out_root=out, split=args.split, patch=args.patch,
                             photo_patch=args.photo_patch or args.patch)
    bad, start = [], time.time()
    # spawn, not fork: LibRaw (rawpy) uses OpenMP, which can deadlock in forked workers
    with multiprocessing.get_context("spawn").Pool(max(1, args.workers)) as pool:
        for kind, entries, problem in tqdm(pool.imap_unordered(work, jobs), total=len(jobs), desc="ingest",
                                           unit="file"):
            manifest["raw_patches" if kind == "raw" else "photo_patches"].update(entries)
            if problem:
                bad.append(problem)
    manifest["bad_files"] = sorted(set(manifest.get("bad_files", [])) | set(bad))
    write_manifest(out, manifest)
    seconds = time.time() - start
    print(f"{out}: {len(manifest['raw_patches'])} RAW and {len(manifest['photo_patches'])} photo patches, "
          f"{len(jobs) - len(bad)}/{len(jobs)} files in {seconds:.1f} s ({len(jobs) / seconds:.1f} files/s); "
          f"train with: python fit.py --set dataset=camera data_root={out}")
    for problem in bad:
        print(f"  skipped {problem}", file=sys.stderr)
    return 1 if bad else 0


def _dataset_args(parser, preset_default="fujifilm"):
    parser.add_argument("--root", required=True, help="dataset root holding <split>/<raw_dir>/...")
    parser.add_argument("--preset", default=preset_default, choices=["fujifilm", "zrr", "ntire2026", "camera"],
                        help="dataset layout")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="write the embedded synthetic dataset (both layouts)")
    synth.add_argument("--out", default="datasets/synthetic", help="output folder (default %(default)s)")
    synth.add_argument("--layouts", nargs="+", default=["fujifilm", "zrr"], choices=["fujifilm", "zrr", "ntire2026"],
                       help="ntire2026: packed .npy RAW + unrelated JPEG photos (challenge layout)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--train", type=int, default=None, help="images per split (default 192/32/32)")
    synth.add_argument("--val", type=int, default=None)
    synth.add_argument("--test", type=int, default=None)
    synth.add_argument("--fujifilm-size", type=int, default=None, help="RAW side (default 256; target the same size)")
    synth.add_argument("--zrr-size", type=int, default=None, help="RAW side (default 448; JPG target the same size)")
    synth.add_argument("--ntire-size", type=int, default=None, help="RAW mosaic side (default 256; .npy half)")
    synth.set_defaults(func=cmd_synth)

    prepare = commands.add_parser("prepare", help="fill the demosaic reference cache of one split (all cores)")
    _dataset_args(prepare)
    prepare.add_argument("--split", default="train")
    prepare.add_argument("--method", default="menon", choices=["menon", "opencv", "grayworld"])
    prepare.add_argument("--scaling", default="uint16", choices=["uint16", "white_level"],
                         help="reference scaling, as config.py's reference_scaling (default %(default)s: the release)")
    prepare.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR),
                         help="default %(default)s (relative to the current folder, as in config.py)")
    prepare.add_argument("--indices", default=None,
                         help="index list (stems, one per line, # comments) to prepare (default: whole split)")
    prepare.add_argument("--white-level", type=float, default=None,
                         help="default: the preset's white level (used by --scaling white_level)")
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
    split.add_argument("--exclude", default=None, help="index list of stems to leave out (e.g. misaligned pairs)")
    split.add_argument("--out", default=None, help="output folder (default <root>/splits)")
    split.set_defaults(func=cmd_split)

    ingest = commands.add_parser("ingest", help="unpaired training set from your camera's RAW files and photos")
    ingest.add_argument("--raw", required=True, help="folder of DNG / LibRaw-readable RAW files (Bayer sensors)")
    ingest.add_argument("--photos", required=True, help="folder of unrelated good photos (JPEG/PNG)")
    ingest.add_argument("--out", required=True, help="dataset root to write (<out>/<split>/{raw,photos}, manifest)")
    ingest.add_argument("--patch", type=int, default=256, help="RAW tile side in mosaic pixels, even (default 256)")
    ingest.add_argument("--photo-patch", type=int, default=0,
                        help="photo tile side (default: the generator's output size for --patch tiles = --patch)")
    ingest.add_argument("--split", default="train", help="split folder to write (default train)")
    ingest.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="default: all cores")
    ingest.set_defaults(func=cmd_ingest)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m tools.data"))
