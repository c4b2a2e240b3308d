"""The README's main command: train and evaluate on the embedded synthetic dataset, on the CPU, in minutes.

  python -m tools.demo                 # make the data if missing, pretrain, train unpaired, sweep, pick best
  python -m tools.demo --steps 40      # shorter
It runs the same scripts a user runs on real data (fit.py, inference.py, tools/best.py) with small
patches and batch. Backbones (VGG-19, AlexNet, ViT) are the real pretrained ones when their files are
present, otherwise random (said plainly at start: the numbers then only show the machinery works).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NEEDED_WEIGHTS = ("vgg19_matconvnet", "alexnet", "vit_base")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default="datasets/synthetic", help="where the synthetic dataset lives")
    parser.add_argument("--run", default="runs/demo", help="run folder to write")
    parser.add_argument("--steps", type=int, default=150, help="unpaired training steps")
    parser.add_argument("--pretrain-steps", type=int, default=250, help="demosaic pretraining steps")
    parser.add_argument("--patch", type=int, default=64, help="training patch size (output pixels)")
    parser.add_argument("--batch", type=int, default=4, help="training batch size")
    return parser.parse_args(argv)


def missing_weights() -> list[str]:
    from losses.weights import weight_status
    status = weight_status()
    return [name for name in NEEDED_WEIGHTS if status.get(name) is None]


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
    missing = missing_weights()
    backbone_settings = []
    if missing:
        print(f"\n[demo] pretrained backbone weights missing ({', '.join(missing)}): training with RANDOM "
              "VGG/AlexNet/ViT (and the small vit_tiny) - this shows the pipeline runs, not real image "
              "quality. `python -m tools.weights check` lists what to fetch.", flush=True)
        backbone_settings = ["allow_random_backbones=True", "vit_model=vit_tiny_patch16_224"]
    else:
        print("\n[demo] using the real pretrained backbones found in the caches", flush=True)
    run_dir = Path(args.run)
    run(["fit.py", "--set", f"data_root={fuji}", "dataset=fujifilm", f"out_dir={run_dir.parent}",
         f"run_name={run_dir.name}", "stage=unpaired", f"pretrain_steps={args.pretrain_steps}",
         f"max_steps={args.steps}", f"patch_size={args.patch}", f"batch_size={args.batch}",
         "save_every=25", "sample_every=50", "num_workers=1", *backbone_settings])
    stage_dir = run_dir / "unpaired"
    run(["inference.py", "--run", str(stage_dir), "--split", "val", "--quiet"])
    run(["-m", "tools.best", str(stage_dir / "eval_val"), "--top", "3",
         "--plot", str(stage_dir / "metrics_vs_step.png")])
    print(f"""
[demo] done.
  checkpoints  {stage_dir / 'checkpoints'}   (G_step_<N>.pth; pretraining in {run_dir / 'pretrain'})
  samples      {stage_dir / 'samples'}   (reference | output | target grids)
  metrics      {stage_dir / 'eval_val'}   and the plot {stage_dir / 'metrics_vs_step.png'}
  TensorBoard  tensorboard --logdir {run_dir}""")
    return 0


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m tools.demo"))
