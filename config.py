# Training configuration: plain Python, every default is the authors' release value unless noted.
# Override any key from the command line:  python fit.py --set key=value [key=value ...]
# or load another file of the same form:    python fit.py --config my_config.py
# A file with base_config = "<path to this file>" extends it with only the keys it changes: the
# reproduction recipes do, e.g.             python fit.py --config recipes/fujifilm_efficient_isp_unpaired.py
# The effective configuration is saved to <run>/config.json and into every full checkpoint.

# --- run -------------------------------------------------------------------------------------------
out_dir = "runs"                  # parent folder of all runs
run_name = ""                     # "" = a timestamp; a run folder holds one sub-folder per stage
stage = "unpaired"                # pretrain | unpaired | paired | paired_no_adv | pseudo_paired
prior_stages = ()                 # stages trained after pretrain and before `stage`, each starting from the previous
                                  # one's final generator, e.g. ("pseudo_paired",) (recipes/semantic_pairing_*.py)
backbone = "efficient_isp"        # efficient_isp | robust_isp | rmfa_tiny | rmfa_medium | rmfa_large | srcnn
pretrained_generator = ""         # path or pretrained/ registry name; "" = run the pretrain stage first;
                                  # "scratch" = no pretraining, PyTorch's default init (seeded; NTIRE 2026 baseline)
checkpoint_dir = ""               # published-checkpoint cache; "" = $ISP_CHECKPOINTS or ~/.cache/isp/checkpoints
device = "auto"                   # auto (cuda when present) | cpu | cuda | cuda:N
seed = 0                          # seeds weights, sampling and the unpaired target shuffle

# --- data ------------------------------------------------------------------------------------------
dataset = "fujifilm"              # fujifilm (Fujifilm UltraISP) | zrr (Zurich RAW-to-RGB) | ntire2026 (challenge .npy)
                                  # | camera (tools.data ingest)
zrr_normalisation = "pynet"       # ZRR input: pynet (x/1020, no black level) | fujifilm_black (release's ZRR path)
data_root = "datasets/synthetic/fujifilm"  # the embedded synthetic data; point at the real dataset root
train_split = "train"             # split folder the training pairs come from
train_indices = ""                # index list (file stems, one per line, # comments) of the training files, inputs
                                  # and unpaired targets alike ("" = the whole train_split folder)
target_pairing = "shuffled"       # which target each RAW gets in unpaired training, fixed for the run: shuffled
                                  # (release: target list shuffled once with seed) | index (NTIRE 2026 baseline: RAW
                                  # and target files each sorted by name, RAW i with target i) | semantic (its
                                  # photo matched by content, docs/pairing.md; pairing_* keys below)
demosaic = "menon"                # demosaiced reference: menon (release) | opencv (ablation)
                                  # | grayworld (NTIRE 2026 baseline)
reference_scaling = "uint16"      # uint16 (release: raw counts/65535, no highlight clip) | white_level (/white, clip)
wb_gains = (1.6, 1.2, 1.4)        # white-balance gains of the demosaiced reference (R, G, B)
demosaic_gamma = 2.2              # the reference is raised to 1/gamma
cache_dir = ".cache/demosaic"     # on-disk cache of demosaiced references ("" = no cache)
target_resize = "bilinear"        # how targets larger than the generator output are resized
skip_bad_files = False            # True: drop unreadable files and report the count instead of failing
patch_size = 0                    # 0 = whole images (release); N = random NxN output crops (even N)
batch_size = 32                   # global batch (split across processes under torchrun)
num_workers = 2                   # DataLoader worker processes
prefetch_factor = 4               # batches each worker loads ahead (with num_workers > 0)
persistent_workers = False        # keep workers alive between loader passes; a stage's loader is one pass, so
                                  # True only holds the finished stage's workers (and memory) during the next one
pin_memory = True                 # CUDA only: page-locked batches for asynchronous host->GPU copies
feature_cache = True              # whole images (patch_size=0): compute the real images' D features and the
                                  # content goal's VGG features once, store them, read them in the loader
                                  # (same training to float tolerance; off automatically when patch_size > 0)
