"""NTIRE 2026 submission: one JPEG per packed RAW .npy, named like the input, plus a zip of the folder.

  python -m tools.submit --checkpoint runs/x/unpaired/checkpoints/G_step_40000.pth --backbone efficient_isp \\
      --input /data/ntire2026/test/raws --output submission/
  python -m tools.submit --checkpoint X --input DIR --output DIR --quality 90 --device cuda
  python -m tools.submit --checkpoint X --input <root>/val/raws --output sub_val/ --gt <root>/val/gt
  python -m tools.submit --zip submission.zip --gt DIR            # score an existing zip only

As the challenge baseline saves them (docs/method.md §9): output clamped to [0, 1], x255, TRUNCATED to uint8
(not rounded), written by PIL as JPEG with quality 75 (PIL's default) unless --quality says otherwise; the
writer is evaluation.write_jpeg, the one test_model.py / inference.py --quantize jpeg75 score through.
The zip (default <output>.zip) holds the JPEGs at its top level. A bad input file is listed and skipped;
the others are still written, and the exit code is then 1.
--gt DIR scores the very files inside the zip (read back from it, decoded by PIL) against the ground-truth
images of DIR with the same stem (.png, .jpg or .jpeg): PSNR, SSIM and CIEDE2000 per file and their means, the
challenge's metrics. A file without ground truth (or with a bad one) is one named line and the others are
scored; the exit code is then 1.
"""
from __future__ import annotations

import argparse
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from common import atomic_write
from evaluation import (
    SUBMISSION_JPEG_QUALITY,
    BadSubmissionImageError,
    decode_jpeg,
    quantize_8bit,
    score_batch,
    with_summary,
    write_jpeg,
)
from wiring import IMAGE_EXTS, data_config, data_preset, find_image, load_input, load_model

CHALLENGE_METRICS = ("psnr", "ssim", "delta_e2000")  # PSNR ranks; SSIM and Delta E 2000 are reported beside it


def to_uint8_truncated(output: torch.Tensor) -> np.ndarray:
    """(3, H, W) float output -> (H, W, 3) uint8: clamp to [0, 1], x255, truncate (the release's PNG levels)."""
    return quantize_8bit(output.detach().float(), "truncate").cpu().numpy().transpose(1, 2, 0)


def write_zip(folder: Path, names: list, zip_path: Path) -> None:
    """The listed files of folder at the top level of zip_path (atomic)."""
    with atomic_write(zip_path, "wb") as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                archive.write(folder / name, arcname=name)


def score_member(archive: zipfile.ZipFile, name: str, gt_path: Path, label: str) -> dict:
    """The challenge's metrics of one JPEG of the zip, decoded as stored, against its ground truth."""
    from data import read_rgb

    decoded = decode_jpeg(archive.read(name), f"{label}:{name}")
    truth = read_rgb(gt_path)
    if decoded.shape != truth.shape:
        raise BadSubmissionImageError(f"{label}:{name}: {decoded.shape[1]}x{decoded.shape[0]} but its ground truth "
                                      f"{gt_path} is {truth.shape[1]}x{truth.shape[0]}; submit the ground truth's "
                                      "size (the generator's output of the full input)")
    pred = torch.from_numpy(decoded.transpose(2, 0, 1)[None].astype(np.float64) / 255.0)
    target = torch.from_numpy(truth.transpose(2, 0, 1)[None].astype(np.float64))
    scores = score_batch(pred, target, metrics=CHALLENGE_METRICS)
    return {"file": name, **{k: v[0].item() for k, v in scores.items()}}


def score_zip(zip_path: Path, gt_dir: Path) -> tuple[list[dict], list[str]]:
    """Per-file scores of the .jpg files inside zip_path against gt_dir/<stem>.*, and one line per file that
    could not be scored (no ground truth, a bad ground truth or a JPEG that does not decode)."""
    from data import BadInputError

    try:
        archive = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as error:
        raise SystemExit(f"{zip_path}: cannot be read as a zip ({error}); write it again with --checkpoint") from None
    rows, problems = [], []
    with archive:
        names = sorted(n for n in archive.namelist() if n.lower().endswith(".jpg"))
        if not names:
            raise SystemExit(f"{zip_path}: holds no .jpg files; write it with --checkpoint --input --output")
        for name in tqdm(names, desc="scoring", unit="img"):
            gt_path = find_image(gt_dir, Path(name).stem)
            if gt_path is None:
                problems.append(f"{name}: no ground truth {Path(name).stem}{{{','.join(IMAGE_EXTS)}}} in {gt_dir}; "
                                "add it or check the names")
                continue
            try:
                rows.append(score_member(archive, name, gt_path, str(zip_path)))
            except (BadSubmissionImageError, BadInputError) as error:
                problems.append(str(error))
    return rows, problems


