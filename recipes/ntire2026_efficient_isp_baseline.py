# NTIRE 2026 "Learned Smartphone ISP with Unpaired Data": the organisers' official baseline training
# (docs/method.md §9), which is this paper's unpaired Efficient ISP with these differences from the release:
# gray-world 2x2-stacking reference, batch 16, RAW i paired with target i after sorting both by file name,
# no demosaic pretraining (PyTorch's default init), a checkpoint every 100 steps under the release's names.
# Everything else (losses, lrs, betas, D every 10 steps, R1/R2, DLA, D gradient clip) is config.py's release value.
# It extends config.py (base_config) with only the keys below; --set still overrides any key.
# EDIT data_root to the challenge data: <root>/train/{raws/*.npy, jpegs/*.jpg}.
#   python fit.py --config recipes/ntire2026_efficient_isp_baseline.py
#   python process_set.py --run runs/ntire2026_efficient_isp_baseline/unpaired --n 400 --step 100 --split val
#   python -m tools.submit --checkpoint runs/ntire2026_efficient_isp_baseline/unpaired/checkpoints/G_step_<N>.pth \
#       --backbone efficient_isp --dataset ntire2026 --input <root>/test/raws --output submission
base_config = "../config.py"

run_name = "ntire2026_efficient_isp_baseline"  # the run folder: runs/ntire2026_efficient_isp_baseline/

dataset = "ntire2026"
data_root = "datasets/ntire2026"  # EDIT: the challenge data root
train_split = "train"
train_indices = ""                # every RAW and every photo of train/, as the baseline

stage = "unpaired"
backbone = "efficient_isp"
pretrained_generator = "scratch"  # the baseline's empty pretrained_path: default init, no pretrain stage
demosaic = "grayworld"            # the baseline's content reference (docs/method.md §9)
target_pairing = "index"          # RAW i with target i, both sorted by file name, for the whole run
batch_size = 16
save_every = 100                  # the baseline's every 100 steps ...
checkpoint_schedule = "release"   # ... with the release's phase and names: G_step_<updates + 99>, index % 100 == 0
