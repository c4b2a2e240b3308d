"""The frozen pretrained networks of the losses, wired: each weight file is resolved by pretrained.backbone_weights
(an explicit path from its config key - vgg_weights, alexnet_weights, lpips_weights, vgg16_weights,
dists_weights, vit_weights - else where its owning library keeps it) and handed to the losses builder.
A missing file raises pretrained's MissingWeightsError naming the file, its folder and the download command.
With allow_random nothing is resolved: the builders make random networks and warn."""
from __future__ import annotations

from pathlib import Path

import losses
from losses.vit import DEFAULT_VIT, RELEASE_LAYER_NORM_EPS
from pretrained import DOWNLOAD_COMMAND, MissingWeightsError, resolve_weight


def weight_file(name: str, path=None, allow_random: bool = False) -> Path | None:
    """The registry file `name` (at `path` when one is given); None with random weights."""
    return None if allow_random else resolve_weight(name, path or None)


def content_network(source: str = "matconvnet", weights_path=None, allow_random: bool = False):
    """VGG-19 relu5_4 of the content loss (config keys vgg_source, vgg_weights)."""
    if source not in ("matconvnet", "torchvision"):  # the builder says so, before a file is looked for
        return losses.build_vgg19_relu54(source)
    return losses.build_vgg19_relu54(source, weight_file(f"vgg19_{source}", weights_path, allow_random),
                                     allow_random)


def texture_network(weights_path=None, allow_random: bool = False, normalise: bool = False):
    """AlexNet trunk of the texture discriminators (config key alexnet_weights)."""
    return losses.build_texture_features(weight_file("alexnet", weights_path, allow_random), allow_random,
                                         normalise=normalise)


def color_network(model_name: str = DEFAULT_VIT, weights_path=None, allow_random: bool = False,
                  normalise: bool = False, layer_norm_eps: float = RELEASE_LAYER_NORM_EPS):
    """ViT of the color discriminator (config keys vit_model, vit_weights). The registry's file fits
    vit_base_patch16_224 only; other models need their own file."""
    if not allow_random and not weights_path and model_name != DEFAULT_VIT:
        raise MissingWeightsError(f"no weights for ViT '{model_name}': pass weights_path (config key vit_weights: "
                                  f"a timm state_dict file) or use {DEFAULT_VIT}, whose file "
                                  f"`{DOWNLOAD_COMMAND}` fetches")
    return losses.build_color_features(model_name, weight_file("vit_base", weights_path, allow_random),
                                       allow_random, normalise=normalise, layer_norm_eps=layer_norm_eps)


def lpips_plus_loss(alexnet_path=None, lpips_path=None, allow_random: bool = False):
    """LPIPS+ (config keys alexnet_weights, lpips_weights)."""
    return losses.build_lpips_plus(weight_file("alexnet", alexnet_path, allow_random),
                                   weight_file("lpips_alex", lpips_path, allow_random), allow_random)


def dists_loss(vgg16_path=None, dists_path=None, allow_random: bool = False):
    """DISTS (config keys vgg16_weights, dists_weights)."""
    return losses.build_dists(weight_file("vgg16", vgg16_path, allow_random),
                              weight_file("dists", dists_path, allow_random), allow_random)
