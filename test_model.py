"""Run one generator checkpoint on a folder of RAW files; write PNGs and, with references, metrics.

  python test_model.py --checkpoint fujifilm_efficient_isp_unpaired --dataset fujifilm \
      --input datasets/fujifilm/test/mediatek_raw --reference datasets/fujifilm/test/fujifilm --output out/
  python test_model.py --checkpoint G_step_1000.pth --backbone efficient_isp --dataset zrr \
      --input photos_dng/ --output out/ --tile 512            # full-resolution DNG/NEF via rawpy, tiled

Inputs: 16-bit single-channel RAW PNGs (any even size), packed .npy (--dataset ntire2026) and camera RAW
files (.dng, .nef, ...; rawpy: black level per CFA site, white level and CFA phase from the file; any Bayer
phase is cropped to RGGB; X-Trans/Foveon are refused). --dataset camera is a model trained on your own camera
(tools.data ingest); the preset fixes the packed channel order the generator expects.
A dataset split folder (holding <raw_dir>/ and <target_dir>/) also works as --input.
Outputs: <output>/<input stem>.png (8-bit; .jpg with --quantize jpeg75), and when references exist
<output>/metrics.csv (per image: psnr, ssim, ms_ssim, lpips, delta_e2000, latency_ms; last row 'mean').
Latency is printed per run. As the paper's tables were made (docs/method.md §7), each output is clamped to
[0, 1], saved by TRUNCATION (uint8(x * 255)) and that 8-bit image / 255 is scored (--quantize png8, the
default; 'truncate' is its earlier name); --quantize round rounds instead (0.03-0.06 dB higher PSNR),
--quantize none scores the clamped float output (PNGs then truncated), and --quantize jpeg75 saves and scores
what an NTIRE 2026 submission holds (docs/method.md §9): the truncated levels written as JPEG quality 75 by the
writer tools.submit uses, decoded, / 255 - the leaderboard's view, lower than the float or png8 score.
Large images are processed in tiles (--tile; automatic above 2048x2048 input pixels) so memory stays bounded,
and the tiled output equals the whole-image output to float precision for every backbone:
  efficient_isp, robust_isp, srcnn: each tile is read with a margin of max(--overlap, the network's
    receptive radius: 3 packed pixels, 6 for srcnn), so margins below that are raised automatically;
  rmfa_*: the channel attention pools over the whole image, so the net runs block by block: each
    block's features are computed in tiles, their global mean/max gathered, then the attention is
    applied tile by tile (about half the memory of the whole-image forward, exact to float precision).
A published checkpoint name missing from the checkpoint cache is downloaded and sha256-checked first.
Errors: a bad input file (corrupt, truncated, not 16-bit, odd size) is skipped and listed at the end, every
good file is still written, and the exit code is 2; a wrong/missing checkpoint or backbone, or an empty
folder, stops with one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from cli import report_bad_inputs
from data import CAMERA_RAW_EXTS, DATASET_PRESETS, BadInputError
from data.readers.presets import ZRR_NORMALISATIONS
from evaluation import (
    QUANTIZE_CHOICES,
    canonical_quantize,
    quantize_8bit,
    score_batch,
    with_summary,
    write_csv,
    write_jpeg,
)
from models import tiled_forward
from runtime import RUNTIMES, select_runtime
from wiring import build_lpips_metric, data_config, data_preset, find_image, load_input, load_model

AUTO_TILE_PIXELS = 2048 * 2048  # larger inputs are tiled automatically
AUTO_TILE = 1024
SCORING = {"png8": "as truncated 8-bit PNGs (release)", "round": "as rounded 8-bit PNGs",
           "none": "as clamped floats", "jpeg75": "as decoded quality-75 submission JPEGs (NTIRE 2026)"}


def list_inputs(folder: Path, preset) -> tuple[list[Path], Path | None]:
    """RAW files of --input (or of its <raw_dir>/ subfolder) and the matching default reference dir."""
    reference = None
    if (folder / preset.raw_dir).is_dir():
        aligned = preset.target_dir if preset.aligned_targets else preset.gt_dir  # never unrelated photos
        reference = folder / aligned if (folder / aligned).is_dir() else None
        folder = folder / preset.raw_dir
    if not folder.is_dir():
        raise SystemExit(f"test_model.py: --input is not a folder: {folder}")
    exts = {preset.raw_ext, *CAMERA_RAW_EXTS}
    files = [p for p in folder.iterdir() if p.suffix.lower() in exts]
    if not files:
        raise SystemExit(f"test_model.py: no RAW files ({', '.join(sorted(exts))}) in {folder}")
    key = lambda p: (0, int(p.stem), "") if p.stem.isdigit() else (1, 0, p.stem)  # noqa: E731
    return sorted(files, key=key), reference


def _sync(device) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def reference_tensor(path: Path, size) -> torch.Tensor:
    from data import read_rgb
    rgb = read_rgb(path)
    if rgb.shape[:2] != tuple(size):  # a reference of another size: bilinear to the output size
        rgb = np.clip(cv2.resize(rgb, (size[1], size[0]), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]


def resolve_model(args):
    """(path, backbone, generator, generator_info) of --checkpoint (a file or a published registry name)."""
    return load_model(args.checkpoint, args.backbone, args.device)


def runtime_name(runner) -> str:
    diff = getattr(runner, "checked_diff", None)
    if diff is None or runner.fast is runner.reference:
        return "PyTorch"
    return f"fused AVX2 kernel, max |diff| vs PyTorch {diff:.1e} on the first input"


def save_output(out_dir: Path, stem: str, y: torch.Tensor, quantize: str) -> None:
    """<stem>.png of the 8-bit levels, or with jpeg75 <stem>.jpg through the submission's JPEG writer."""
    from data import write_rgb
    levels = quantize_8bit(y, "round" if quantize == "round" else "png8")
    image = np.ascontiguousarray(levels[0].permute(1, 2, 0).numpy())
    if quantize == "jpeg75":
        write_jpeg(out_dir / f"{stem}.jpg", image)
    else:
        write_rgb(out_dir / f"{stem}.png", image)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint path or published registry name")
    p.add_argument("--backbone", help="generator name (default: from the registry or the state_dict)")
    p.add_argument("--dataset", required=True, choices=sorted(DATASET_PRESETS),
                   help="preset the model was trained on: RAW normalisation and packed channel order")
    p.add_argument("--zrr-normalisation", choices=sorted(ZRR_NORMALISATIONS),
                   help="ZRR input normalisation, as the model was trained (config zrr_normalisation; "
                        "default: data's, pynet)")
    p.add_argument("--input", required=True, help="folder of RAW files (or a dataset split folder)")
    p.add_argument("--output", required=True, help="folder for PNGs and metrics.csv")
    p.add_argument("--reference", help="folder of reference RGB images named like the inputs")
    p.add_argument("--device", default="cpu")
    p.add_argument("--tile", type=int, default=0,
                   help=f"tile side in input pixels (0 = auto: whole image up to {AUTO_TILE_PIXELS} px)")
    p.add_argument("--overlap", type=int, default=16,
                   help="tile margin discarded on each side; raised to what the backbone needs for exact tiles")
    p.add_argument("--quantize", choices=QUANTIZE_CHOICES, default="png8",
                   help="how outputs are saved and scored: png8 (release: uint8(x*255); alias truncate), round, "
                        "none (score the clamped float output; PNGs are then truncated), or jpeg75 (the NTIRE "
                        "submission: truncated levels saved as JPEG quality 75, scored after decoding)")
    p.add_argument("--lpips-weights", help="LPIPS AlexNet v0.1 heads file (else the weight registry)")
    p.add_argument("--no-lpips", action="store_true")
    p.add_argument("--runtime", choices=RUNTIMES, default="auto",
                   help="auto: the fused AVX2 kernel for efficient_isp on CPU when it builds (checked against "
                        "PyTorch on the first input), else PyTorch; torch; fused (or exit 2)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    args.quantize = canonical_quantize(args.quantize)
    preset = data_preset(data_config({"dataset": args.dataset, "zrr_normalisation": args.zrr_normalisation}))
    files, default_ref = list_inputs(Path(args.input), preset)  # a bad --input costs no model load
    path, backbone, model, info = resolve_model(args)
    runner = select_runtime(model, args.runtime, args.device, note=lambda m: print(f"test_model.py: {m}"))
    ref_dir = Path(args.reference) if args.reference else default_ref
    if ref_dir is not None and not ref_dir.is_dir():
        raise SystemExit(f"test_model.py: --reference is not a folder: {ref_dir}")
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    lpips = None
    if ref_dir is not None and not args.no_lpips:
        lpips = build_lpips_metric(args.lpips_weights, device=args.device)
    print(f"{path} ({backbone}) on {len(files)} file(s) from {files[0].parent}", flush=True)
    rows, latencies, bad = [], [], []
    for raw_path in tqdm(files, desc="images"):
        try:  # a bad file is listed at the end; every good one is still processed
            x = load_input(raw_path, preset, info["input_kind"]).to(args.device)
        except BadInputError as error:
            bad.append(error)
            continue
        tile = args.tile or (AUTO_TILE if x.shape[-2] * x.shape[-1] > AUTO_TILE_PIXELS else 0)
        _sync(args.device)
        start = time.perf_counter()
        y = tiled_forward(model, x, tile, args.overlap) if runner is model else runner(x)
        _sync(args.device)
        latencies.append((time.perf_counter() - start) * 1000.0)
        y = y.float().cpu()
        save_output(out_dir, raw_path.stem, y, args.quantize)
        ref_path = find_image(ref_dir, raw_path.stem)
        if ref_path is not None:
            try:
                ref = reference_tensor(ref_path, y.shape[-2:])
            except BadInputError as error:
                bad.append(error)
                continue
            scores = score_batch(y.float().cpu(), ref, quantize=args.quantize, lpips=lpips)
            rows.append({"file": raw_path.stem, **{k: v[0].item() for k, v in scores.items()},
                         "latency_ms": latencies[-1]})
    if latencies:
        print(f"latency: mean {np.mean(latencies):.2f} ms, median {np.median(latencies):.2f} ms per image "
              f"(first call included; {args.device}, {runtime_name(runner)})")
    if rows:
        table = with_summary(rows)
        write_csv(out_dir / "metrics.csv", table)
        means = "  ".join(f"{k} {v:.4f}" for k, v in table[-1].items() if k != "file")
        print(f"{len(rows)} image(s) with references, outputs scored {SCORING[args.quantize]}: {means}\n"
              f"metrics: {out_dir / 'metrics.csv'}")
    elif ref_dir is not None:
        print(f"no references matched the input names in {ref_dir}", file=sys.stderr)
    return report_bad_inputs("test_model.py", bad, len(files))


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "test_model.py"))
