"""NTIRE 2026 submission: one JPEG per packed RAW .npy, named like the input, plus a zip of the folder.

  python -m tools.submit --checkpoint runs/x/unpaired/checkpoints/G_step_40000.pth --backbone efficient_isp \\
      --input /data/ntire2026/test/raws --output submission/
  python -m tools.submit --checkpoint X --input DIR --output DIR --quality 90 --device cuda

As the challenge baseline saves them (docs/method.md §9): output clamped to [0, 1], x255, TRUNCATED to uint8
(not rounded), written by PIL as JPEG with quality 75 (PIL's default) unless --quality says otherwise.
The zip (default <output>.zip) holds the JPEGs at its top level. A bad input file is listed and skipped;
the others are still written, and the exit code is then 1.
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
from evaluation import quantize_8bit
from wiring import data_config, data_preset, load_input, load_model

BASELINE_JPEG_QUALITY = 75  # PIL's default, which the challenge baseline's save uses


def to_uint8_truncated(output: torch.Tensor) -> np.ndarray:
    """(3, H, W) float output -> (H, W, 3) uint8: clamp to [0, 1], x255, truncate (the release's PNG levels)."""
    return quantize_8bit(output.detach().float(), "truncate").cpu().numpy().transpose(1, 2, 0)


def save_jpeg(path: Path, image: np.ndarray, quality: int) -> None:
    """PIL JPEG at the given quality, written atomically (no half-written JPEG on a crash)."""
    from PIL import Image

    with atomic_write(path, "wb") as handle:
        Image.fromarray(image).save(handle, format="JPEG", quality=quality)


def write_zip(folder: Path, names: list, zip_path: Path) -> None:
    """The listed files of folder at the top level of zip_path (atomic)."""
    with atomic_write(zip_path, "wb") as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                archive.write(folder / name, arcname=name)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.submit", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="generator checkpoint path or published registry name")
    p.add_argument("--backbone", help="generator name (default: from the registry or the state_dict)")
    p.add_argument("--input", required=True, help="folder of packed RAW .npy files (e.g. <root>/test/raws)")
    p.add_argument("--output", required=True, help="folder for the JPEGs")
    p.add_argument("--dataset", default="ntire2026", choices=["ntire2026"],
                   help="preset of the inputs: normalisation and packed channel order")
    p.add_argument("--quality", type=int, default=BASELINE_JPEG_QUALITY,
                   help="JPEG quality 1-100 (default %(default)s, as the challenge baseline)")
    p.add_argument("--zip", help="zip file to write (default <output>.zip)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="torch device (default: cuda when present, else cpu)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from data import BadInputError

    if not 1 <= args.quality <= 100:
        print(f"tools.submit: --quality {args.quality} is outside 1-100", file=sys.stderr)
        return 2
    preset, in_dir, out_dir = data_preset(data_config({"dataset": args.dataset})), Path(args.input), Path(args.output)
    files = sorted(in_dir.glob(f"*{preset.raw_ext}")) if in_dir.is_dir() else []
    if not files:
        print(f"tools.submit: no {preset.raw_ext} files in {in_dir}", file=sys.stderr)
        return 2
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
            save_jpeg(out_dir / name, to_uint8_truncated(model(x)[0]), args.quality)
            written.append(name)
    seconds = time.perf_counter() - start
    zip_path = Path(args.zip) if args.zip else out_dir.with_suffix(".zip")
    if written:
        write_zip(out_dir, written, zip_path)
    print(f"{len(written)} JPEG(s) in {out_dir} ({len(written) / seconds:.2f} images/s on {args.device}, "
          f"{backbone}, quality {args.quality}); zip: {zip_path if written else 'not written'}")
    if failed:
        print(f"{len(failed)} bad input file(s) skipped:", file=sys.stderr)
        for problem in failed:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m tools.submit"))
