"""Index lists: the one file format every script uses to pick files of a split (fit.py's train_indices,
inference.py --indices, tools.data prepare --indices / split --exclude, and what tools.data split writes).

Format: a text file of file stems (file names without extension, e.g. `17`), one per line. `#` starts a
comment (whole line or trailing); blank lines are ignored.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..bad_input import BadInputError


def _entries(path: Path) -> list:
    """(line number, stem) of every entry; format problems raise one BadInputError naming file and line."""
    if not path.is_file():
        raise BadInputError(f"{path}: index list not found (a text file of file stems, one per line)")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise BadInputError(f"{path}: cannot read the index list ({error})") from None
    entries, first_line = [], {}
    for number, line in enumerate(text.splitlines(), start=1):
        stem = line.split("#", 1)[0].strip()
        if not stem:
            continue
        if len(stem.split()) > 1:
            raise BadInputError(f"{path}, line {number}: {stem!r} holds several entries; write one stem per line")
        if stem in first_line:
            raise BadInputError(f"{path}, line {number}: stem {stem!r} is listed twice (first on line "
                                f"{first_line[stem]})")
        first_line[stem] = number
        entries.append((number, stem))
    if not entries:
        raise BadInputError(f"{path}: index list holds no stems (only blank lines or comments)")
    return entries


def read_index_list(path) -> list:
    """The stems listed in an index-list file, in file order."""
    return [stem for _, stem in _entries(Path(path))]


def select_listed(files: dict, indices, folder) -> dict:
    """stem -> path of files restricted to the listed stems, in list order.

    indices: None (keep all), an index-list file (str or Path) or a sequence of stems (ints or strings).
    A listed stem without a file in folder raises one BadInputError naming the list, the entry and the folder.
    """
    if indices is None:
        return files
    if isinstance(indices, (str, os.PathLike)):
        source, entries = Path(indices), _entries(Path(indices))
    else:
        source, entries = None, [(None, str(stem)) for stem in indices]
    missing = [(number, stem) for number, stem in entries if stem not in files]
    if missing:
        number, stem = missing[0]
        where = "listed" if source is None else f"{source}, line {number}:"
        more = f" (and {len(missing) - 1} more listed stem(s) without a file)" if len(missing) > 1 else ""
        raise BadInputError(f"{where} stem {stem!r} has no file in {folder}{more}; "
                            "list file names without extension, one per line")
    return {stem: files[stem] for _, stem in entries}
