"""Cache keys: a file's identity (resolved path, size, modification time) and a short stable hash of settings.

A changed file or a changed setting gives a different key, so a cache never serves stale data."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path


def file_identity(path) -> dict:
    path = Path(path).resolve()
    stat = path.stat()
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def stable_hash(value, length: int = 16) -> str:
    """SHA-256 prefix of a JSON-serialisable value, independent of dict key order."""
    canonical = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:length]
