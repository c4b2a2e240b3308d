"""Disk cache of image embeddings: <root>/<settings hash>/<stem>-<file key>.npy, one float32 row per file.

The settings hash covers the embedder's settings (weights identity included) and how the image was made from
the file (e.g. the RAW rendering's demosaic settings); the file key covers the file's identity (resolved
path, size, modification time). A changed file or setting misses, so stale embeddings are never reused;
entries are written atomically one by one, so an interrupted run keeps every finished file.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from common import atomic_write
from common.errors import UserError
from common.file_keys import file_identity, stable_hash

from .pairing_error import PairingError


class EmbeddingCache:
    def __init__(self, root, settings: dict):
        self.settings = settings
        self.folder = Path(root) / stable_hash(settings)

    def entry(self, path) -> Path:
        return self.folder / f"{Path(path).stem}-{stable_hash(file_identity(path))}.npy"

    def load(self, path, dim: int) -> np.ndarray | None:
        """The cached row of `path`, None when absent; a row of another size is a mismatched cache."""
        entry = self.entry(path)
        if not entry.is_file():
            return None
        try:
            row = np.load(entry, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None  # unreadable entry: embed again and overwrite
        if row.shape != (dim,):
            raise PairingError(f"embedding cache {entry} holds shape {row.shape}, the embedder gives ({dim},): "
                               f"the cache does not match its settings; delete {self.folder} and run again")
        return row

    def save(self, path, row: np.ndarray) -> None:
        if not (self.folder / "settings.json").is_file():
            with atomic_write(self.folder / "settings.json", "w") as handle:
                json.dump(self.settings, handle, indent=1, sort_keys=True, default=str)
        with atomic_write(self.entry(path)) as handle:
            np.save(handle, np.asarray(row, np.float32), allow_pickle=False)


def embed_files(paths: list, load_image, embedder, cache: EmbeddingCache | None, batch_size: int = 16,
                desc: str = "embed", skip_bad: bool = False, progress: bool = True) -> tuple[np.ndarray, list, list]:
    """Embed every file (cached rows read back). load_image(path) -> float32 (H, W, 3) RGB in [0, 1] and raises
    UserError for a bad file. Returns (rows (k, D) of the good files, their paths, problems). A bad file never
    stops the others: they are all embedded and cached first; then, unless skip_bad, the first problem is raised."""
    rows, problems, pending, dim = {}, [], [], embedder.dim
    for path in paths:
        row = None if cache is None else cache.load(path, dim)
        if row is not None:
            rows[str(path)] = row
        else:
            pending.append(path)
    with tqdm(total=len(paths), initial=len(paths) - len(pending), desc=desc, disable=not progress,
              dynamic_ncols=True) as bar:
        for start in range(0, len(pending), batch_size):
            images, names = [], []
            for path in pending[start:start + batch_size]:
                try:
                    images.append(load_image(path))
                    names.append(path)
                except PairingError:
                    raise
                except UserError as error:  # the loader's named bad-file error: kept, reported at the end
                    problems.append(str(error) if str(path) in str(error) else f"{path}: {error}")
            for path, row in zip(names, embedder.embed(images) if images else []):
                rows[str(path)] = row
                if cache is not None:
                    cache.save(path, row)
            bar.update(len(pending[start:start + batch_size]))
    if problems and not skip_bad:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PairingError(f"cannot embed {problems[0]}{more}; every other file is embedded and cached: fix or "
                           "remove the file, or skip bad files (skip_bad_files=True / --skip-bad), and run again")
    good = [p for p in paths if str(p) in rows]
    matrix = np.stack([rows[str(p)] for p in good]) if good else np.zeros((0, dim), np.float32)
    return matrix, good, problems
