# Reproduction recipe: Efficient ISP, unpaired training, on Zurich RAW-to-RGB
# (paper Table 1, ZRR test set; docs/method.md §8).
# It extends config.py (base_config) with only the keys below; --set still overrides any key.
# EDIT data_root (and train_indices) to your copy of the real dataset, or --set data_root=/path.
#   python -m tools.data split --root datasets/zrr --preset zrr --n-val 1024 --n-test 0  # once
#   python fit.py --config recipes/zrr_efficient_isp_unpaired.py
#   python process_set.py --run runs/zrr_efficient_isp_unpaired/unpaired --n 40 --step 10 --split train \
#       -- --indices datasets/zrr/splits/val.txt   # the 1,024 held-out images
#   python -m tools.best runs/zrr_efficient_isp_unpaired/unpaired/eval_train   # best vs published
base_config = "../config.py"

recipe = "zrr_efficient_isp_unpaired" # pretrained/ registry name of the authors' checkpoint
published = {"psnr": 19.448, "ssim": 0.700, "ms_ssim": 0.832, "lpips": 0.239,
             "step": 30750}  # paper metrics (truncated 8-bit test outputs) and the pick's step
run_name = "zrr_efficient_isp_unpaired" # the run folder: runs/zrr_efficient_isp_unpaired/

dataset = "zrr"
data_root = "datasets/zrr"        # EDIT: <root>/{train,test}/{huawei_raw,canon}/
train_split = "train"
train_indices = "datasets/zrr/splits/train.txt" # EDIT with data_root: train minus the 1,024 val images

stage = "unpaired"
backbone = "efficient_isp"
g_lr = 5e-4                       # Efficient ISP preset (docs/method.md §6)
d_lr = 1e-5
d_every = 10
checkpoint_schedule = "release"   # G_step_<updates + 99>, saved after updates 1, 11, ...: sweep steps = published steps
pretrained_generator = "efficient_isp_demosaic_pretrain" # the authors' pretraining, as the release
batch_size = 32
max_steps = 50000                 # published pick at step 30,750: rounded up to 10k, plus 10k