feature_cache_dir = ".cache/features"  # where the cached features live (keyed by image, weights and settings)
feature_cache_features = ("content", "color")  # also "texture" (AlexNet maps 0, 3): per 256x256 image
                                  # (float32) content 0.5 MiB + color 0.57 MiB save ~95% of the real-side compute;
                                  # texture adds 1.2 MiB (3.7 MiB at 448x448) for the remaining few percent
feature_cache_dtype = "float32"   # float32: the very features the step computes; float16: half the disk,
                                  # features rounded to 11 significant bits (~2.4e-4 relative)

# --- semantic pseudo-pairing (docs/pairing.md; python -m tools.pairing) ----------------------------
# target_pairing = "semantic" (above) pairs by content; the pseudo_paired stage always does.
pairing_embedder = "colour_lab"   # colour_lab (weight-free) | dinov2_small | dinov2_base (timm DINOv2, HF hub)
pairing_weights = ""              # explicit path to the DINOv2 weights ("" = Hugging Face cache)
pairing_image_level = "cls"       # DINOv2 image embedding: cls (global token) | mean (of the patch tokens)
pairing_patch_grid = 0            # DINOv2 patch level: also the patch tokens pooled to N x N (0 = off)
pairing_matcher = "auto"          # emd (exact, one-to-one) | sinkhorn (entropic, large sets) | fgw (fused
                                  # Gromov-Wasserstein) | auto (emd up to 2000 x 2000, else sinkhorn)
pairing_reg = 0.05                # Sinkhorn entropic regularisation (cosine cost in [0, 2])
pairing_alpha = 0.5               # fgw: weight of the intra-set structure against the feature cost
pairing_top_k = 1                 # photos listed per RAW in pairing.csv (training draws rank 1)
pairing_csv = ""                  # "" = <run>/pairing.csv; a path = reuse it when its inputs and settings match
pairing_cache_dir = ".cache/pairing"  # on-disk embedding cache (keyed by file, weights and settings)

# --- optimisation ----------------------------------------------------------------------------------
max_steps = 200000                # generator steps of the main stage. The release ran open-ended (chunks of 100 up
                                  # to ~500k steps, stopped by hand) and its published picks lie at 27,220-195,100
                                  # steps (27,220 for this default run): 200k reaches every pick; the sweep then
                                  # picks the checkpoint (docs/method.md §6). Demo and tests set their own small counts.
pretrain_steps = 20000            # generator steps of the demosaic pretraining stage
pseudo_paired_steps = 2000        # generator steps of the pseudo_paired stage (docs/pairing.md)
g_lr = 5e-4                       # generator Adam learning rate (Efficient/Robust ISP)
g_betas = (0.5, 0.9)              # generator Adam betas (ablation: beta1 in {0.0, 0.5})
d_lr = 1e-5                       # discriminators' Adam learning rate
d_betas = (0.5, 0.9)              # discriminators' Adam betas
d_every = 10                      # one discriminator update after generator steps 1, 1+d_every, ... (release phase),
                                  # on the same batch
d_grad_clip = 1.0                 # gradient-norm clip of each discriminator update
train_first_linear = False        # release: the texture Ds' first linear layer keeps its random init; True trains it
emulate_first_linear_residue = True  # release: that layer's never-zeroed .grad builds up and enters D's gradient clip
                                  # (docs/method.md §3); False drops it (no effect when train_first_linear=True)

# Per-backbone presets, applied before command-line overrides (docs/method.md §6).
backbone_presets = {
    "rmfa_tiny": {"g_lr": 1e-4, "d_lr": 5e-5, "d_every": 4},
    "rmfa_medium": {"g_lr": 1e-4, "d_lr": 5e-5, "d_every": 4},
    "rmfa_large": {"g_lr": 1e-4, "d_lr": 5e-5, "d_every": 4},
}

# --- losses ----------------------------------------------------------------------------------------
lambdas = {}                      # per-term weight after DLA, e.g. {"tv": 0.5}; missing terms use 1.0
skip_zero_weight_terms = True     # a term of weight 0 is not computed (nor its network run; a discriminator of
                                  # weight 0 is neither run nor updated); False computes and logs it (raw/<term>)
