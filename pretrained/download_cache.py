"""Fetch one published file into a cache folder: download with a progress bar, sha256 check, atomic rename
(common.atomic_write).

Used for every fetched weight file: the published generator checkpoints (full sha256) and the backbone files
of pretrained.backbone_weights (torch.hub-style sha256 prefixes; None where no checksum is published, and the caller
then reads the file back with its strict loader). The bytes go to a hidden temp file beside the destination
and are renamed into place only after the checksum matched, so an interrupted or refused download never
leaves a partial or wrong file.
"""
from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from common import atomic_write
from common.errors import UserError

CHUNK_BYTES = 1 << 16
USER_AGENT = "isp-weights"
MIN_PREFIX_HEX = 8  # shortest checksum prefix accepted (torch.hub's file names carry 8 hex digits)


class ChecksumError(UserError, ValueError):
    """Downloaded bytes whose sha256 is not the published one; nothing was kept."""


class DownloadError(OSError):
    """The file could not be fetched (offline, server error); nothing was kept."""


def _stream(url: str, handle, digest, timeout: float, progress: bool) -> None:
    try:
        # Some hosts refuse urllib's default User-Agent; torch.hub sends its own name too.
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=Path(url).name, disable=not progress,
                      leave=False) as bar:
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    handle.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError) as err:  # HTTPError is a URLError; timeouts are OSErrors
        reason = getattr(err, "reason", None) or err
        raise DownloadError(f"cannot download {url}: {reason}") from None


def fetch_verified(url: str, sha256: str | None, dest: os.PathLike, timeout: float = 30.0,
                   progress: bool = True) -> Path:
    """Download url to dest (parents created) if its sha256 equals `sha256` (or starts with it, for a
    torch.hub-style prefix of at least MIN_PREFIX_HEX digits; None: no published checksum); returns dest.
    Raises DownloadError or ChecksumError and then leaves no file behind."""
    if sha256 is not None and len(sha256) < MIN_PREFIX_HEX:
        raise ValueError(f"checksum {sha256!r} for {url}: need at least {MIN_PREFIX_HEX} hex digits or None")
    digest = hashlib.sha256()
    with atomic_write(dest) as handle:  # raising inside the block discards the temp file
        _stream(url, handle, digest, timeout, progress)
        if sha256 is not None and not digest.hexdigest().startswith(sha256.lower()):
            raise ChecksumError(f"{url}: sha256 {digest.hexdigest()} is not the published {sha256}; "
                                f"the download was discarded (corrupted or replaced file)")
    return Path(dest)
