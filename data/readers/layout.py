"""Finding the files of one split of a dataset laid out as <root>/<split>/<raw_dir|target_dir>/<idx>.<ext>."""
from __future__ import annotations

from pathlib import Path

from ..bad_input import BadInputError


def sort_stems(stems) -> list:
    """Numeric file stems in numeric order (0, 1, 2, 10), others after them in text order."""
    stems = list(stems)
    numeric = sorted((s for s in stems if s.isdigit()), key=int)
    other = sorted(s for s in stems if not s.isdigit())
    return numeric + other


def list_images(folder, ext: str, must_exist: bool = True) -> dict:
    """stem -> path of every file with extension ext in folder; missing/empty folders raise BadInputError."""
    folder = Path(folder)
    if not folder.is_dir():
        if must_exist:
            raise BadInputError(f"{folder}: folder is missing")
        return {}
    found = {p.stem: p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ext.lower()}
    if not found and must_exist:
        raise BadInputError(f"{folder}: folder has no {ext} files")
    return {stem: found[stem] for stem in sort_stems(found)}


def split_dirs(root, split: str, preset) -> tuple:
    """(raw folder, target folder) of a split; a missing root raises BadInputError."""
    root = Path(root)
    if not root.is_dir():
        raise BadInputError(f"{root}: dataset root folder is missing")
    return root / split / preset.raw_dir, root / split / preset.target_dir


def target_size_problem(raw_shape, target_shape) -> str | None:
    """Targets must cover the RAW frame: the same size or an integer multiple with the same factor on both sides."""
    (raw_h, raw_w), (tgt_h, tgt_w) = raw_shape[:2], target_shape[:2]
    if tgt_h % raw_h == 0 and tgt_w % raw_w == 0 and tgt_h // raw_h == tgt_w // raw_w:
        return None
    return (f"target size {tgt_h}x{tgt_w} does not match RAW size {raw_h}x{raw_w} "
            "(expected an equal or integer-multiple size)")
