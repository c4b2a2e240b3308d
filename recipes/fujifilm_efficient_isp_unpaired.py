# Reproduction recipe: Efficient ISP, unpaired training, on Fujifilm UltraISP
# (paper Table 2, Fujifilm UltraISP local test set; docs/method.md §8).
# It extends config.py (base_config) with only the keys below; --set still overrides any key.
# EDIT data_root (and train_indices) to your copy of the real dataset, or --set data_root=/path.
#   python fit.py --config recipes/fujifilm_efficient_isp_unpaired.py
#   python process_set.py --run runs/fujifilm_efficient_isp_unpaired/unpaired --n 40 --step 10
#   python -m tools.best runs/fujifilm_efficient_isp_unpaired/unpaired/eval_val   # best vs published
base_config = "../config.py"

recipe = "fujifilm_efficient_isp_unpaired" # pretrained/ registry name of the authors' checkpoint
published = {"psnr": 23.0711, "ssim": 0.8300, "ms_ssim": 0.9449, "lpips": 0.1614,
             "step": 27220}  # paper metrics (truncated 8-bit test outputs) and the pick's step
run_name = "fujifilm_efficient_isp_unpaired" # the run folder: runs/fujifilm_efficient_isp_unpaired/

dataset = "fujifilm"
data_root = "datasets/fujifilm"   # EDIT: <root>/{train,val,test}/{mediatek_raw,fujifilm}/
train_split = "train"
train_indices = ""                # whole train folder: the release kept val/test in their own folders

stage = "unpaired"
backbone = "efficient_isp"
g_lr = 5e-4                       # Efficient ISP preset (docs/method.md §6)
d_lr = 1e-5
d_every = 10
checkpoint_schedule = "release"   # G_step_<updates + 99>, saved after updates 1, 11, ...: sweep steps = published steps
pretrained_generator = "efficient_isp_demosaic_pretrain" # the authors' pretraining, as the release
batch_size = 32
max_steps = 40000                 # published pick at step 27,220: rounded up to 10k, plus 10k
