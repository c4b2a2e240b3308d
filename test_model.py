"""Run one generator checkpoint on a folder of RAW files; write PNGs and, with references, metrics.

  python test_model.py --checkpoint fujifilm_efficient_isp_unpaired --dataset fujifilm \
      --input datasets/fujifilm/test/mediatek_raw --reference datasets/fujifilm/test/fujifilm --output out/
  python test_model.py --checkpoint G_step_1000.pth --backbone efficient_isp --dataset zrr \
      --input photos_dng/ --output out/ --tile 512            # full-resolution DNG/NEF via rawpy, tiled

Inputs: 16-bit single-channel RAW PNGs (any even size) and camera RAW files (.dng, .nef, ...; rawpy).
A dataset split folder (holding <raw_dir>/ and <target_dir>/) also works as --input.
Outputs: <output>/<input stem>.png (8-bit), and when references exist <output>/metrics.csv
(per image: psnr, ssim, ms_ssim, lpips, latency_ms; last row 'mean'). Latency is printed per run.
Large images are processed in overlapping tiles (--tile) so memory stays bounded.
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

from inference import SUMMARY_NAME, summarise, write_csv_atomic
from losses.metrics import build_lpips_metric, quantize_8bit, score_batch
from runtime import RUNTIMES, RuntimeUnavailable, select_runtime

CAMERA_RAW_EXTS = {".dng", ".nef", ".cr2", ".cr3", ".arw", ".raf", ".orf", ".rw2"}
REFERENCE_EXTS = (".png", ".jpg", ".jpeg")
AUTO_TILE_PIXELS = 2048 * 2048  # larger inputs are tiled automatically
AUTO_TILE = 1024


def list_inputs(folder: Path, preset) -> tuple[list[Path], Path | None]:
    """RAW files of --input (or of its <raw_dir>/ subfolder) and the matching default reference dir."""
    reference = None
    if (folder / preset.raw_dir).is_dir():
        reference = folder / preset.target_dir if (folder / preset.target_dir).is_dir() else None
        folder = folder / preset.raw_dir
    if not folder.is_dir():
        raise SystemExit(f"test_model.py: --input is not a folder: {folder}")
    files = [p for p in folder.iterdir() if p.suffix.lower() in {".png"} | CAMERA_RAW_EXTS]
    if not files:
        raise SystemExit(f"test_model.py: no RAW files (.png, {', '.join(sorted(CAMERA_RAW_EXTS))}) in {folder}")
    key = lambda p: (0, int(p.stem), "") if p.stem.isdigit() else (1, 0, p.stem)  # noqa: E731
    return sorted(files, key=key), reference


def _camera_raw_mosaic(path: Path) -> np.ndarray:
    """Camera RAW -> float mosaic in [0, 1] (black/white from the file), cropped to RGGB with R at (0,0)."""
    import rawpy
    with rawpy.imread(str(path)) as raw:
        mosaic = raw.raw_image_visible.astype(np.float32)
        colors = raw.raw_colors_visible
        black = np.asarray(raw.black_level_per_channel, dtype=np.float32)[colors]
        white = float(raw.white_level)
        desc = raw.color_desc.decode()
    if set(desc.replace("G", "")) - {"R", "B"} or len(desc) < 3:
        raise ValueError(f"{path}: not a Bayer RGB sensor (colour description {desc!r})")
    names = np.array(list(desc))[colors]
    rows, cols = np.nonzero(names[:2, :2] == "R")
    if len(rows) != 1:
        raise ValueError(f"{path}: cannot find the R site of the 2x2 Bayer pattern")
    mosaic = np.clip((mosaic - black) / (white - black), 0.0, 1.0)
    mosaic = mosaic[rows[0]:, cols[0]:]
    return mosaic[: mosaic.shape[0] // 2 * 2, : mosaic.shape[1] // 2 * 2]


def load_input(path: Path, preset, input_kind: str) -> torch.Tensor:
    """Generator input (1, C, h, w) for a RAW PNG (dataset normalisation) or a camera RAW file."""
    from data import generator_input, pack_bayer, read_raw, rmfa_split
    if path.suffix.lower() in CAMERA_RAW_EXTS:
        mosaic = _camera_raw_mosaic(path)  # already black-subtracted and scaled to [0, 1]
        planes = rmfa_split(mosaic, black=0.0, white=1.0) if input_kind == "split3" else pack_bayer(mosaic)
    else:
        planes = generator_input(read_raw(path), preset, input_kind)
    return torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32))[None]


@torch.no_grad()
def run_tiled(model, x: torch.Tensor, tile: int, overlap: int, scale: int) -> torch.Tensor:
    """Generator output for x, computed in tiles whose overlapping margins are discarded."""
    height, width = x.shape[-2:]
    if tile <= 0 or (height <= tile and width <= tile):
        return model(x)
    core = tile - 2 * overlap
    if core <= 0:
        raise ValueError(f"--tile {tile} must exceed twice --overlap {overlap}")
    out = None
    for top in range(0, height, core):
        for left in range(0, width, core):
            bottom, right = min(top + core, height), min(left + core, width)
            t0, l0 = max(top - overlap, 0), max(left - overlap, 0)
            piece = model(x[..., t0:min(bottom + overlap, height), l0:min(right + overlap, width)])
            if out is None:
                out = piece.new_zeros(x.shape[0], piece.shape[1], height * scale, width * scale)
            out[..., top * scale:bottom * scale, left * scale:right * scale] = piece[
                ..., (top - t0) * scale:(bottom - t0) * scale, (left - l0) * scale:(right - l0) * scale]
    return out


def _sync(device) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def find_reference(folder: Path | None, stem: str) -> Path | None:
    if folder is None:
        return None
    return next((folder / f"{stem}{ext}" for ext in REFERENCE_EXTS if (folder / f"{stem}{ext}").is_file()), None)


def reference_tensor(path: Path, size) -> torch.Tensor:
    from data import read_rgb
    rgb = read_rgb(path)
    if rgb.shape[:2] != tuple(size):  # e.g. ZRR's 2x Canon targets: bilinear to the output size
        rgb = np.clip(cv2.resize(rgb, (size[1], size[0]), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]


def resolve_model(args):
    from models import generator_info, identify_backbone, load_generator
    from pretrained import resolve_checkpoint
    path, registry_backbone = resolve_checkpoint(args.checkpoint)
    backbone = args.backbone or registry_backbone
    if backbone is None:
        state = torch.load(path, map_location="cpu", weights_only=True)
        backbone = identify_backbone(state.get("generator", state) if isinstance(state, dict) else state)
    if backbone is None:
        raise SystemExit(f"test_model.py: cannot tell the backbone of {path}; pass --backbone")
    model = load_generator(path, backbone, map_location="cpu").to(args.device).eval()
    return path, backbone, model, generator_info(backbone)


def runtime_name(runner) -> str:
    diff = getattr(runner, "checked_diff", None)
    if diff is None or runner.fast is runner.reference:
        return "PyTorch"
    return f"fused AVX2 kernel, max |diff| vs PyTorch {diff:.1e} on the first input"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint path or published registry name")
    p.add_argument("--backbone", help="generator name (default: from the registry or the state_dict)")
    p.add_argument("--dataset", required=True, choices=["fujifilm", "zrr"], help="RAW normalisation preset")
    p.add_argument("--input", required=True, help="folder of RAW files (or a dataset split folder)")
    p.add_argument("--output", required=True, help="folder for PNGs and metrics.csv")
    p.add_argument("--reference", help="folder of reference RGB images named like the inputs")
    p.add_argument("--device", default="cpu")
    p.add_argument("--tile", type=int, default=0,
                   help=f"tile side in input pixels (0 = auto: whole image up to {AUTO_TILE_PIXELS} px)")
    p.add_argument("--overlap", type=int, default=16, help="tile margin discarded on each side")
    p.add_argument("--no-quantize", action="store_true", help="score float outputs instead of 8-bit ones")
    p.add_argument("--lpips-weights", help="LPIPS AlexNet v0.1 heads file (else the weight registry)")
    p.add_argument("--no-lpips", action="store_true")
    p.add_argument("--runtime", choices=RUNTIMES, default="auto",
                   help="auto: the fused AVX2 kernel for efficient_isp on CPU when it builds (checked against "
                        "PyTorch on the first input), else PyTorch; torch; fused (or exit 2)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from data import get_preset, write_rgb
    preset = get_preset(args.dataset)
    path, backbone, model, info = resolve_model(args)
    try:
        runner = select_runtime(model, args.runtime, args.device, note=lambda m: print(f"test_model.py: {m}"))
    except RuntimeUnavailable as error:
        print(f"test_model.py: {error}", file=sys.stderr)
        return 2
    files, default_ref = list_inputs(Path(args.input), preset)
    ref_dir = Path(args.reference) if args.reference else default_ref
    if ref_dir is not None and not ref_dir.is_dir():
        raise SystemExit(f"test_model.py: --reference is not a folder: {ref_dir}")
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    lpips = None
    if ref_dir is not None and not args.no_lpips:
        lpips = build_lpips_metric(args.lpips_weights, device=args.device)
    print(f"{path} ({backbone}) on {len(files)} file(s) from {files[0].parent}", flush=True)
    rows, latencies = [], []
    for raw_path in tqdm(files, desc="images"):
        x = load_input(raw_path, preset, info["input_kind"]).to(args.device)
        tile = args.tile or (AUTO_TILE if x.shape[-2] * x.shape[-1] > AUTO_TILE_PIXELS else 0)
        _sync(args.device)
        start = time.perf_counter()
        y = run_tiled(runner, x, tile, args.overlap, info["output_scale"])
        _sync(args.device)
        latencies.append((time.perf_counter() - start) * 1000.0)
        y8 = quantize_8bit(y.float().cpu())
        write_rgb(out_dir / f"{raw_path.stem}.png",
                  (y8[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8))
        ref_path = find_reference(ref_dir, raw_path.stem)
        if ref_path is not None:
            ref = reference_tensor(ref_path, y.shape[-2:])
            scores = score_batch(y.float().cpu(), ref, quantize=not args.no_quantize, lpips=lpips)
            rows.append({"file": raw_path.stem, **{k: v[0].item() for k, v in scores.items()},
                         "latency_ms": latencies[-1]})
    print(f"latency: mean {np.mean(latencies):.2f} ms, median {np.median(latencies):.2f} ms per image "
          f"(first call included; {args.device}, {runtime_name(runner)})")
    if rows:
        table = rows + [{"file": SUMMARY_NAME, **summarise(rows)}]
        write_csv_atomic(out_dir / "metrics.csv", table)
        means = "  ".join(f"{k} {v:.4f}" for k, v in table[-1].items() if k != "file")
        print(f"{len(rows)} image(s) with references: {means}\nmetrics: {out_dir / 'metrics.csv'}")
    elif ref_dir is not None:
        print(f"no references matched the input names in {ref_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
