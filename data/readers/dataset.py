"""ISPDataset: RAW inputs (packed 4-channel or RMFA 3-channel), RGB targets (paired or unpaired) and references."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..bad_input import BadInputError
from ..reference.demosaic import DEMOSAIC_METHODS, demosaic_settings
from ..reference.reference_cache import dataset_reference
from .camera import normalise_mosaic, read_patch_levels
from .index_list import select_listed
from .layout import list_images, split_dirs, target_size_problem
from .packing import normalise_packed, pack_bayer, rmfa_split
from .presets import get_preset
from .raw_formats import mosaic_file_problem, read_mosaic
from .raw_io import read_rgb

INPUT_KINDS = ("packed4", "split3")
TARGET_PAIRINGS = ("shuffled", "index")  # named rules; an explicit {raw stem: target stem} mapping is the third way
RESIZE_MODES = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA,
                "nearest": cv2.INTER_NEAREST}


def resize_rgb(rgb: np.ndarray, size, mode: str = "bilinear") -> np.ndarray:
    """Resize (H, W, 3) float to size=(h, w) with the named interpolation, clipped to [0, 1]."""
    height, width = int(size[0]), int(size[1])
    if rgb.shape[:2] == (height, width):
        return rgb
    if mode not in RESIZE_MODES:
        raise BadInputError(f"unknown target_resize {mode!r}; choose from {sorted(RESIZE_MODES)}")
    resized = cv2.resize(rgb, (width, height), interpolation=RESIZE_MODES[mode])
    return np.clip(resized, 0.0, 1.0)


def generator_input(raw: np.ndarray, preset, input_kind: str, levels=None) -> np.ndarray:
    """A RAW mosaic as the generator takes it: packed and normalised (4, H/2, W/2) or the RMFA split (3, H, W).

    Channels follow the preset's packed_sites. levels = (black per packed channel, white) of this file (camera
    RAW, ingest patches; RELEASE_SITES order) instead of the preset's constants; with levels the RMFA split gets
    the per-site normalised mosaic.
    """
    preset = get_preset(preset) if isinstance(preset, str) else preset
    if levels is not None:
        normalised = normalise_mosaic(raw, *levels)
        if input_kind == "split3":
            return rmfa_split(normalised, 0.0, 1.0)
        return pack_bayer(normalised, preset.packed_sites)
    if input_kind == "split3":
        return rmfa_split(raw, preset.rmfa_black, preset.rmfa_white)
    return normalise_packed(pack_bayer(raw, preset.packed_sites), preset.black_level, preset.white_level)


def _to_chw(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32))


class ISPDataset(Dataset):
    """One split of a ZRR-, Fujifilm- or NTIRE-layout dataset (or ingested camera patches).

    dataset[i] is a dict (the sample contract every consumer relies on); (H, W) is the RAW mosaic's size:
      "raw"        always. float32 tensor, input_kind "packed4": (4, H/2, W/2), each channel
                   (x - black) / (white - black) in the preset's packed_sites order, not clipped (values under
                   the black level stay slightly negative, as the release's); "split3" (RMFA-Net): (3, H, W),
                   max(x - black, 0) / white at each site's own colour plane, 1.0 elsewhere. Camera patches
                   (per_file_levels presets) use their own per-site levels from manifest.json.
      "name"       always. str, the RAW file's stem (what index lists and CSVs name).
      "target"     when the split has target images (required unless require_targets=False). float32 tensor
                   (3, H, W), RGB in [0, 1], resized to (H, W) with target_resize. paired=True: the image of
                   the same stem (size checked first); paired=False: the target that `target_pairing` assigns
                   to this RAW for the whole run (only listed stems when `indices` is set), see below.
      "reference"  when reference is a demosaic method. float32 tensor (3, H, W) in [0, 1], the demosaiced
                   reference of data.reference.demosaic (docs/method.md §1), read from / written to cache_dir when set.
      "cached_features"  only through data.features.feature_store.CachedFeatures: name -> float32 tensor, the stored
                   frozen features of this sample's image (the shape its extractor gives for one image).
    A DataLoader batch stacks the tensors (batch first) and lists the names.

    Unpaired targets (paired=False) come from one fixed assignment RAW stem -> target stem, computed once and
    kept in `target_assignment`; `target_pairing` says how:
      "shuffled"  the release: item i of the target pool (stem order) shuffled once with `seed`, independently
                  of the inputs (shuffled_assignment).
      "index"     the NTIRE 2026 baseline: RAW files and target files each sorted by file name, RAW i gets
                  target i (index_assignment; targets repeat cyclically when there are fewer of them).
      a mapping   {raw stem: target stem} computed elsewhere (e.g. by content similarity): every RAW stem of
                  the split must be a key, every value a stem of the target pool; one target may serve several
                  RAWs. This is the hook for further pairing rules.
    Which items a batch holds is the sampler's business (training.sampling), whatever the assignment.
    """

    def __init__(self, root, preset="fujifilm", split="train", input_kind="packed4", paired=True,
                 reference=None, cache_dir=None, target_resize="bilinear", skip_bad=False, seed=0,
                 indices=None, demosaic_kwargs=None, require_targets=True, target_pairing="shuffled"):
        self.preset = get_preset(preset)
        if input_kind not in INPUT_KINDS:
            raise BadInputError(f"unknown input_kind {input_kind!r}; choose from {INPUT_KINDS}")
        if reference is not None and reference not in DEMOSAIC_METHODS:
            raise BadInputError(f"unknown reference {reference!r}; choose None or one of {DEMOSAIC_METHODS}")
        if target_resize not in RESIZE_MODES:
            raise BadInputError(f"unknown target_resize {target_resize!r}; choose from {sorted(RESIZE_MODES)}")
        self.root, self.split, self.input_kind = Path(root), split, input_kind
        self.paired, self.reference, self.target_resize = paired, reference, target_resize
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.demosaic_kwargs = dict(demosaic_kwargs or {})
        self.problems: list = []
        raw_dir, target_dir = split_dirs(self.root, split, self.preset)
        if reference is not None:
            demosaic_settings(method=reference, **self.demosaic_kwargs)  # a bad setting fails here, not mid-run
        raws = select_listed(list_images(raw_dir, self.preset.raw_ext), indices, raw_dir)
        target_dir = self._target_folder(target_dir, paired, require_targets)
        targets = {} if target_dir is None else list_images(target_dir, self.preset.target_ext,
                                                            must_exist=require_targets)
        self.levels = read_patch_levels(self.root) if self.preset.per_file_levels else None
        if paired and targets:
            raws, targets = self._pair(raws, targets, indices is None, skip_bad)
        elif indices is not None and targets:
            targets = _listed_targets(targets, raws, target_dir, indices)
        if skip_bad:
            raws, targets = self._drop_bad(raws, targets)
        if not raws:
            raise BadInputError(f"{raw_dir}: no usable RAW files ({len(self.problems)} bad)")
        if targets == {} and require_targets:
            raise BadInputError(f"{target_dir}: no usable target files ({len(self.problems)} bad)")
        self.skipped = len(self.problems)
        if self.skipped:
            warnings.warn(f"{self.root / split}: skipped {self.skipped} bad file(s); first: {self.problems[0]}",
                          stacklevel=2)
        self.names = list(raws)
        self.raw_paths = [raws[name] for name in self.names]
        self.target_assignment = None if paired or not targets else assign_targets(
            target_pairing, raws, targets, seed)
        self.target_paths = self._target_order(raws, targets)

    def _target_folder(self, target_dir, paired, require_targets):
        """Unpaired-only presets (unrelated photos): pairing uses their optional aligned ground-truth folder."""
        if not paired or self.preset.aligned_targets:
            return target_dir
        if not require_targets:
            return None  # pretraining needs no targets; the unrelated photos must not be paired by name
        gt_dir = self.root / self.split / self.preset.gt_dir
        if not gt_dir.is_dir():
            raise BadInputError(f"{gt_dir}: missing; {self.preset.name} has only unrelated photos in "
                                f"{self.preset.target_dir}/ (train with stage unpaired or pretrain; scoring "
                                f"needs pixel-aligned ground truth named like the RAW files in {gt_dir})")
        return gt_dir

    def _pair(self, raws, targets, whole_split, skip_bad):
        folder = self.preset.target_dir if self.preset.aligned_targets else self.preset.gt_dir
        problems = [f"{path}: RAW has no target {path.stem}{self.preset.target_ext} in {folder}/"
                    for stem, path in raws.items() if stem not in targets]
        if whole_split:
            problems += [f"{path}: target has no RAW {path.stem}{self.preset.raw_ext} in {self.preset.raw_dir}/"
                         for stem, path in targets.items() if stem not in raws]
        if problems and not skip_bad:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise BadInputError(f"missing pair: {problems[0]}{more}")
        self.problems += problems
        kept = {stem: path for stem, path in raws.items() if stem in targets}
        return kept, {stem: targets[stem] for stem in kept}

    def _drop_bad(self, raws, targets):
        """Decode every file once and drop the unusable ones (opt-in: costs a full read of the split)."""
        good_raws, raw_shapes = {}, {}
        for stem, path in raws.items():
            problem, shape = mosaic_file_problem(path, self.preset)
            if problem:
                self.problems.append(problem)
            else:
                good_raws[stem], raw_shapes[stem] = path, shape
        good_targets = {}
        for stem, path in targets.items():
            problem = _target_file_problem(path, raw_shapes.get(stem) if self.paired else None)
            if problem:
                self.problems.append(problem)
            else:
                good_targets[stem] = path
        if self.paired and targets:
            good_raws = {stem: path for stem, path in good_raws.items() if stem in good_targets}
        return good_raws, good_targets

    def _target_order(self, raws, targets):
        if not targets:
            return None
        if self.paired:
            return [targets[stem] for stem in raws]
        return [targets[self.target_assignment[stem]] for stem in raws]

    def __len__(self):
        return len(self.raw_paths)

    def _file_levels(self, index):
        """(black per packed channel, white) of an ingest patch; None for presets with constant levels."""
        if self.levels is None:
            return None
        key = self.raw_paths[index].relative_to(self.root).as_posix()
        if key not in self.levels:
            raise BadInputError(f"{self.raw_paths[index]}: no levels in {self.root / 'manifest.json'}")
        return self.levels[key]

    def _input(self, raw, index=None):
        return generator_input(raw, self.preset, self.input_kind, None if index is None else self._file_levels(index))

    def _target(self, index, raw_shape):
        path = self.target_paths[index]
        rgb = read_rgb(path)
        if self.paired:
            problem = target_size_problem(raw_shape, rgb.shape)
            if problem:
                raise BadInputError(f"{path}: {problem} ({self.raw_paths[index]})")
        return resize_rgb(rgb, raw_shape, self.target_resize)

    def _reference(self, index, raw):
        levels = self._file_levels(index)
        white = self.preset.white_level if levels is None else levels[1]
        return dataset_reference(self.raw_paths[index], self.cache_dir, self.reference, white,
                                 self.demosaic_kwargs, raw=raw)

    def __getitem__(self, index):
        raw = read_mosaic(self.raw_paths[index], self.preset)
        sample = {"raw": torch.from_numpy(self._input(raw, index)), "name": self.names[index]}
        if self.target_paths is not None:
            sample["target"] = _to_chw(self._target(index, raw.shape))
        if self.reference is not None:
            sample["reference"] = _to_chw(self._reference(index, raw))
        return sample


def shuffled_assignment(raws: dict, targets: dict, seed: int) -> dict:
    """The release's pairing: RAW i (stem order) gets item i of the target pool shuffled once with the seed."""
    pool = list(targets)
    order = np.random.default_rng(seed).permutation(len(pool))
    return {stem: pool[order[i % len(pool)]] for i, stem in enumerate(raws)}


