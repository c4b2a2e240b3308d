"""Script-side glue for fit.py, the evaluation scripts, tools/ and bench/: what needs two libraries at once,
since a library never imports another. Not a script (no command line) and not a library.

The one home of two constructions every script shares:
  build_dataset(cfg, split, ...)  an ISPDataset from a config's data keys (fit.py's training split, the
                                  sweep's and the demo report's scoring splits, the benches), data_preset(cfg)
                                  its preset (test_model.py and tools.submit read single files with it);
  load_model(checkpoint, ...)     a generator from a checkpoint file or a published registry name, its backbone
                                  checked against the registry (resolve_generator: the file and backbone alone).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from evaluation import EvalData, LPIPSMetric, load_eval_data

DEFAULTS_FILE = Path(__file__).resolve().parent / "config.py"
# The config keys a dataset is built from (config.py's data section, less where fit.py draws its training split
# from, train_split and train_indices, and the loader keys batch_size ... feature_cache_dtype).
DATASET_KEYS = ("dataset", "zrr_normalisation", "data_root", "demosaic", "reference_scaling", "wb_gains",
                "demosaic_gamma", "cache_dir", "target_resize", "skip_bad_files", "seed")


def build_lpips_metric(lpips_path=None, alexnet_path=None, device="cpu") -> LPIPSMetric | None:
    """The LPIPS AlexNet v0.1 metric from local weight files (found by pretrained's registry, given paths first;
    built by losses' one LPIPS builder, every key checked), or None with a warning when the files are absent,
    so the lpips column is left out. Nothing is downloaded."""
    from losses import build_lpips_alexnet
    from pretrained import MissingWeightsError, resolve_weight
    try:
        trunk_file, heads_file = resolve_weight("alexnet", alexnet_path), resolve_weight("lpips_alex", lpips_path)
    except MissingWeightsError as err:
        warnings.warn(f"LPIPS weights not found, the lpips column is omitted: {err}", stacklevel=2)
        return None
    return LPIPSMetric(build_lpips_alexnet(trunk_file, heads_file)).to(device)


def data_config(*layers: dict) -> dict:
    """config.py's dataset keys with each layer laid over them in turn (a run's config.json, then command-line
    flags); a layer's None values (flags not given) and other keys are ignored. A config.json from before a
    key existed gets the key's default, as fit.py would have used."""
    from training.config_loader import apply_overrides, read_config_file
    cfg = {k: v for k, v in read_config_file(DEFAULTS_FILE).items() if k in DATASET_KEYS}
    for layer in layers:  # typed like fit.py's --set (config.json's lists become tuples again)
        cfg = apply_overrides(cfg, {k: v for k, v in layer.items() if k in DATASET_KEYS and v is not None})
    return cfg


def data_preset(cfg: dict):
    """The dataset preset of a config: its RAW normalisation (ZRR's zrr_normalisation) and packed channel order."""
    from data import get_preset
    return get_preset(cfg["dataset"], cfg["zrr_normalisation"])


def build_dataset(cfg: dict, split: str, input_kind: str, *, paired: bool = True, reference: bool = False,
                  indices=None, skip_bad: bool | None = None, require_targets: bool = True,
                  target_pairing="shuffled"):
    """The ISPDataset of `split` as the config describes it: every key of DATASET_KEYS reaches it, so training,
    the sweep and the demo report read the same inputs, targets and demosaiced references.
    reference: add the config's demosaiced reference; skip_bad: None = the config's skip_bad_files;
    target_pairing: how unpaired targets are assigned to the RAW files (a rule name or an explicit mapping)."""
    from data import ISPDataset
    return ISPDataset(
        cfg["data_root"], preset=data_preset(cfg), split=split, input_kind=input_kind, paired=paired,
        reference=cfg["demosaic"] if reference else None, cache_dir=cfg["cache_dir"] or None,
        target_resize=cfg["target_resize"], skip_bad=cfg["skip_bad_files"] if skip_bad is None else skip_bad,
        seed=cfg["seed"], indices=indices, require_targets=require_targets, target_pairing=target_pairing,
        demosaic_kwargs={"scaling": cfg["reference_scaling"], "wb_gains": tuple(cfg["wb_gains"]),
                         "gamma": cfg["demosaic_gamma"]})


def load_input(path: Path, preset, input_kind: str) -> torch.Tensor:
    """Generator input (1, C, h, w): a dataset RAW file (the preset's normalisation) or a camera RAW file."""
    from data import CAMERA_RAW_EXTS, generator_input, read_camera_raw, read_mosaic
    if Path(path).suffix.lower() in CAMERA_RAW_EXTS:
        camera = read_camera_raw(path)  # RGGB mosaic with its own per-site black and white levels
        planes = generator_input(camera.mosaic, preset, input_kind, levels=(camera.black, camera.white))
    else:
        planes = generator_input(read_mosaic(path, preset), preset, input_kind)
    return torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32))[None]


IMAGE_EXTS = (".png", ".jpg", ".jpeg")  # how a reference / ground-truth image may be stored


def find_image(folder: Path | None, stem: str) -> Path | None:
    """folder/<stem>.png|.jpg|.jpeg, the first that exists (None when none does or folder is None): how test_model.py
    finds the reference of an input and tools.submit the ground truth of a submitted JPEG."""
    if folder is None:
        return None
    return next((folder / f"{stem}{ext}" for ext in IMAGE_EXTS if (folder / f"{stem}{ext}").is_file()), None)


def resolve_generator(checkpoint, backbone: str | None = None, cache_dir=None) -> tuple[Path, str]:
    """(file, backbone) of a checkpoint file or published registry name (downloaded into the cache when missing).
    The backbone comes from the argument, else the registry, else the state_dict's parameter names and shapes;
    an argument that contradicts the registry is a CheckpointError naming both."""
    from models import CheckpointError, identify_backbone, read_state_dict
    from pretrained import resolve_checkpoint
    path, registry_backbone = resolve_checkpoint(checkpoint, cache_dir=cache_dir)
    if backbone and registry_backbone and backbone != registry_backbone:
        raise CheckpointError(f"{checkpoint} is a {registry_backbone} checkpoint, not {backbone}: name a {backbone} "
                              f"checkpoint or set the backbone to {registry_backbone}")
    backbone = backbone or registry_backbone or identify_backbone(read_state_dict(path))
    if backbone is None:
        raise CheckpointError(f"{path}: cannot tell the backbone of this checkpoint (not a published file and "
                              "not a default-size generator); pass --backbone")
    return Path(path), backbone


def load_model(checkpoint, backbone: str | None = None, device="cpu", cache_dir=None):
    """(path, backbone, generator in eval mode on device, generator_info) of a checkpoint file or registry name:
    the one way scripts load a generator (resolve_generator's backbone check, then a strict load)."""
    from models import generator_info, load_generator
    path, backbone = resolve_generator(checkpoint, backbone, cache_dir)
    model = load_generator(path, backbone, map_location="cpu").to(device).eval()
    return path, backbone, model, generator_info(backbone)


def load_split(cfg: dict, split: str, input_kind: str, batch_size: int = 16, limit: int | None = None,
               num_workers: int = 0, progress: bool = True, indices=None) -> EvalData:
    """A split (or the stems of an index list) read and preprocessed once; its bad files (corrupt, wrong bit
    depth, odd size, missing pair) are left out and listed in EvalData.problems."""
    def build(stems):
        return build_dataset(cfg, split, input_kind, indices=stems, skip_bad=True)
    return load_eval_data(build, indices, batch_size, limit, num_workers, progress, desc=f"loading {split}")