def print_scores(rows: list[dict], zip_path: Path) -> None:
    print(f"scores of {len(rows)} file(s) in {zip_path} as the challenge reads them (decoded JPEGs; PSNR ranks, "
          "delta_e2000 lower is better):")
    print(f"{'file':>24}  {'psnr':>8}  {'ssim':>7}  {'delta_e2000':>11}")
    for row in with_summary(rows):
        print(f"{row['file']:>24}  {row['psnr']:8.4f}  {row['ssim']:7.4f}  {row['delta_e2000']:11.4f}")


def report_scores(zip_path: Path, gt_dir: Path) -> int:
    """Print the zip's scores; 1 when some file could not be scored (each named on stderr)."""
    rows, problems = score_zip(zip_path, gt_dir)
    if rows:
        print_scores(rows, zip_path)
    for problem in problems:
        print(f"tools.submit: not scored: {problem}", file=sys.stderr)
    if not rows:
        raise SystemExit(f"no file of {zip_path} could be scored against {gt_dir} (see above)")
    return 1 if problems else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.submit", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="generator checkpoint path or published registry name (without it, "
                                        "--gt scores the existing --zip)")
    p.add_argument("--backbone", help="generator name (default: from the registry or the state_dict)")
    p.add_argument("--input", help="folder of packed RAW .npy files (e.g. <root>/test/raws)")
    p.add_argument("--output", help="folder for the JPEGs")
    p.add_argument("--dataset", default="ntire2026", choices=["ntire2026"],
                   help="preset of the inputs: normalisation and packed channel order")
    p.add_argument("--quality", type=int, default=SUBMISSION_JPEG_QUALITY,
                   help="JPEG quality 1-100 (default %(default)s, as the challenge baseline)")
    p.add_argument("--zip", help="zip file to write (default <output>.zip); without --checkpoint, the zip to score")
    p.add_argument("--gt", help="folder of ground-truth images named like the inputs: print the scores of the "
                                "files inside the zip")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="torch device (default: cuda when present, else cpu)")
    return p


def zip_path_of(args) -> Path:
    return Path(args.zip) if args.zip else Path(args.output).with_suffix(".zip")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.gt and not Path(args.gt).is_dir():
        raise SystemExit(f"--gt is not a folder: {args.gt}")
    if args.checkpoint is None:
        if not args.gt or not (args.zip or args.output):
            raise SystemExit("give --checkpoint, --input and --output to write a submission, or --gt with --zip "
                             "to score an existing one")
        return report_scores(zip_path_of(args), Path(args.gt))
    if not args.input or not args.output:
        raise SystemExit("--checkpoint needs --input (the .npy folder) and --output (the JPEG folder)")
    code, written = write_submission(args)
    if not args.gt or not written:  # no fresh zip: never score an earlier one by mistake
        return code
    return max(code, report_scores(zip_path_of(args), Path(args.gt)))


def write_submission(args) -> tuple[int, int]:
    """The JPEGs and their zip: (exit code, 1 when bad input files were skipped; number of JPEGs written)."""
    from data import BadInputError

    if not 1 <= args.quality <= 100:
        print(f"tools.submit: --quality {args.quality} is outside 1-100", file=sys.stderr)
        return 2, 0
    preset, in_dir, out_dir = data_preset(data_config({"dataset": args.dataset})), Path(args.input), Path(args.output)
    files = sorted(in_dir.glob(f"*{preset.raw_ext}")) if in_dir.is_dir() else []
    if not files:
        print(f"tools.submit: no {preset.raw_ext} files in {in_dir}", file=sys.stderr)
        return 2, 0
    _, backbone, model, info = load_model(args.checkpoint, args.backbone, args.device)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, failed, start = [], [], time.perf_counter()
    with torch.no_grad():
        for path in tqdm(files, desc="submission", unit="img"):
            try:
                x = load_input(path, preset, info["input_kind"]).to(args.device)
            except BadInputError as error:
                failed.append(str(error))
                continue
            name = f"{path.stem}.jpg"
            write_jpeg(out_dir / name, to_uint8_truncated(model(x)[0]), args.quality)
            written.append(name)
    seconds = time.perf_counter() - start
    zip_path = zip_path_of(args)
    if written:
        write_zip(out_dir, written, zip_path)
    print(f"{len(written)} JPEG(s) in {out_dir} ({len(written) / seconds:.2f} images/s on {args.device}, "
          f"{backbone}, quality {args.quality}); zip: {zip_path if written else 'not written'}")
    if failed:
        print(f"{len(failed)} bad input file(s) skipped:", file=sys.stderr)
        for problem in failed:
            print(f"  {problem}", file=sys.stderr)
        return 1, len(written)
    return 0, len(written)


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m tools.submit"))