def index_assignment(raws: dict, targets: dict, seed: int = 0) -> dict:
    """The NTIRE 2026 baseline's pairing (docs/method.md §9): both lists sorted by file name, RAW i gets target i."""
    raw_stems = sorted(raws, key=lambda stem: raws[stem].name)
    target_stems = sorted(targets, key=lambda stem: targets[stem].name)
    return {stem: target_stems[i % len(target_stems)] for i, stem in enumerate(raw_stems)}


PAIRING_RULES = {"shuffled": shuffled_assignment, "index": index_assignment}


def assign_targets(pairing, raws: dict, targets: dict, seed: int) -> dict:
    """{raw stem: target stem} for every RAW: a named rule of PAIRING_RULES, or a given mapping checked here."""
    if isinstance(pairing, str):
        if pairing not in PAIRING_RULES:
            raise BadInputError(f"unknown target_pairing {pairing!r}; choose from {TARGET_PAIRINGS} "
                                "or pass a {raw stem: target stem} mapping")
        return PAIRING_RULES[pairing](raws, targets, seed)
    assignment = {str(raw): str(target) for raw, target in dict(pairing).items()}
    unassigned = [stem for stem in raws if stem not in assignment]
    if unassigned:
        raise BadInputError(f"{raws[unassigned[0]]}: no target assigned to this RAW ({len(unassigned)} RAW file(s) "
                            "without one); the target_pairing mapping needs every RAW stem of the split as a key")
    unknown = sorted({assignment[stem] for stem in raws} - set(targets))
    if unknown:
        raise BadInputError(f"target_pairing assigns target {unknown[0]!r}, which is not in the target pool "
                            f"({len(unknown)} such); use stems of the split's target files (listed ones only "
                            "when an index list is set)")
    return {stem: assignment[stem] for stem in raws}


def _listed_targets(targets: dict, raws: dict, target_dir, indices) -> dict:
    """The unpaired target pool restricted to the listed stems: held-out targets never reach the discriminators."""
    pool = {stem: path for stem, path in targets.items() if stem in raws}
    if not pool:
        listed = indices if isinstance(indices, (str, os.PathLike)) else "the index list"
        raise BadInputError(f"{target_dir}: no target file has a stem listed in {listed}; unpaired training "
                            "draws targets only from the listed (training) stems")
    return pool


def _target_file_problem(path, raw_shape):
    try:
        rgb = read_rgb(path)
    except BadInputError as error:
        return str(error)
    problem = None if raw_shape is None else target_size_problem(raw_shape, rgb.shape)
    return f"{path}: {problem}" if problem else None
