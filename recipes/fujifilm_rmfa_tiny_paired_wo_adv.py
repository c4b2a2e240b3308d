# Reproduction recipe: RMFA-Net tiny, paired training without adversarial losses, on Fujifilm UltraISP
# (paper Table 2, Fujifilm UltraISP local test set; docs/method.md §8).
# It extends config.py (base_config) with only the keys below; --set still overrides any key.
# EDIT data_root (and train_indices) to your copy of the real dataset, or --set data_root=/path.
#   python fit.py --config recipes/fujifilm_rmfa_tiny_paired_wo_adv.py
#   python process_set.py --run runs/fujifilm_rmfa_tiny_paired_wo_adv/paired_no_adv --n 40 --step 10
#   python -m tools.best runs/fujifilm_rmfa_tiny_paired_wo_adv/paired_no_adv/eval_val   # best vs published
base_config = "../config.py"

recipe = "fujifilm_rmfa_tiny_paired_wo_adv" # pretrained/ registry name of the authors' checkpoint
published = {"psnr": 23.7468, "ssim": 0.8321, "ms_ssim": 0.9360, "lpips": 0.1545,
             "step": 36120}  # paper metrics (truncated 8-bit test outputs) and the pick's step
run_name = "fujifilm_rmfa_tiny_paired_wo_adv" # the run folder: runs/fujifilm_rmfa_tiny_paired_wo_adv/

dataset = "fujifilm"
data_root = "datasets/fujifilm"   # EDIT: <root>/{train,val,test}/{mediatek_raw,fujifilm}/
train_split = "train"
train_indices = ""                # whole train folder: the release kept val/test in their own folders

stage = "paired_no_adv"
backbone = "rmfa_tiny"
g_lr = 1e-4                       # RMFA-Net tiny preset (docs/method.md §6)
d_lr = 5e-5
d_every = 4                       # no discriminators in this stage; kept for the record
checkpoint_schedule = "release"   # G_step_<updates + 99>, saved after updates 1, 11, ...: sweep steps = published steps
pretrained_generator = ""         # none published: the pretrain stage runs first
batch_size = 32
max_steps = 50000                 # published pick at step 36,120: rounded up to 10k, plus 10k
