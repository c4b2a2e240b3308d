# Semantic pseudo-pairing (docs/pairing.md; the NTIRE 2026 entry of docs/method.md §11), Efficient ISP:
#   pretrain (demosaic reference) -> pseudo_paired (colour from each RAW's matched photo)
#   -> unpaired (the release's losses; each RAW's batch partner is its matched photo).
# It extends config.py (base_config) with only the keys below; --set still overrides any key.
# EDIT data_root to your copy of the NTIRE 2026 data (or set dataset/data_root for fujifilm, zrr, camera).
#   python -m tools.pairing --config recipes/semantic_pairing_efficient_isp.py --out runs/pairing   # look first
#   python fit.py --config recipes/semantic_pairing_efficient_isp.py --set pairing_csv=runs/pairing/pairing.csv
#   python fit.py --config recipes/semantic_pairing_efficient_isp.py              # or let fit.py pair
# Offline without DINOv2 weights: --set pairing_embedder=colour_lab (weight-free).
base_config = "../config.py"

run_name = "semantic_pairing_efficient_isp"   # the run folder: runs/semantic_pairing_efficient_isp/

dataset = "ntire2026"
data_root = "datasets/ntire2026"  # EDIT: <root>/train/{raws,jpegs}/
demosaic = "grayworld"            # the NTIRE 2026 baseline's reference: also the RAW side's rendering for pairing

target_pairing = "semantic"       # unpaired stage: each RAW with its matched photo
pairing_embedder = "dinov2_small" # as the entry (python -m tools.weights download --only dinov2_small)
pairing_image_level = "cls"
pairing_matcher = "auto"          # exact OT up to 2000 x 2000, Sinkhorn beyond

backbone = "efficient_isp"
stage = "unpaired"
prior_stages = ("pseudo_paired",)
pretrain_steps = 5000             # a short demosaic pretraining (the NTIRE baseline has none)
pseudo_paired_steps = 5000
batch_size = 16                   # the NTIRE 2026 baseline's batch (docs/method.md §9)
max_steps = 40000
