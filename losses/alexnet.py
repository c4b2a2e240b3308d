"""LPIPS+ AlexNet trunk features for the texture discriminators (docs/method.md §3 and 4).

The trunk is torchvision's AlexNet `features`, cut at LPIPS's slice boundaries: map k is the output of
slice k+1 (relu1 .. relu5). The discriminators read map 0 (relu1, 64 ch) and map 3 (relu4, 256 ch) of the
grayscale image; one trunk pass serves both. Release input: grayscale in [0, 1] straight into the trunk.
"""
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
import torchvision

from .frozen import FrozenExtractor, scale_preserving_init
from .pixel import grayscale3
from .weight_loading import WeightsMismatchError, load_checked, load_state_file, require_path, warn_random

# LPIPS's AlexNet slices over torchvision's alexnet().features indices.
LPIPS_ALEX_SLICES = ((0, 2), (2, 5), (5, 8), (8, 10), (10, 12))
# LPIPS v0.1 scaling layer (applied to inputs in [-1, 1]).
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
INPUT_SCALINGS = ("none", "lpips")


def alexnet_trunk_slices(num_slices: int = 5) -> nn.ModuleDict:
    """slice1..sliceN holding torchvision AlexNet feature layers under their original indices."""
    features = torchvision.models.alexnet(weights=None).features
    slices = nn.ModuleDict()
    for k, (start, stop) in enumerate(LPIPS_ALEX_SLICES[:num_slices], start=1):
        slices[f"slice{k}"] = nn.Sequential()
        for i in range(start, stop):
            slices[f"slice{k}"].add_module(str(i), features[i])
    return slices


def trunk_state_from_file(state: Dict[str, torch.Tensor], num_slices: int, source: str) -> Dict[str, torch.Tensor]:
    """Map a torchvision AlexNet file ('features.I.*') or an LPIPS/pyiqa file ('net.sliceK.I.*')
    onto 'slices.sliceK.I.*' keys for the first num_slices slices."""
    out = {}
    for k, (start, stop) in enumerate(LPIPS_ALEX_SLICES[:num_slices], start=1):
        for i in range(start, stop):
            for param in ("weight", "bias"):
                for key in (f"features.{i}.{param}", f"net.slice{k}.{i}.{param}"):
                    if key in state:
                        out[f"slices.slice{k}.{i}.{param}"] = state[key]
    if not out:
        raise WeightsMismatchError(
            f"{source} holds no AlexNet trunk weights (expected 'features.I.*' keys of alexnet-owt-7be5be79.pth "
            f"or 'net.sliceK.I.*'); LPIPS head-only files need the torchvision AlexNet file for the trunk")
    return out


class TextureFeatures(FrozenExtractor):
    """image (B, 3, H, W) in [0, 1] -> (map0, map3) of its grayscale: (B, 64, h0, w0), (B, 256, h3, w3).

    input_scaling 'none' (release): grayscale in [0, 1] into the trunk;
    'lpips': LPIPS's own preprocessing (to [-1, 1], then its scaling layer)."""

    layers = (0, 3)
    channels = (64, 256)

    def __init__(self, input_scaling: str = "none"):
        super().__init__()
        if input_scaling not in INPUT_SCALINGS:
            raise ValueError(f"input_scaling must be one of {INPUT_SCALINGS}, got {input_scaling!r}")
        self.input_scaling = input_scaling
        self.slices = alexnet_trunk_slices(num_slices=4)  # relu5 is not needed
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).view(1, 3, 1, 1), persistent=False)

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        gray = grayscale3(image)
        if self.input_scaling == "lpips":
            return (2.0 * gray - 1.0 - self.shift) / self.scale
        return gray

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        h = self.preprocess(image)
        maps = []
        for block in self.slices.values():
            h = block(h)
            maps.append(h)
        return maps[0], maps[3]


def build_texture_features(weights_path: Optional[Union[str, Path]] = None, allow_random: bool = False,
                           normalise: bool = False, input_scaling: Optional[str] = None) -> TextureFeatures:
    """Frozen AlexNet trunk (LPIPS+ slices) -> (map0, map3). normalise=True selects LPIPS input scaling
    (input_scaling overrides it). weights_path: alexnet-owt-7be5be79.pth or an LPIPS file that includes
    the trunk."""
    path = None if allow_random else require_path(weights_path, "weights_path", "build_texture_features")
    model = TextureFeatures(input_scaling or ("lpips" if normalise else "none"))
    if allow_random:
        warn_random("AlexNet texture trunk (LPIPS+)")
        # Both input scalings (grey in [0, 1], or LPIPS's) already have a mean square near 1.
        scale_preserving_init(model.slices)
    else:
        load_checked(model, trunk_state_from_file(load_state_file(path), 4, str(path)), str(path))
    return model.freeze()
