"""check_dataset: scan a dataset and list every problem at once (instead of failing at the first)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..bad_input import BadInputError
from .layout import list_images, target_size_problem
from .presets import get_preset
from .raw_formats import mosaic_file_problem
from .raw_io import _decode


def _folder_problems(folder: Path, ext: str, role: str) -> tuple:
    """(files, problems) of one folder; a missing or empty folder is a problem, not an exception."""
    try:
        return list_images(folder, ext), []
    except BadInputError as error:
        return {}, [f"{error} ({role})"]


def _raw_shapes(raws: dict, problems: list, preset) -> dict:
    shapes = {}
    for stem, path in raws.items():
        problem, shape = mosaic_file_problem(path, preset)
        if problem:
            problems.append(problem)
        else:
            shapes[stem] = shape
    return shapes


def _target_problems(targets: dict, raw_shapes: dict, problems: list) -> None:
    for stem, path in targets.items():
        try:
            image = _decode(path)
        except BadInputError as error:
            problems.append(str(error))
            continue
        if image.ndim != 3 or image.shape[2] != 3:
            channels = 1 if image.ndim == 2 else image.shape[2]
            problems.append(f"{path}: has {channels} channel(s), expected a 3-channel RGB target")
        elif stem in raw_shapes:
            problem = target_size_problem(raw_shapes[stem], image.shape)
            if problem:
                problems.append(f"{path}: {problem}")


def _check_split(split_dir: Path, preset) -> list:
    problems = []
    raws, raw_folder_problems = _folder_problems(split_dir / preset.raw_dir, preset.raw_ext, "RAW inputs")
    targets, target_folder_problems = _folder_problems(split_dir / preset.target_dir, preset.target_ext, "targets")
    if not preset.aligned_targets and split_dir.name != "train":
        target_folder_problems = []  # unrelated photos are only needed for training; gt/ is optional
    problems += raw_folder_problems + target_folder_problems
    if raws and targets and preset.aligned_targets:  # unpaired-only presets: photos are not named like RAWs
        problems += [f"{p}: RAW has no target {p.stem}{preset.target_ext}" for s, p in raws.items() if s not in targets]
        problems += [f"{p}: target has no RAW {p.stem}{preset.raw_ext}" for s, p in targets.items() if s not in raws]
    shapes = _raw_shapes(raws, problems, preset)
    if shapes:
        common, _ = Counter(shapes.values()).most_common(1)[0]
        problems += [f"{raws[s]}: size {shape[0]}x{shape[1]} differs from the split's usual {common[0]}x{common[1]}"
                     for s, shape in shapes.items() if shape != common]
    _target_problems(targets, shapes if preset.aligned_targets else {}, problems)
    return problems


def check_dataset(root, preset, splits=None) -> list:
    """Every problem of the dataset at root as a list of messages (empty when all is well).

    splits=None checks the preset's splits that exist (at least one must); listed splits must all exist.
    """
    preset, root = get_preset(preset), Path(root)
    if not root.is_dir():
        return [f"{root}: dataset root folder is missing"]
    if splits is None:
        present = [s for s in preset.splits if (root / s).is_dir()]
        if not present:
            return [f"{root}: no split folders found (expected some of {', '.join(preset.splits)})"]
    else:
        present = [s for s in splits if (root / s).is_dir()]
    problems = [f"{root / s}: split folder is missing" for s in (splits or []) if s not in present]
    for split in present:
        problems += _check_split(root / split, preset)
    return problems
