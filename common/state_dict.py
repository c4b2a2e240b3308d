"""State-dict key clean-up shared by every checkpoint reader."""
from __future__ import annotations

PREFIXES = ("module.",)  # DistributedDataParallel / DataParallel wrap the model as `module`


def strip_module_prefix(state: dict) -> dict:
    """Keys without the `module.` wrapper prefix, when every key has it (a partly prefixed dict is left
    alone: it is not a wrapped model and the caller's key check will say what is wrong)."""
    for prefix in PREFIXES:
        if state and all(isinstance(k, str) and k.startswith(prefix) for k in state):
            return {k[len(prefix):]: v for k, v in state.items()}
    return dict(state)
