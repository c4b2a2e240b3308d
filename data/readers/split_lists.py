"""Reproducible validation/test lists carved from the train split (the paper: 1,024 + 1,024 images)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from common import atomic_write

from ..bad_input import BadInputError
from .layout import sort_stems


def make_split(stems, n_val=1024, n_test=1024, seed=0, exclude=()) -> dict:
    """{'train', 'val', 'test'} -> sorted stems; a seeded permutation of stems minus the excluded ones."""
    excluded = {str(s) for s in exclude}
    pool = sort_stems({str(s) for s in stems} - excluded)  # canonical order first, so only the seed matters
    if n_val < 0 or n_test < 0 or n_val + n_test > len(pool):
        raise BadInputError(f"cannot hold out {n_val} val + {n_test} test from {len(pool)} usable images")
    order = np.random.default_rng(seed).permutation(len(pool))
    picked = [pool[i] for i in order]
    return {
        "val": sort_stems(picked[:n_val]),
        "test": sort_stems(picked[n_val:n_val + n_test]),
        "train": sort_stems(picked[n_val + n_test:]),
    }


def write_split_lists(out_dir, split: dict, header: str = "") -> dict:
    """Write <out_dir>/<name>.txt as index lists (data.readers.index_list format) atomically; returns name -> path.

    header: an optional comment written on the first line of every list, after `# <name>: `.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, stems in split.items():
        path = out_dir / f"{name}.txt"
        with atomic_write(path, "w") as handle:
            if header:
                handle.write(f"# {name}: {header}\n")
            handle.write("".join(f"{s}\n" for s in stems))
        written[name] = path
    return written
