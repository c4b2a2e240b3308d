"""Every external weight file the project uses, where the libraries look for it, and strict loading.

The one module that knows file names, directories, URLs and sizes. Nothing here touches the network or
the disk at import time. A missing file raises MissingWeightsError naming the file, the directory it
belongs in and the download command; allow_random builds the same networks with random weights and
warns loudly (demo and tests only). Keys and shapes are always checked here, so a wrong file never
loads silently (pyiqa itself loads with strict=False).
"""
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Mapping, Optional

import torch

LOG = logging.getLogger(__name__)
DOWNLOAD_COMMAND = "python -m tools.weights download"


class MissingWeightsError(FileNotFoundError):
    """A pretrained weight file is absent; the message says where to put it and how to fetch it."""


class WeightsMismatchError(ValueError):
    """A weight file exists but does not fit the network (wrong file, truncated, wrong layout)."""


class RandomWeightsWarning(UserWarning):
    """A frozen feature extractor runs with random weights: its losses are meaningless for training."""


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


WEIGHT_FILES: Dict[str, WeightFile] = {w.name: w for w in (
    WeightFile("vgg19_matconvnet", "imagenet-vgg-verydeep-19.mat", "config",
               "https://www.vlfeat.org/matconvnet/models/imagenet-vgg-verydeep-19.mat", 534_904_783,
               "content loss, release VGG-19 (MatConvNet)", config_key="vgg_weights"),
    WeightFile("vgg19_torchvision", "vgg19-dcbb9e9d.pth", "torch_checkpoints",
               "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth", 574_673_361,
               "content loss, torchvision VGG-19", config_key="vgg_weights"),
    WeightFile("alexnet", "alexnet-owt-7be5be79.pth", "torch_checkpoints",
               "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", 244_408_911,
               "texture features (LPIPS+ AlexNet trunk), LPIPS+ loss, LPIPS metric", config_key="alexnet_weights"),
    WeightFile("vgg16", "vgg16-397923af.pth", "torch_checkpoints",
               "https://download.pytorch.org/models/vgg16-397923af.pth", 553_433_881, "DISTS loss",
               config_key="vgg16_weights"),
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
)}


def torch_hub_dir() -> Path:
    """$TORCH_HOME/hub (torch.hub.get_dir honours TORCH_HOME and XDG_CACHE_HOME)."""
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


def _hf_cached_file(entry: WeightFile) -> Optional[Path]:
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


def missing_message(name: str, path: Optional[Path] = None) -> str:
    entry = _entry(name)
    where = f"{path} (given path)" if path is not None else f"{weight_directory(entry)}/"
    hint = f" or point config key '{entry.config_key}' at it" if entry.config_key else ""
    folder = weight_directory(entry) / ("snapshots/<revision>" if entry.location == "hf_hub" else "")
    return (f"missing pretrained weights '{entry.file}' ({entry.used_for}): expected at {where}. "
            f"Put the file in {folder}{hint}, or fetch it with "
            f"`{DOWNLOAD_COMMAND} --only {name}` (source: {entry.url}). "
            f"For demos/tests only, allow_random_backbones builds the network with random weights.")


def resolve_weight(name: str, path: Optional[os.PathLike] = None) -> Path:
    """Path of an existing weight file: the given path, else the library's default location."""
    if path is not None:
        candidate = Path(path).expanduser()
        if not candidate.is_file():
            raise MissingWeightsError(missing_message(name, candidate))
        return candidate
    entry = _entry(name)
    candidate = _hf_cached_file(entry) if entry.location == "hf_hub" else weight_directory(entry) / entry.file
    if candidate is None or not candidate.is_file():
        raise MissingWeightsError(missing_message(name))
    return candidate


def weight_status() -> Dict[str, Optional[Path]]:
    """name -> existing path or None, for every registered file."""
    status = {}
    for name in WEIGHT_FILES:
        try:
            status[name] = resolve_weight(name)
        except MissingWeightsError:
            status[name] = None
    return status


def warn_random(what: str) -> None:
    """Loud warning (warnings + logging) that a frozen extractor has random weights."""
    message = (f"RANDOM WEIGHTS: {what} is built with random weights (allow_random_backbones). "
               f"Its losses/features are meaningless for real training; use only for demos and tests. "
               f"Fetch real weights with `{DOWNLOAD_COMMAND}`.")
    LOG.warning(message)
    warnings.warn(message, RandomWeightsWarning, stacklevel=3)


def load_state_file(path: Path) -> Dict[str, torch.Tensor]:
    """Tensor dict from a .pth (weights_only) or .safetensors file; clear error when unreadable."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes one clear error
        raise WeightsMismatchError(f"cannot read weight file {path}: {exc}") from exc
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(torch.is_tensor(v) for v in state.values()):
        raise WeightsMismatchError(f"weight file {path} does not hold a state_dict of tensors")
    return dict(state)


def check_state_dict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str,
                     ignore: Iterable[str] = ()) -> None:
    """Raise WeightsMismatchError unless state has exactly module's keys with the same shapes
    (keys starting with a prefix in ignore are dropped from state first)."""
    ignore = tuple(ignore)
    state = {k: v for k, v in state.items() if not (ignore and k.startswith(ignore))}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or wrong:
        details = [f"missing keys {missing[:6]}" if missing else "",
                   f"unexpected keys {unexpected[:6]}" if unexpected else "",
                   "wrong shapes " + ", ".join(f"{k}: file {tuple(state[k].shape)} vs net {tuple(expected[k].shape)}"
                                               for k in wrong[:6]) if wrong else ""]
        raise WeightsMismatchError(f"{source} does not fit {type(module).__name__}: "
                                   + "; ".join(d for d in details if d))


def load_checked(module: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str,
                 ignore: Iterable[str] = ()) -> None:
    """check_state_dict then a strict load."""
    check_state_dict(module, state, source, ignore)
    ignore = tuple(ignore)
    module.load_state_dict({k: v for k, v in state.items() if not (ignore and k.startswith(ignore))}, strict=True)
