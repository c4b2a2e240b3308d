"""Atomic checkpoint writes and the one full training-state dict used for resume."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from common import atomic_write
from common.atomic import TEMP_SUFFIX


def atomic_save(obj, path: str | Path) -> None:
    """torch.save through common.atomic_write: a kill never leaves a partial file."""
    with atomic_write(path) as handle:
        torch.save(obj, handle)


def remove_stale_temp_files(folder: Path) -> int:
    """Temp files of a write interrupted by a kill; they were never renamed, so nothing refers to them."""
    stale = list(Path(folder).glob(f".*{TEMP_SUFFIX}"))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


CHECKPOINT_SCHEDULES = ("updates", "release")
RELEASE_INDEX_OFFSET = 99  # the release names files by chunk * 100 + batch = generator updates + 99 (docs/method.md §6)


def is_save_step(step: int, save_every: int, schedule: str = "updates", total: int | None = None) -> bool:
    """Whether the training state and a generator snapshot are saved after generator update `step` (1-based).

    updates: after updates save_every, 2 * save_every, ...; release: after updates 1, 1 + save_every, ... (right
    after each discriminator update when save_every = d_every, as the release). The last update is always saved.
    """
    if schedule not in CHECKPOINT_SCHEDULES:
        raise ValueError(f"unknown checkpoint_schedule {schedule!r}; choose from {CHECKPOINT_SCHEDULES}")
    phase = 1 if schedule == "release" else 0
    return (step - phase) % save_every == 0 or step == total


def checkpoint_index(step: int, schedule: str = "updates") -> int:
    """The number in G_step_<N>.pth after `step` generator updates: step itself, or the release's step + 99.

    Step 0 (the starting generator, saved before training) keeps index 0 under both schedules.
    """
    return step + RELEASE_INDEX_OFFSET if schedule == "release" and step > 0 else step


def generator_checkpoint_path(stage_dir: Path, step: int, schedule: str = "updates") -> Path:
    """<stage>/checkpoints/G_step_<checkpoint_index(step, schedule)>.pth."""
    return Path(stage_dir) / "checkpoints" / f"G_step_{checkpoint_index(step, schedule)}.pth"


def state_path(stage_dir: Path) -> Path:
    return Path(stage_dir) / "checkpoints" / "last.pth"


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": _numpy_state_to_tensors(np.random.get_state()),
             "python": list(random.getstate()[1]), "python_gauss": random.getstate()[2]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(_numpy_state_from_tensors(state["numpy"]))
    random.setstate((3, tuple(state["python"]), state["python_gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# weights_only loading accepts tensors and plain containers, so numpy's state is stored as such.
def _numpy_state_to_tensors(state) -> dict:
    name, keys, pos, has_gauss, cached = state
    return {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}


def _numpy_state_from_tensors(state: dict):
    return ("MT19937", state["keys"].numpy().astype(np.uint32), state["pos"],
            state["has_gauss"], state["cached"])


def load_state(path: str | Path) -> dict:
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated or foreign file: say which file and why
        raise RuntimeError(f"cannot load training state {path}: {error}") from error
    missing = {"generator", "step", "config", "optimizers"} - set(state)
    if missing:
        raise RuntimeError(f"{path} is not a full training state (missing {sorted(missing)})")
    return state
