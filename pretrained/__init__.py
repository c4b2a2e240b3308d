"""Where every pretrained weight file lives and how it is found, fetched and verified: the authors' published
generator checkpoints (registry: a registry name works wherever a path does; missing files are downloaded from
the authors' repository into the checkpoint cache and sha256-checked) and the backbone weight files the losses
and the LPIPS metric load (backbones: found where their owning libraries look). Both fetch through
pretrained.download_cache."""
from .backbone_weights import (
                        WEIGHT_FILES,
                        MissingWeightsError,
                        WeightFile,
                        download_weight,
                        expected_path,
                        resolve_weight,
                        weight_directory,
                        weight_status,
)
from .download_cache import ChecksumError, DownloadError, fetch_verified
from .published import (
                       CACHE_ENV,
                       DOWNLOAD_COMMAND,
                       MIRROR_ENV,
                       OLD_NAMES,
                       PUBLISHED,
                       RELEASE_BASE_URL,
                       MissingCheckpointError,
                       PublishedCheckpoint,
                       cached_path,
                       checkpoint_cache_dir,
                       download_checkpoint,
                       download_url,
                       find_published,
                       paper_figures,
                       registry_table_markdown,
                       resolve_checkpoint,
)

__all__ = ["CACHE_ENV", "DOWNLOAD_COMMAND", "MIRROR_ENV", "OLD_NAMES", "PUBLISHED", "RELEASE_BASE_URL",
           "PublishedCheckpoint", "MissingCheckpointError", "ChecksumError", "DownloadError", "cached_path",
           "checkpoint_cache_dir", "download_checkpoint", "download_url", "fetch_verified", "find_published",
           "paper_figures", "registry_table_markdown", "resolve_checkpoint",
           "WEIGHT_FILES", "WeightFile", "MissingWeightsError", "download_weight", "expected_path",
           "resolve_weight", "weight_directory", "weight_status"]
