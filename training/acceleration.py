"""CUDA-only speed switches (config keys cudnn_benchmark, channels_last, frozen_bf16); no-ops on CPU.

- cudnn_benchmark: whole images have one fixed size, so cuDNN's per-shape algorithm search pays once.
- channels_last: NHWC convolutions use the tensor cores without layout transposes (generator, the
  conv extractors and the texture discriminators; the ViT and the colour MLP have no convolutions).
- frozen_bf16: the frozen extractors (VGG, AlexNet trunk, ViT) run under bf16 autocast and hand back
  float32 features, so the generator, the discriminators and every loss reduction stay float32.
"""
from __future__ import annotations

import torch
from torch import nn


class Bf16Extractor(nn.Module):
    """A frozen feature extractor run under CUDA bf16 autocast, returning float32 outputs."""

    def __init__(self, extractor: nn.Module):
        super().__init__()
        self.extractor = extractor
        if hasattr(extractor, "token_dim"):
            self.token_dim = extractor.token_dim

    def forward(self, image: torch.Tensor):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = self.extractor(image)
        return tuple(o.float() for o in out) if isinstance(out, tuple) else out.float()


def configure_cuda(cfg: dict, device: torch.device, generator: nn.Module, kit) -> None:
    """Apply the CUDA switches to the generator and the stage's LossKit in place (nothing on CPU)."""
    if torch.device(device).type != "cuda":
        return
    torch.backends.cudnn.benchmark = bool(cfg["cudnn_benchmark"])
    if cfg["channels_last"]:
        convolutional = [generator, kit.vgg, kit.texture, kit.lpips_plus, kit.dists,
                         kit.discriminators.get("lin0"), kit.discriminators.get("lin3")]
        for module in convolutional:
            if module is not None:
                module.to(memory_format=torch.channels_last)
    if cfg["frozen_bf16"]:
        for name in ("vgg", "texture", "color"):
            if getattr(kit, name) is not None:
                setattr(kit, name, Bf16Extractor(getattr(kit, name)))
