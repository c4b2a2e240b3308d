"""ViT token features for the color discriminator (docs/method.md §4, "Color").

image -> DPED Gaussian blur -> bilinear resize to 224x224 -> ViT -> last hidden state after the final
norm, CLS (prefix) tokens dropped: (B, 196, 768) for ViT-B/16. Release: [0, 1] input, no normalisation.
"""
from pathlib import Path
from typing import Optional, Union

import torch
import torch.nn.functional as F

from .frozen import FrozenExtractor
from .pixel import gaussian_blur
from .weight_loading import load_checked, load_state_file, require_path, warn_random

DEFAULT_VIT = "vit_base_patch16_224"
# The release's ViT is Hugging Face's google/vit-base-patch16-224 (layer_norm_eps 1e-12); timm builds
# the same network with LayerNorm eps 1e-6, which shifts the tokens slightly for the same weights.
RELEASE_LAYER_NORM_EPS = 1e-12


class ColorFeatures(FrozenExtractor):
    """image (B, 3, H, W) in [0, 1] -> patch tokens (B, N, token_dim)."""

    def __init__(self, vit: torch.nn.Module, normalise: bool = False):
        super().__init__()
        self.vit = vit
        self.normalise = normalise
        self.token_dim = int(vit.embed_dim)
        self.prefix_tokens = int(getattr(vit, "num_prefix_tokens", 1))
        self.image_size = tuple(vit.patch_embed.img_size)
        cfg = getattr(vit, "pretrained_cfg", None) or {}
        self.register_buffer("mean", torch.tensor(cfg.get("mean", (0.5, 0.5, 0.5))).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg.get("std", (0.5, 0.5, 0.5))).view(1, 3, 1, 1), persistent=False)

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(gaussian_blur(image), size=self.image_size, mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std if self.normalise else x

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        tokens = self.vit.forward_features(self.preprocess(image))  # final norm included
        return tokens[:, self.prefix_tokens:]


def build_color_features(model_name: str = DEFAULT_VIT, weights_path: Optional[Union[str, Path]] = None,
                         allow_random: bool = False, normalise: bool = False,
                         layer_norm_eps: float = RELEASE_LAYER_NORM_EPS) -> ColorFeatures:
    """Frozen timm ViT token extractor. weights_path: a timm state_dict of model_name (.safetensors or .pth;
    for vit_base_patch16_224 the Hugging Face file pretrained.backbone_weights registers as 'vit_base').
    layer_norm_eps: every LayerNorm's epsilon (1e-12 as the release's Hugging Face ViT; timm's own is 1e-6)."""
    path = None if allow_random else require_path(weights_path, "weights_path", "build_color_features")
    from functools import partial

    import timm
    vit = timm.create_model(model_name, pretrained=False, num_classes=0,
                            norm_layer=partial(torch.nn.LayerNorm, eps=layer_norm_eps))
    if allow_random:
        warn_random(f"ViT color features ({model_name})")
    else:
        # The classifier head is not part of the feature extractor (num_classes=0).
        load_checked(vit, load_state_file(path), str(path), ignore=("head.",))
    return ColorFeatures(vit, normalise).freeze()