dla = True                        # Dynamic Loss Adaptation: every term reaches G with gradient norm lambda
dla_eps = 1e-8                    # added to each term's gradient norm
r1_gamma = 10.0                   # R1/R2 gamma; the penalty enters as gamma/2 * penalty_scale * (R1 + R2)
penalty_scale = 100.0             # the release's extra factor on each penalty (1.0 = the paper's form)
paired_content_space = "lab_l"    # paired content loss on: lab_l (release) | rgb (paper)
lpips_plus_reference = "target"   # paired LPIPS+ weights its spatial mean by this image's relu3 features: target
                                  # (pyiqa's metric(output, reference=target)) | output (docs/paired_losses.md)
nan_policy = "stop"               # non-finite loss: stop (save a diagnostic and exit) | skip (skip the step)
max_skipped_steps = 100           # with nan_policy=skip, stop after this many skipped steps

# --- frozen backbones ------------------------------------------------------------------------------
allow_random_backbones = False    # True: random VGG/AlexNet/ViT/LPIPS/DISTS weights (demo and tests only!)
vgg_source = "matconvnet"         # matconvnet (release: imagenet-vgg-verydeep-19.mat)
                                  # | torchvision (vgg19-dcbb9e9d.pth)
vgg_weights = ""                  # explicit path to the VGG weights ("" = standard cache location)
alexnet_weights = ""              # explicit path to alexnet-owt-7be5be79.pth ("" = torch hub cache)
lpips_weights = ""                # explicit path to LPIPS_v0.1_alex-df73285e.pth ("" = pyiqa cache)
vgg16_weights = ""                # explicit path to vgg16-397923af.pth, DISTS's trunk ("" = torch hub cache)
dists_weights = ""                # explicit path to DISTS_weights-f5e65c96.pth ("" = pyiqa cache)
vit_model = "vit_base_patch16_224"  # timm name of the color discriminator's feature ViT
vit_layer_norm_eps = 1e-12        # release: Hugging Face ViT's LayerNorm epsilon; 1e-6 is timm's own
vit_weights = ""                  # explicit path to the ViT weights ("" = timm / HF hub cache)
normalise_features = False        # False = release: [0,1] images straight into AlexNet and ViT

# --- reproduction recipe (recipe set by recipes/*.py; "" and {} for any other run) ----------------
recipe = ""                       # the published result this run reproduces: its pretrained/ registry name
published = {}                    # filled from the registry when `recipe` is set: that result's test-set metrics
                                  # {psnr, ssim, ms_ssim, lpips} and pick "step" (max_steps too, unless given);
                                  # kept in config.json so tools.best / inference.py print them beside the best

# --- speed switches (meant for CUDA; they also apply on CPU; their effect on one step: README "Training") --
cudnn_benchmark = True            # cuDNN picks the fastest algorithm per shape once (fixed image size; CUDA only)
channels_last = False             # NHWC generator, conv extractors and texture discriminators (tensor cores)
frozen_autocast = ""              # "" (float32) | "bf16" | "fp16": frozen VGG/AlexNet/ViT/LPIPS/DISTS under autocast,
                                  # float32 features out; loss reductions, DLA and optimizers stay float32
generator_autocast = ""           # "" | "bf16" | "fp16": the generator's forward and backward under autocast
discriminator_autocast = ""       # "" | "bf16" | "fp16": the discriminators (G's adversarial terms and D updates);
                                  # fp16 has no loss scaling: prefer bf16 (float32's range)
torch_compile = False             # torch.compile the generator and the frozen feature networks (not the
                                  # discriminators: R1/R2 differentiate twice); the first steps compile

# --- checkpoints and logging -----------------------------------------------------------------------
save_every = 10                   # generator snapshot G_step_<N>.pth and full resume state every N steps
checkpoint_schedule = "updates"   # updates: save after updates N, 2N, ..., file G_step_<updates> | release: save after
                                  # updates 1, 1+N, ... (right after each D update), file G_step_<updates + 99>, the
                                  # release's names (its published step numbers); the last step is always saved
log_every = 10                    # TensorBoard scalars every N steps
sample_every = 500                # sample grid (reference | output | target) to TensorBoard and PNG
