"""Disk cache of demosaiced references, keyed by file identity (path, size, mtime) and a hash of the settings.

A changed file or a changed setting gives a different key, so stale data is never reused. Writes are atomic
(common.atomic_write), so a crash or a parallel writer never leaves a half-written entry behind.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from common import atomic_write
from common.file_keys import file_identity

from ..readers.raw_io import read_raw
from .demosaic import demosaic_reference, demosaic_settings

# 2: the reference scaling (uint16 | white_level) joined the settings; entries of version 1 are never read.
CACHE_FORMAT_VERSION = 2


def settings_hash(settings: dict) -> str:
    canonical = json.dumps({"v": CACHE_FORMAT_VERSION, **settings}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def cache_entry_path(cache_dir, raw_path, settings: dict) -> Path:
    """Where the reference of raw_path under settings lives in cache_dir."""
    identity = json.dumps(file_identity(raw_path), sort_keys=True)
    file_key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return Path(cache_dir) / settings_hash(settings) / f"{Path(raw_path).stem}-{file_key}.npy"


def _load(entry: Path):
    try:
        return np.load(entry, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None  # unreadable entry (e.g. disk trouble): recompute and overwrite


def save_array(entry: Path, array: np.ndarray) -> None:
    """np.save through common.atomic_write: a reader sees the whole entry or none."""
    with atomic_write(entry) as handle:
        np.save(handle, array, allow_pickle=False)


def cached_reference(raw_path, cache_dir=None, raw=None, **demosaic_kwargs) -> np.ndarray:
    """demosaic_reference of the RAW file, read from / stored in cache_dir (no caching when cache_dir is None).

    `raw` may pass the already-read mosaic to avoid a second read on a miss.
    """
    settings = demosaic_settings(**demosaic_kwargs)
    entry = None if cache_dir is None else cache_entry_path(cache_dir, raw_path, settings)
    if entry is not None and entry.is_file():
        hit = _load(entry)
        if hit is not None:
            return hit
    mosaic = read_raw(raw_path) if raw is None else raw
    reference = demosaic_reference(mosaic, **demosaic_kwargs)
    if entry is not None:
        save_array(entry, reference)
    return reference


def dataset_reference(raw_path, cache_dir, method, white_level, demosaic_kwargs=None, raw=None) -> np.ndarray:
    """The reference exactly as ISPDataset and `tools.data prepare` key it: output size = the mosaic size.

    demosaic_kwargs: scaling, wb_gains, gamma (defaults: the release's).
    """
    mosaic = read_raw(raw_path) if raw is None else raw
    kwargs = {"white_level": white_level, "out_size": tuple(mosaic.shape), **(demosaic_kwargs or {})}
    kwargs["method"] = method
    return cached_reference(raw_path, cache_dir, raw=mosaic, **kwargs)
