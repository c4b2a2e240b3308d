"""Script-side glue for the evaluation scripts (inference.py, test_model.py, tools/submit.py): what needs two
libraries at once, since a library never imports another. Not a script (no command line) and not a library.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from evaluation import EvalData, LPIPSMetric, load_eval_data


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


def dataset_preset(dataset, zrr_normalisation: str | None = None):
    """data.get_preset, with its own default ZRR normalisation unless one is named."""
    from data import get_preset
    return get_preset(dataset, zrr_normalisation) if zrr_normalisation else get_preset(dataset)


def load_input(path: Path, preset, input_kind: str) -> torch.Tensor:
    """Generator input (1, C, h, w): a dataset RAW file (the preset's normalisation) or a camera RAW file."""
    from data import CAMERA_RAW_EXTS, generator_input, read_camera_raw, read_mosaic
    if Path(path).suffix.lower() in CAMERA_RAW_EXTS:
        camera = read_camera_raw(path)  # RGGB mosaic with its own per-site black and white levels
        planes = generator_input(camera.mosaic, preset, input_kind, levels=(camera.black, camera.white))
    else:
        planes = generator_input(read_mosaic(path, preset), preset, input_kind)
    return torch.from_numpy(np.ascontiguousarray(planes, dtype=np.float32))[None]


def load_model(checkpoint: str, backbone: str | None, device, prog: str):
    """(path, backbone, generator in eval mode on device, generator_info) of a checkpoint file or registry name;
    the backbone comes from the flag, else the registry, else the state_dict's keys."""
    from models import generator_info, identify_backbone, load_generator, read_state_dict
    from pretrained import resolve_checkpoint
    path, registry_backbone = resolve_checkpoint(checkpoint)
    backbone = backbone or registry_backbone
    if backbone is None:
        backbone = identify_backbone(read_state_dict(path))
    if backbone is None:
        raise SystemExit(f"{prog}: cannot tell the backbone of {path}; pass --backbone")
    model = load_generator(path, backbone, map_location="cpu").to(device).eval()
    return path, backbone, model, generator_info(backbone)


def load_split(data_root, preset, split: str, input_kind: str, batch_size: int = 16, limit: int | None = None,
               num_workers: int = 0, progress: bool = True, indices=None) -> EvalData:
    """A split (or the stems of an index list) read and preprocessed once; its bad files (corrupt, wrong bit
    depth, odd size, missing pair) are left out and listed in EvalData.problems."""
    from data import ISPDataset

    def build(stems):
        return ISPDataset(data_root, preset=preset, split=split, input_kind=input_kind, paired=True,
                          indices=stems, skip_bad=True)
    return load_eval_data(build, indices, batch_size, limit, num_workers, progress, desc=f"loading {split}")
