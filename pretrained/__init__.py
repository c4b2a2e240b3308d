"""Registry of the authors' published checkpoints; a registry name works wherever a path does."""
from .registry import PUBLISHED, PublishedCheckpoint, default_search_dirs, find_published, resolve_checkpoint

__all__ = ["PUBLISHED", "PublishedCheckpoint", "default_search_dirs", "find_published", "resolve_checkpoint"]
