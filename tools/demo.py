"""The README's main command: train and evaluate on the embedded synthetic dataset, on the CPU, in minutes.

  python -m tools.demo                 # make the data if missing, pretrain, train unpaired, sweep, report
  python -m tools.demo --steps 40      # shorter
  python -m tools.demo --offline       # never touch the network: random backbones unless files are present
It runs the same scripts a user runs on real data (fit.py, inference.py, tools/best.py) with small
patches and batch. Backbones (VGG-19, AlexNet, ViT) are the real pretrained ones: missing files are
fetched first (python -m tools.weights: sizes said up front, progress bars, checksums). Without
network (hosts probed with a short timeout) they are random, said plainly at start: the numbers then
only show the machinery works. The end is a table on the validation split (demosaiced reference,
starting generator, best checkpoint, the authors' published one when found) and a side-by-side PNG.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAINING_WEIGHTS = ("vgg19_matconvnet", "alexnet", "vit_base")  # content, texture and color features
METRIC_WEIGHTS = ("lpips_alex",)  # the LPIPS column of the sweep and report (with the AlexNet file)
RANDOM_BACKBONE_SETTINGS = ["allow_random_backbones=True", "vit_model=vit_tiny_patch16_224"]
# With random backbones only, the demo's own loss weights (config.py keeps the release's; real backbones
# train with the release recipe). Measured on the embedded data, 2 cores:
# - pretraining: a random VGG-19's relu5_4 does not pin the image, and its content term pulls against the
#   MSE term (MSE still 0.6 after 60 steps with it, 0.11 without), so the demo pretrains on MSE + TV;
# - unpaired: discriminators on random features, barely trained in a few hundred steps, push the
#   generator in arbitrary directions; at full weight they swamped the content term (dark, noisy output;
#   before the scale-preserving init, a flat red image), so they weigh 0.1. The content term sees only
#   CIE L, whose gradient reaches RGB mostly through green (L ~ 0.72 G): with no trained color
#   discriminator to hold the chroma, the image drifted to cyan-green within 100 steps at g_lr 5e-4,
#   so the generator learns at 1e-4 (the release's RMFA-Net rate).
RANDOM_PRETRAIN_SETTINGS = ['lambdas={"content": 0.0}']
RANDOM_UNPAIRED_SETTINGS = ['lambdas={"adv_color": 0.1, "adv_lin0": 0.1, "adv_lin3": 0.1}', "g_lr=1e-4"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default="datasets/synthetic", help="where the synthetic dataset lives")
    parser.add_argument("--run", default="runs/demo", help="run folder to write")
    parser.add_argument("--steps", type=int, default=150, help="unpaired training steps")
    parser.add_argument("--pretrain-steps", type=int, default=250, help="demosaic pretraining steps")
    parser.add_argument("--patch", type=int, default=64, help="training patch size (output pixels)")
    parser.add_argument("--batch", type=int, default=4, help="training batch size")
    parser.add_argument("--offline", action="store_true", help="do not try to download missing backbone files")
    parser.add_argument("--images", type=int, default=4, help="validation images in the side-by-side PNG")
    return parser.parse_args(argv)


def choose_backbones(offline: bool, fetch=None) -> list[str]:
    """fit.py settings for the backbones: [] when every training file is present (after fetching what
    is missing, unless offline), else random backbones, said plainly."""
    from tools import weights
    fetch = fetch or weights.download
    missing = weights.missing_names(TRAINING_WEIGHTS + METRIC_WEIGHTS)
    if missing and not offline:
        print(f"\n[demo] fetching missing backbone files: {', '.join(missing)}", flush=True)
        missing = fetch(missing)
    missing_for_training = [name for name in missing if name in TRAINING_WEIGHTS]
    if missing_for_training:
        print(f"\n[demo] WARNING: pretrained backbone weights missing ({', '.join(missing_for_training)}"
              f"{', offline' if offline else ''}): training with RANDOM VGG/AlexNet/ViT (and the small vit_tiny)."
              " The content loss still holds the image structure, but nothing learns a real look: this shows "
              "the pipeline runs, not image quality. `python -m tools.weights download` fetches the files.",
              flush=True)
        return list(RANDOM_BACKBONE_SETTINGS)
    print("\n[demo] using the real pretrained backbones (VGG-19, AlexNet/LPIPS, ViT-B/16)", flush=True)
    return []


def run(command: list[str]) -> None:
    print("\n$ " + " ".join(command), flush=True)
    subprocess.run([sys.executable, *command], cwd=REPO, check=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    fuji = Path(args.data_root) / "fujifilm"
    if not (REPO / fuji / "synthetic.json").exists():
        run(["-m", "tools.data", "synth", "--out", args.data_root])
    # Demosaic references once, on all cores, so training reads them from the cache.
    run(["-m", "tools.data", "prepare", "--root", str(fuji), "--preset", "fujifilm", "--split", "train"])
    backbone_settings = choose_backbones(args.offline)
    run_dir = Path(args.run)
    common = ["--set", f"data_root={fuji}", "dataset=fujifilm", f"out_dir={run_dir.parent}",
              f"run_name={run_dir.name}", f"pretrain_steps={args.pretrain_steps}", f"max_steps={args.steps}",
              f"patch_size={args.patch}", f"batch_size={args.batch}", "save_every=25", "sample_every=50",
              "num_workers=1", *backbone_settings]
    random_backbones = bool(backbone_settings)
    # Two fit.py calls (what one call with stage=unpaired does), so each stage can take its own settings.
    run(["fit.py", *common, "stage=pretrain", *(RANDOM_PRETRAIN_SETTINGS if random_backbones else [])])
    pretrained = run_dir / "pretrain" / "checkpoints" / f"G_step_{args.pretrain_steps}.pth"
    run(["fit.py", *common, "stage=unpaired", f"pretrained_generator={pretrained}",
         *(RANDOM_UNPAIRED_SETTINGS if random_backbones else [])])
    stage_dir = run_dir / "unpaired"
    run(["inference.py", "--run", str(stage_dir), "--split", "val", "--quiet"])
    run(["-m", "tools.best", str(stage_dir / "eval_val"), "--top", "3",
         "--plot", str(stage_dir / "metrics_vs_step.png")])
    run(["-m", "tools.demo_report", str(stage_dir), "--images", str(args.images)])
    print(f"""
[demo] done.
  checkpoints  {stage_dir / 'checkpoints'}   (G_step_<N>.pth, step 0 = the start; pretraining in {run_dir / 'pretrain'})
  samples      {stage_dir / 'samples'}   (reference | output | target grids)
  metrics      {stage_dir / 'eval_val'}   and the plot {stage_dir / 'metrics_vs_step.png'}
  report       {stage_dir / 'report.csv'}   and {stage_dir / 'side_by_side.png'}
  TensorBoard  tensorboard --logdir {run_dir}""")
    return 0


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m tools.demo"))
