"""Write a file so that a reader never sees it half-written: a temp file in the same folder, flushed and
fsynced, given the mode a plain open(path, "w") would give it (0o666 & ~umask; mkstemp makes 0o600), then
renamed over the destination (os.replace is atomic on one file system). A kill leaves at most a hidden
`.<name>.*.tmp` file, which training.checkpoints sweeps up on resume."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

TEMP_SUFFIX = ".tmp"


def current_umask() -> int:
    """The process umask, read without changing it where Linux shows it (os.umask can only read by setting,
    which would briefly give files made by other threads, e.g. TensorBoard's writer, the wrong mode)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """with atomic_path(path) as tmp: exporter.save(str(tmp)) -> for writers that only take a file name
    (ONNX, TFLite): the temp file is renamed over path when the block ends without an exception and is
    removed otherwise (KeyboardInterrupt included). Parents are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        fd = os.open(tmp, os.O_RDONLY)  # the data must be on disk before the rename makes it visible
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o666 & ~current_umask())  # colleagues and sweeps run as another user can read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """with atomic_write(path, "w", newline="") as handle: ... -> path appears complete or not at all.
    Parents are created. On any exception (KeyboardInterrupt included) the temp file is removed."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp, open(tmp, mode, **open_kwargs) as handle:
        yield handle
