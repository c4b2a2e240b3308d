"""Strict loading of a given weight file into a network, and the random-weights stand-in.

Which file a network needs, where it lives and how it is fetched is pretrained/'s business
(pretrained.backbone_weights);
the scripts resolve the files and hand the paths to the builders here. Keys and shapes are always checked, so a
wrong file never loads silently (pyiqa itself loads with strict=False). allow_random builds the same networks with
random weights and warns loudly (demo and tests only).
"""
import logging
import warnings
from pathlib import Path
from typing import Dict, Iterable, Mapping, Optional, Union

import torch

from common.errors import UserError

LOG = logging.getLogger(__name__)
# What the random-weights warning tells to run (the command lives with the scripts, not in a library).
DOWNLOAD_HINT = "python -m tools.weights download"


class WeightsMismatchError(UserError, ValueError):
    """A weight file exists but does not fit the network (wrong file, truncated, wrong layout)."""


class RandomWeightsWarning(UserWarning):
    """A frozen feature extractor runs with random weights: its losses are meaningless for training."""


def require_path(path: Optional[Union[str, Path]], argument: str, builder: str) -> Path:
    """The weight file a builder was given; a clear error naming the argument when there is none."""
    if path is None or str(path) == "":
        raise ValueError(f"{builder}: {argument} is None: pass the weight file (the scripts resolve it with "
                         f"pretrained.resolve_weight) or allow_random=True for random weights")
    return Path(path)


def warn_random(what: str) -> None:
    """Loud warning (warnings + logging) that a frozen extractor has random weights."""
    message = (f"RANDOM WEIGHTS: {what} is built with random weights (allow_random_backbones). "
               f"Its losses/features are meaningless for real training; use only for demos and tests. "
               f"Fetch real weights with `{DOWNLOAD_HINT}`.")
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
