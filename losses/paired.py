"""Paired texture losses through pyiqa's own architectures: LPIPS+ and DISTS (docs/method.md §5), and the one
builder of the LPIPS AlexNet v0.1 network (build_lpips_alexnet), which the scripts also hand to the LPIPS metric.

pyiqa's constructors always ask torchvision for ImageNet weights (a download when absent) and load their
own files with strict=False. Here the trunks are built without any download and every weight is loaded
with explicit key and shape checks: trunk from the torchvision file, heads from the pyiqa file.
"""
import contextlib
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, Optional, Union

import torch
import torchvision

from common import strip_module_prefix

from .frozen import FrozenExtractor
from .vgg import VGG16_CFG, make_vgg_features
from .weight_loading import WeightsMismatchError, check_state_dict, load_state_file, require_path, warn_random

PathLike = Optional[Union[str, Path]]


@contextlib.contextmanager
def _no_download_trunks(arch_module):
    """Within the block, arch_module's `models.alexnet/vgg16` build untrained features (no download)."""
    original = arch_module.models
    arch_module.models = SimpleNamespace(
        alexnet=lambda *a, **k: torchvision.models.alexnet(weights=None),
        vgg16=lambda *a, **k: SimpleNamespace(features=make_vgg_features(VGG16_CFG)))
    try:
        yield
    finally:
        arch_module.models = original


def _assemble(net: torch.nn.Module, trunk: Dict[str, torch.Tensor], heads: Dict[str, torch.Tensor],
              computed: tuple, source: str) -> None:
    """Load trunk + heads into net; keys starting with a `computed` prefix keep their built values."""
    state = {k: v for k, v in net.state_dict().items() if k.startswith(computed)}
    state.update(trunk)
    state.update(heads)
    check_state_dict(net, state, source)
    net.load_state_dict(state, strict=True)


def _with_lins_aliases(heads: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """pyiqa's LPIPS registers each head twice (linK and lins.K); files hold linK only."""
    out = dict(heads)
    for key, value in heads.items():
        match = re.match(r"lin(\d+)\.(.*)", key)
        if match:
            out[f"lins.{match.group(1)}.{match.group(2)}"] = value
    return out


def _torchvision_trunk(net: torch.nn.Module, tv_state: Dict[str, torch.Tensor], prefix_depth: int) -> Dict:
    """Map 'features.I.*' of a torchvision file onto net's '<slice>.I.*' (prefix_depth names before I)."""
    out = {}
    for key in net.state_dict():
        parts = key.split(".")
        candidate = "features." + ".".join(parts[prefix_depth:])
        if candidate in tv_state and parts[prefix_depth].isdigit():
            out[key] = tv_state[candidate]
    return out


class LPIPSPlusLoss(FrozenExtractor):
    """LPIPS+ (pyiqa 'lpips+': LPIPS v0.1 AlexNet, spatial average weighted by the reference's relu3
    features). forward(x, reference) in [0, 1] -> mean over the batch."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return self.net(x, reference, normalize=True).mean()


class DISTSLoss(FrozenExtractor):
    """DISTS (pyiqa). forward(x, reference) in [0, 1] -> mean over the batch."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return self.net(x, reference).mean()


def _lpips_heads(heads: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The linear heads of an LPIPS file, named linK.* (files may use the ModuleList alias lins.K.*)."""
    renamed = {re.sub(r"^lins\.(\d+)\.", r"lin\1.", k): v for k, v in heads.items()}
    return {k: v for k, v in renamed.items() if k.startswith("lin")}


def build_lpips_alexnet(alexnet_path: PathLike = None, lpips_path: PathLike = None, allow_random: bool = False,
                        semantic_weight_layer: int = -1) -> torch.nn.Module:
    """pyiqa's LPIPS v0.1 AlexNet network, net(x, y, normalize=True) on [0, 1] images, from local files only.

    Trunk from torchvision's AlexNet file, linear heads from pyiqa's LPIPS file (a trunk carried by that file
    wins, as in pyiqa); every key and shape is checked (WeightsMismatchError). semantic_weight_layer=2 gives
    LPIPS+ (spatial mean weighted by the reference's relu3 features); -1 is plain LPIPS, the metric.
    allow_random: random weights with a loud warning (tests, demos).
    """
    if not allow_random:  # fail fast, before building anything
        trunk_file = require_path(alexnet_path, "alexnet_path", "build_lpips_alexnet")
        heads_file = require_path(lpips_path, "lpips_path", "build_lpips_alexnet")
    from pyiqa.archs import lpips_arch
    with _no_download_trunks(lpips_arch):
        net = lpips_arch.LPIPS(pretrained=False, net="alex", version="0.1",
                               semantic_weight_layer=semantic_weight_layer)
    if allow_random:
        warn_random("LPIPS network (AlexNet trunk and linear heads)")
        return net
    heads = strip_module_prefix(load_state_file(heads_file))
    unknown = sorted(k for k in heads if not k.startswith(("lin", "net.", "scaling_layer.")))
    if unknown:
        raise WeightsMismatchError(f"{heads_file} has unexpected keys {unknown[:6]}")
    if not any(k.startswith("lin") for k in heads):
        raise WeightsMismatchError(f"{heads_file} holds no LPIPS linear heads ('linK.model.1.weight')")
    trunk = _torchvision_trunk(net, load_state_file(trunk_file), prefix_depth=2)
    trunk.update({k: v for k, v in heads.items() if k.startswith("net.")})
    _assemble(net, trunk, _with_lins_aliases(_lpips_heads(heads)), ("scaling_layer.",),
              f"{trunk_file} + {heads_file}")
    return net


def build_lpips_plus(alexnet_path: PathLike = None, lpips_path: PathLike = None,
                     allow_random: bool = False) -> LPIPSPlusLoss:
    """The LPIPS+ loss: build_lpips_alexnet with the relu3 semantic weighting, frozen."""
    return LPIPSPlusLoss(build_lpips_alexnet(alexnet_path, lpips_path, allow_random, semantic_weight_layer=2)).freeze()


def build_dists(vgg16_path: PathLike = None, dists_path: PathLike = None, allow_random: bool = False) -> DISTSLoss:
    if not allow_random:  # fail fast, before building anything
        trunk_file = require_path(vgg16_path, "vgg16_path", "build_dists")
        heads_file = require_path(dists_path, "dists_path", "build_dists")
    from pyiqa.archs import dists_arch
    with _no_download_trunks(dists_arch):
        net = dists_arch.DISTS(pretrained=False)
    if allow_random:
        warn_random("DISTS loss (VGG-16 trunk and alpha/beta)")
    else:
        heads = strip_module_prefix(load_state_file(heads_file))
        unknown = sorted(set(heads) - {"alpha", "beta"})
        if unknown or not {"alpha", "beta"} <= set(heads):
            raise WeightsMismatchError(f"{heads_file}: expected exactly keys alpha, beta; found {sorted(heads)[:6]}")
        trunk = _torchvision_trunk(net, load_state_file(trunk_file), prefix_depth=1)
        computed = tuple(f"stage{k}.{i}.filter" for k, i in ((2, 4), (3, 9), (4, 16), (5, 23))) + ("mean", "std")
        _assemble(net, trunk, heads, computed, f"{trunk_file} + {heads_file}")
    return DISTSLoss(net).freeze()
