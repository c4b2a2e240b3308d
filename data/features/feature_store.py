"""Disk store of frozen-extractor features that never change during a run, read memory-mapped.

With whole images, the features of the real images (discriminator inputs) and of the content loss's
reference side are the same at every step. A FeatureStore keeps one .npy per (image, feature) under
<root>/<feature>/<settings hash>/<stem>-<image key>.npy:
- the settings hash covers whatever the caller passes (extractor weights hash, every setting);
- the image key is a hash of the exact image array the features were computed from (bytes, shape and
  dtype), so a changed file or a changed preprocessing (resize, demosaic, scaling) never reuses stale
  features: the key simply misses.
Entries are written atomically (common.atomic_write) and read with np.load(mmap_mode="r").
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from common import atomic_write

from ..bad_input import BadInputError
from ..reference.reference_cache import file_identity, save_array, settings_hash

STORAGE_DTYPES = ("float32", "float16")


def image_key(image) -> str:
    """Content hash of the exact image (tensor or array) a feature was computed from."""
    array = np.ascontiguousarray(image.numpy() if torch.is_tensor(image) else image)
    digest = hashlib.blake2b(array.tobytes(), digest_size=8)
    digest.update(f"{array.dtype}{array.shape}".encode())
    return digest.hexdigest()


class FeatureStore:
    """One feature (e.g. ViT tokens of the target) under one settings dict, stored as `dtype`."""

    def __init__(self, root, name: str, settings: dict, dtype: str = "float32"):
        if dtype not in STORAGE_DTYPES:
            raise ValueError(f"feature cache dtype must be one of {STORAGE_DTYPES}, got {dtype!r}")
        self.name, self.dtype = name, dtype
        self.folder = Path(root) / name / settings_hash({**settings, "feature": name, "dtype": dtype})

    def entry(self, source_path, image) -> Path:
        return self.folder / f"{Path(source_path).stem}-{image_key(image)}.npy"

    def has(self, source_path, image) -> bool:
        return self.entry(source_path, image).is_file()

    def save(self, source_path, image, features: torch.Tensor) -> None:
        array = features.detach().cpu().float().numpy().astype(self.dtype)
        save_array(self.entry(source_path, image), array)

    def load(self, source_path, image) -> torch.Tensor:
        """float32 features (converted from the storage dtype)."""
        entry = self.entry(source_path, image)
        try:
            stored = np.load(entry, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as error:
            raise BadInputError(f"feature cache: no usable entry {entry} for {source_path} ({error}); "
                                f"delete {self.folder} and start again to refill it") from None
        return torch.from_numpy(np.array(stored, dtype=np.float32))

    def marker(self, source_paths) -> Path:
        """File whose presence says every listed file was stored (their identities are in its name)."""
        listing = json.dumps([file_identity(p) for p in sorted(set(map(str, source_paths)))])
        return self.folder / f"complete-{hashlib.sha256(listing.encode()).hexdigest()[:16]}.json"

    def is_complete(self, source_paths) -> bool:
        return self.marker(source_paths).is_file()

    def mark_complete(self, source_paths) -> None:
        with atomic_write(self.marker(source_paths), "w") as handle:
            json.dump({"files": len(set(map(str, source_paths)))}, handle)


class CachedFeatures(Dataset):
    """A dataset's samples plus sample["cached_features"][name] read from the stores.

    stores: name -> (FeatureStore, image key in the sample, list of source files aligned with indices),
    e.g. {"color": (store, "target", dataset.target_paths)}."""

    def __init__(self, dataset, stores: dict):
        self.dataset, self.stores = dataset, stores

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        sample = self.dataset[index]
        sample["cached_features"] = {name: store.load(paths[index], sample[image])
                                     for name, (store, image, paths) in self.stores.items()}
        return sample
