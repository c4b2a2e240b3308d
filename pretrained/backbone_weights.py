"""The pretrained backbone weight files the losses and the LPIPS metric need: where each one lives, how it is
found, fetched and checked. Nothing touches the network or the disk at import time.

Each file lives where its owning library looks for it (torch.hub's checkpoints, pyiqa's folder, the Hugging
Face cache), so files fetched by those libraries are found too. A missing file raises MissingWeightsError
naming the file, the folder it belongs in and the download command. Downloads go through pretrained.download_cache
(temp file, checksum, atomic rename) with the SHA-256 prefix torchvision's file names carry; the Hugging Face
hub checks the ViT's SHA-256 itself. Files with no published checksum (the MatConvNet .mat, pyiqa's) are read
back by the caller with the strict loaders of losses/ (tools.weights does).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from common.errors import UserError

from .download_cache import fetch_verified
from .published import DOWNLOAD_COMMAND


class MissingWeightsError(UserError, FileNotFoundError):
    """A pretrained weight file is absent; the message says where to put it and how to fetch it."""


@dataclass(frozen=True)
class WeightFile:
    name: str            # registry key
    file: str            # file name as the owning library expects it
    location: str        # 'torch_checkpoints' | 'pyiqa' | 'hf_hub' | 'config'
    url: str
    size_bytes: int      # approximate, for the check table
    used_for: str
    config_key: str = ""  # config.py key that may point at the file instead
    hf_repo: str = ""     # for location 'hf_hub'
    sha256: str = ""      # published SHA-256 or its prefix (torch.hub: the hex in the file name); "" = none


# Each URL is the one its owning library downloads (torchvision's weight enums, pyiqa's default_model_urls,
# timm's pretrained cfg; tests/test_weights.py reads them from the installed libraries). No library holds the
# MatConvNet VGG-19 (the release's content network): its URL is MatConvNet's model page, checked by hand.
WEIGHT_FILES: dict[str, WeightFile] = {w.name: w for w in (
    WeightFile("vgg19_matconvnet", "imagenet-vgg-verydeep-19.mat", "config",
               "https://www.vlfeat.org/matconvnet/models/imagenet-vgg-verydeep-19.mat", 534_904_783,
               "content loss, release VGG-19 (MatConvNet)", config_key="vgg_weights"),
    WeightFile("vgg19_torchvision", "vgg19-dcbb9e9d.pth", "torch_checkpoints",
               "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth", 574_673_361,
               "content loss, torchvision VGG-19", config_key="vgg_weights", sha256="dcbb9e9d"),
    WeightFile("alexnet", "alexnet-owt-7be5be79.pth", "torch_checkpoints",
               "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", 244_408_911,
               "texture features (LPIPS+ AlexNet trunk), LPIPS+ loss, LPIPS metric", config_key="alexnet_weights",
               sha256="7be5be79"),
    WeightFile("vgg16", "vgg16-397923af.pth", "torch_checkpoints",
               "https://download.pytorch.org/models/vgg16-397923af.pth", 553_433_881, "DISTS loss",
               config_key="vgg16_weights", sha256="397923af"),
    WeightFile("lpips_alex", "LPIPS_v0.1_alex-df73285e.pth", "pyiqa",
               "https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/"
               "LPIPS_v0.1_alex-df73285e.pth", 6_009, "LPIPS+ loss and LPIPS metric (linear heads)",
               config_key="lpips_weights"),
    WeightFile("dists", "DISTS_weights-f5e65c96.pth", "pyiqa",
               "https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/"
               "DISTS_weights-f5e65c96.pth", 8_957, "DISTS loss (alpha/beta)", config_key="dists_weights"),
    # The original ViT-B/16 (ImageNet-21k, fine-tuned on 1k): the weights of google/vit-base-patch16-224,
    # which the release used, in timm's layout.
    WeightFile("vit_base", "model.safetensors", "hf_hub",
               "https://huggingface.co/timm/vit_base_patch16_224.orig_in21k_ft_in1k", 346_284_714,
               "color features (timm ViT-B/16)", config_key="vit_weights",
               hf_repo="timm/vit_base_patch16_224.orig_in21k_ft_in1k"),
    # DINOv2 (self-supervised ViT-S/14 and ViT-B/14, LVD-142M) in timm's layout: the embedders of semantic
    # pseudo-pairing (docs/method.md §11), config key pairing_embedder = dinov2_small | dinov2_base.
    WeightFile("dinov2_small", "model.safetensors", "hf_hub",
               "https://huggingface.co/timm/vit_small_patch14_dinov2.lvd142m", 88_250_000,
               "semantic pairing embedder (timm DINOv2 ViT-S/14)", config_key="pairing_weights",
               hf_repo="timm/vit_small_patch14_dinov2.lvd142m"),
    WeightFile("dinov2_base", "model.safetensors", "hf_hub",
               "https://huggingface.co/timm/vit_base_patch14_dinov2.lvd142m", 346_350_000,
               "semantic pairing embedder (timm DINOv2 ViT-B/14)", config_key="pairing_weights",
               hf_repo="timm/vit_base_patch14_dinov2.lvd142m"),
)}


def torch_hub_dir() -> Path:
    """$TORCH_HOME/hub (torch.hub.get_dir honours TORCH_HOME and XDG_CACHE_HOME)."""
    import torch.hub
    return Path(torch.hub.get_dir())


def weight_directory(entry: WeightFile) -> Path:
    """Directory where the owning library looks for the file."""
    if entry.location in ("torch_checkpoints", "config"):
        return torch_hub_dir() / "checkpoints"
    if entry.location == "pyiqa":
        return torch_hub_dir() / "pyiqa"
    if entry.location == "hf_hub":
        return _hf_cache_dir() / ("models--" + entry.hf_repo.replace("/", "--"))
    raise ValueError(f"unknown weight location {entry.location!r} for {entry.name}")


def _hf_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    hf_home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return Path(hf_home) / "hub"


def _hf_cached_file(entry: WeightFile) -> Path | None:
    snapshots = weight_directory(entry) / "snapshots"
    if not snapshots.is_dir():
        return None
    found = sorted(snapshots.glob(f"*/{entry.file}"))
    return found[-1] if found else None


def _entry(name: str) -> WeightFile:
    if name not in WEIGHT_FILES:
        raise KeyError(f"unknown weight file {name!r}; known: {sorted(WEIGHT_FILES)}")
    return WEIGHT_FILES[name]


def expected_path(name: str) -> Path:
    """Where the file should be (for hf_hub: the cache folder of the repository)."""
    entry = _entry(name)
    if entry.location == "hf_hub":
        return _hf_cached_file(entry) or weight_directory(entry)
    return weight_directory(entry) / entry.file


def missing_message(name: str, path: Path | None = None) -> str:
    entry = _entry(name)
    where = f"{path} (given path)" if path is not None else f"{weight_directory(entry)}/"
    hint = f" or point config key '{entry.config_key}' at it" if entry.config_key else ""
    folder = weight_directory(entry) / ("snapshots/<revision>" if entry.location == "hf_hub" else "")
    return (f"missing pretrained weights '{entry.file}' ({entry.used_for}): expected at {where}. "
            f"Put the file in {folder}{hint}, or fetch it with "
            f"`{DOWNLOAD_COMMAND} --only {name}` (source: {entry.url}). "
            f"For demos/tests only, allow_random_backbones builds the network with random weights.")


def resolve_weight(name: str, path: os.PathLike | str | None = None) -> Path:
    """Path of an existing weight file: the given path (None or "": the registry's), else the default location."""
    if path:
        candidate = Path(path).expanduser()
        if not candidate.is_file():
            raise MissingWeightsError(missing_message(name, candidate))
        return candidate
    entry = _entry(name)
    candidate = _hf_cached_file(entry) if entry.location == "hf_hub" else weight_directory(entry) / entry.file
    if candidate is None or not candidate.is_file():
        raise MissingWeightsError(missing_message(name))
    return candidate


def weight_status() -> dict[str, Path | None]:
    """name -> existing path or None, for every registered file."""
    status = {}
    for name in WEIGHT_FILES:
        try:
            status[name] = resolve_weight(name)
        except MissingWeightsError:
            status[name] = None
    return status


def download_weight(entry: WeightFile, progress: bool = True) -> Path:
    """Fetch one file into the directory its library reads from and return its path. The hub checks the
    ViT's SHA-256; other files through pretrained.download_cache (the entry's SHA-256 or prefix, when it has one)."""
    if entry.location == "hf_hub":
        from huggingface_hub import hf_hub_download
        return Path(hf_hub_download(repo_id=entry.hf_repo, filename=entry.file))
    return fetch_verified(entry.url, entry.sha256 or None, weight_directory(entry) / entry.file, progress=progress)
