"""Loading generator checkpoints with one clear error for every way a file can be wrong."""
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from common import strip_module_prefix
from common.errors import UserError

from .generator_registry import GENERATORS, build_generator


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be loaded into the requested backbone (message names both)."""


def _read(path: Path, map_location) -> object:
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises RuntimeError/EOFError/UnpicklingError depending on the damage
        reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        # Only a pickled class or function is "not a plain state_dict"; torch mentions weights_only in
        # every refusal, garbage bytes included, so that word alone says nothing.
        if "Unsupported global" in str(err):
            raise CheckpointError(f"{path}: not a plain state_dict (it pickles Python objects that "
                                  f"weights_only loading refuses): {reason}") from None
        raise CheckpointError(f"{path}: cannot read the checkpoint (truncated or not a torch file): "
                              f"{type(err).__name__}: {reason}") from None


def extract_state_dict(obj: object, path: Path) -> dict:
    """A plain {name: tensor} mapping, or our full training state {'generator': state_dict, ...}."""
    if isinstance(obj, Mapping) and "generator" in obj and isinstance(obj["generator"], Mapping):
        obj = obj["generator"]
    if not isinstance(obj, Mapping) or not obj:
        found = f"empty {type(obj).__name__}" if isinstance(obj, Mapping) else type(obj).__name__
        raise CheckpointError(f"{path}: expected a state_dict (name -> tensor), found {found}")
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{path}: expected a state_dict (name -> tensor), found non-tensor entries "
                              f"{bad[:5]} (keys {list(obj)[:5]})")
    return strip_module_prefix(obj)  # saved from DistributedDataParallel


def read_state_dict(path, map_location="cpu") -> dict:
    """The generator state_dict in a checkpoint file (plain or full training state), or CheckpointError."""
    return extract_state_dict(_read(Path(path), map_location), Path(path))


def _signature(state: Mapping) -> dict:
    return {k: tuple(v.shape) for k, v in state.items()}


@lru_cache(maxsize=None)
def _default_signature(name: str) -> tuple:
    return tuple(_signature(build_generator(name).state_dict()).items())


def identify_backbone(state: Mapping) -> str | None:
    """The registered backbone (default sizes) whose parameter names and shapes equal the state_dict's."""
    wanted = tuple(_signature(state).items())
    return next((name for name in GENERATORS if _default_signature(name) == wanted), None)


def describe_state(state: Mapping) -> str:
    found = identify_backbone(state)
    if found is not None:
        return f"a '{found}' checkpoint"
    n_params = sum(v.numel() for v in state.values())
    return (f"an unrecognised state_dict ({len(state)} tensors, {n_params:,} values, "
            f"first keys {list(state)[:3]})")


def load_state_into(model: nn.Module, state: Mapping, name: str, path: Path) -> None:
    if _signature(model.state_dict()) != _signature(state):
        raise CheckpointError(f"{path}: expected a '{name}' checkpoint, found {describe_state(state)}")
    model.load_state_dict(state, strict=True)


def load_generator(path, name: str, map_location="cpu", **build_kwargs) -> nn.Module:
    """Build generator `name` and load `path` (weights_only, strict); returned in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    model = build_generator(name, **build_kwargs)
    try:
        state = extract_state_dict(_read(path, map_location), path)
    except CheckpointError as err:
        raise CheckpointError(f"expected a '{name}' checkpoint; {err}") from None
    load_state_into(model, state, name, path)
    return model.eval()
