"""Registry of the authors' published checkpoints; a registry name works wherever a path does. Missing
files are downloaded into the checkpoint cache and sha256-checked (pretrained.cache)."""
from .cache import ChecksumError, DownloadError, fetch_verified, sha256_of
from .registry import (
                       CACHE_ENV,
                       PUBLISHED,
                       MissingCheckpointError,
                       PublishedCheckpoint,
                       cached_path,
                       checkpoint_cache_dir,
                       download_checkpoint,
                       find_published,
                       resolve_checkpoint,
)

__all__ = ["CACHE_ENV", "PUBLISHED", "PublishedCheckpoint", "MissingCheckpointError", "ChecksumError",
           "DownloadError", "cached_path", "checkpoint_cache_dir", "download_checkpoint", "fetch_verified",
           "find_published", "resolve_checkpoint", "sha256_of"]
