"""What unpaired training did, on the validation split: one table and one side-by-side picture.

  python -m tools.demo_report runs/demo/unpaired                 # best checkpoint by validation PSNR
  python -m tools.demo_report runs/demo/unpaired --best runs/demo/unpaired/checkpoints/G_step_75.pth

Rows: the demosaiced reference (the classical pipeline the content loss holds on to, scored as an image
against the target), the starting generator (G_step_0.pth: the pretrained demosaicer), the best
checkpoint of the sweep and, when its file is found (pretrained/ registry), the authors' published
unpaired generator of the same backbone and dataset. Writes <stage>/report.csv and
<stage>/side_by_side.png (reference | start | best | published | target, a few validation images).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

from evaluation import SWEEP_SPLIT, merge, read_run_config, score_batch, top_k, write_csv
from models import generator_info
from pretrained import PUBLISHED, ChecksumError, DownloadError
from wiring import build_dataset, build_lpips_metric, data_config, load_model, resolve_generator

COLUMNS = ("psnr", "ssim", "ms_ssim", "lpips")


def published_name(backbone: str, dataset: str) -> str | None:
    """Registry name of the authors' unpaired generator for this backbone and dataset, if they published one."""
    return next((e.name for e in PUBLISHED.values()
                 if e.backbone == backbone and e.dataset == dataset and e.mode == "unpaired"), None)


def best_checkpoint(stage_dir: Path, metric: str = "psnr") -> Path:
    """The best checkpoint of the stage's validation sweep (inference.py's CSVs in eval_val/)."""
    rows = top_k(merge([stage_dir / "eval_val"]), metric, 1)
    if not rows:
        raise FileNotFoundError(f"no scored checkpoints in {stage_dir / 'eval_val'}: run inference.py first")
    return Path(rows[0]["checkpoint"])


def load_split(cfg: dict, split: str = SWEEP_SPLIT) -> dict:
    """The whole split in memory: generator inputs, demosaiced references and targets, as in training."""
    dataset = build_dataset(data_config(cfg), split, generator_info(cfg["backbone"])["input_kind"], reference=True)
    samples = [dataset[i] for i in range(len(dataset))]
    return {key: torch.stack([s[key] for s in samples]) for key in ("raw", "reference", "target")} | {
        "name": [s["name"] for s in samples]}


@torch.no_grad()
def generator_output(checkpoint: Path, backbone: str, raw: torch.Tensor, batch: int = 8) -> torch.Tensor:
    model = load_model(checkpoint, backbone)[2]
    return torch.cat([model(raw[i:i + batch]).clamp(0, 1) for i in range(0, len(raw), batch)])


def score(images: torch.Tensor, target: torch.Tensor, lpips) -> dict:
    """Mean metrics over the split of outputs truncated to 8 bits, as the test tables were made (docs/method.md
    section 7; NaN-aware for MS-SSIM)."""
    values = score_batch(images, target, quantize="truncate", lpips=lpips)
    return {k: float(v[~v.isnan()].mean()) if (~v.isnan()).any() else math.nan for k, v in values.items()}


def method_images(stage_dir: Path, cfg: dict, best: Path, raw: torch.Tensor, cache_dir=None):
    """(label, checkpoint or None, images) per row, and notes on rows that could not be made."""
    rows, notes = [], []
    start = stage_dir / "checkpoints" / "G_step_0.pth"
    named = [("start (step 0)", start), (f"best ({best.stem})", best)]
    name = published_name(cfg["backbone"], cfg["dataset"])
    if name is None:
        notes.append(f"published: the authors released no unpaired {cfg['backbone']} for {cfg['dataset']}")
    else:
        try:
            named.append((f"published ({name})", resolve_generator(name, cfg["backbone"], cache_dir)[0]))
        except (FileNotFoundError, DownloadError, ChecksumError) as error:  # offline, or not published
            notes.append(f"published: skipped, {error}")
    for label, path in named:
        if Path(path).is_file():
            rows.append((label, Path(path), generator_output(path, cfg["backbone"], raw)))
        else:
            notes.append(f"{label}: skipped, {path} not found")
    return rows, notes


def save_side_by_side(columns: list[tuple[str, torch.Tensor]], path: Path, count: int = 4,
                      label_height: int = 14) -> Path:
    """Rows = the first `count` images, columns = methods, at one image pixel per PNG pixel, with a
    strip of column labels on top."""
    from PIL import Image, ImageDraw
    from torchvision.utils import make_grid
    count = min(count, len(columns[0][1]))
    tiles = [images[row] for row in range(count) for _, images in columns]
    grid = make_grid(torch.stack(tiles).clamp(0, 1), nrow=len(columns), padding=2, pad_value=1.0)
    pixels = (grid.permute(1, 2, 0).numpy() * 255).round().astype("uint8")
    canvas = Image.new("RGB", (pixels.shape[1], pixels.shape[0] + label_height), "white")
    canvas.paste(Image.fromarray(pixels), (0, label_height))
    draw, tile = ImageDraw.Draw(canvas), columns[0][1].shape[-1] + 2
    for index, (label, _) in enumerate(columns):
        width = draw.textlength(label)
        draw.text((2 + index * tile + max(0, (tile - width) / 2), 1), label, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, optimize=True)
    return path


def format_table(table: list[dict]) -> str:
    columns = [c for c in COLUMNS if c in table[0]]  # lpips only with its weights
    width = max(len(row["method"]) for row in table) + 2
    lines = [" " * width + "".join(f"{c:>9}" for c in columns)]
    for row in table:
        lines.append(f"{row['method']:{width}}" + "".join(f"{row[c]:9.4f}" for c in columns))
    return "\n".join(lines)


def make_report(stage_dir: Path, best: Path | None = None, images: int = 4, cache_dir=None) -> tuple[str, Path]:
    """Table text and side-by-side PNG path; also writes <stage>/report.csv."""
    stage_dir = Path(stage_dir)
    cfg = read_run_config(stage_dir)
    if not cfg:
        raise FileNotFoundError(f"{stage_dir / 'config.json'} not found: give a stage folder of a fit.py run")
    best = Path(best) if best else best_checkpoint(stage_dir)
    split = load_split(cfg)
    lpips = build_lpips_metric()
    rows, notes = method_images(stage_dir, cfg, best, split["raw"], cache_dir)
    labelled = [("demosaiced reference", None, split["reference"]), *rows]
    table = [{"method": label, **score(images_, split["target"], lpips), "checkpoint": str(path or "")}
             for label, path, images_ in labelled]
    write_csv(stage_dir / "report.csv", table)
    columns = [("reference", split["reference"]), *[(label.split(" (")[0], im) for label, _, im in rows],
               ("target", split["target"])]
    picture = save_side_by_side(columns, stage_dir / "side_by_side.png", images)
    text = f"validation split of {cfg['data_root']} ({len(split['name'])} images; 8-bit outputs)\n"
    text += format_table(table) + "".join(f"\n  note: {n}" for n in notes)
    if lpips is None:
        text += "\n  note: no LPIPS column (its weights are missing: python -m tools.weights download)"
    return text, picture


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.demo_report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage_dir", help="a main stage folder of a run (with config.json, checkpoints/, eval_val/)")
    p.add_argument("--best", help="checkpoint to show as 'best' (default: best validation PSNR of eval_val/)")
    p.add_argument("--images", type=int, default=4, help="validation images in the side-by-side PNG")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    text, picture = make_report(Path(args.stage_dir), args.best, args.images)
    print(text)
    print(f"side by side: {picture}\ntable: {Path(args.stage_dir) / 'report.csv'}")
    return 0


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m tools.demo_report"))
