"""Speed switches of the training step (config keys below). Meant for CUDA, they apply on any device, so
the tests run each on CPU; bench/bench_switches.py measures what each does to one step's numbers.

- cudnn_benchmark: whole images have one fixed size, so cuDNN's per-shape algorithm search pays once
  (a cuDNN flag: nothing on CPU).
- channels_last: NHWC convolutions use the tensor cores without layout transposes (generator, the
  conv extractors and the texture discriminators; the ViT and the colour MLP have no convolutions).
- frozen_autocast / generator_autocast / discriminator_autocast ("" | "bf16" | "fp16"): that part's
  forward (and so its backward) runs under autocast and hands back float32, so every loss reduction, the
  DLA norms and the optimizers stay float32. There is no loss scaling: fp16 gradients below ~6e-8
  flush to zero (bf16 has float32's range).
- torch_compile: torch.compile of the generator and the frozen feature networks (module.compile(): same
  state_dict keys). The discriminators stay eager: their R1/R2 penalties differentiate twice, which
  compiled graphs do not support.
"""
from __future__ import annotations

import types
import warnings

import torch
from torch import nn

from training.config_loader import ConfigError

AUTOCAST_DTYPES = {"": None, "bf16": torch.bfloat16, "fp16": torch.float16}
FROZEN = ("vgg", "texture", "color", "lpips_plus", "dists")


def _float32(out):
    if isinstance(out, (tuple, list)):
        return type(out)(_float32(o) for o in out)
    return out.float() if torch.is_tensor(out) and out.is_floating_point() else out


def _forward_under_autocast(self, *args, **kwargs):
    device_type, dtype = self.autocast_setting
    with torch.autocast(device_type, dtype=dtype):
        out = type(self).forward(self, *args, **kwargs)
    return _float32(out)


def autocast_forward(module: nn.Module, device_type: str, dtype: torch.dtype) -> nn.Module:
    """Run module's forward under autocast with float32 outputs, in place: the module, its class and its
    state_dict keys stay what they were (checkpoints and residue layers are untouched)."""
    module.autocast_setting = (device_type, dtype)
    module.forward = types.MethodType(_forward_under_autocast, module)  # deepcopy rebinds it to the copy
    return module


def autocast_dtype(cfg: dict, key: str) -> torch.dtype | None:
    if cfg[key] not in AUTOCAST_DTYPES:
        raise ConfigError(f"{key} must be one of {', '.join(map(repr, AUTOCAST_DTYPES))}, got {cfg[key]!r}")
    return AUTOCAST_DTYPES[cfg[key]]


def configure_acceleration(cfg: dict, device: torch.device, generator: nn.Module, kit) -> None:
    """Apply the switches to the generator and the stage's LossKit in place."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = bool(cfg["cudnn_benchmark"])
    frozen = [getattr(kit, name) for name in FROZEN if getattr(kit, name) is not None]
    if cfg["channels_last"]:
        for module in [generator, *frozen, kit.discriminators.get("lin0"), kit.discriminators.get("lin3")]:
            if module is not None:
                module.to(memory_format=torch.channels_last)
    if device.type == "cpu" and cfg["discriminator_autocast"] and torch.backends.mkldnn.enabled:
        # oneDNN's reduced-precision convolution double backward (the R1/R2 penalties) reads uninitialised
        # memory in torch 2.14 on CPU (gradients of 1e31 now and then; bench/RESULTS.md): use ATen's own.
        warnings.warn("discriminator_autocast on CPU: oneDNN convolutions switched off for this process",
                      stacklevel=2)
        torch.backends.mkldnn.enabled = False
    for key, modules in (("generator_autocast", [generator]), ("frozen_autocast", frozen),
                         ("discriminator_autocast", list(kit.discriminators.values()))):
        dtype = autocast_dtype(cfg, key)
        for module in modules if dtype is not None else []:
            autocast_forward(module, device.type, dtype)
    if cfg["torch_compile"]:
        for module in [generator, *frozen]:
            module.compile()
