"""Semantic pseudo-pairing wired to the datasets (docs/pairing.md): which files, rendered how, embedded by what,
matched how; the reuse-or-recompute decision for pairing.csv; and the hook that hands each RAW its matched photo.

fit.py and tools.pairing share compute_pairing, so a pairing.csv written by either is reused by the other
when the inputs (file identities), the embedder (weights included), the RAW rendering and the matcher match."""
from __future__ import annotations

import copy
from pathlib import Path

import torch

import pairing
from common.errors import UserError
from data import ISPDataset, read_rgb
from data.readers.layout import list_images, split_dirs
from pairing import PairingError
from training.backbone_paths import weight_file
from training.stages import STAGE_TABLE
from wiring import build_dataset, data_preset

SHEET_PAIRS = 8  # best and worst matches shown on the contact sheet


def uses_semantic_pairing(stage: str, cfg: dict) -> bool:
    spec = STAGE_TABLE[stage]
    return stage == "pseudo_paired" or (not spec.paired and spec.needs_targets and cfg["target_pairing"] == "semantic")


def run_needs_pairing(cfg: dict) -> bool:
    return any(uses_semantic_pairing(s, cfg) for s in (*cfg["prior_stages"], cfg["stage"]))


def rendering_dataset(cfg: dict) -> ISPDataset:
    """The training split's RAW files with their demosaiced reference (the classical rendering), no targets."""
    dataset = build_dataset(cfg, cfg["train_split"], "packed4", paired=False, reference=True,
                            indices=cfg["train_indices"] or None, require_targets=False)
    dataset = copy.copy(dataset)
    dataset.target_paths = None  # only the reference is needed: no photo decoded per RAW
    return dataset


def photo_pool(cfg: dict, raw_stems: list) -> list[Path]:
    """Every photo of the training split (only listed stems when train_indices restricts it, as unpaired training)."""
    preset = data_preset(cfg)
    _, photo_dir = split_dirs(cfg["data_root"], cfg["train_split"], preset)
    photos = list_images(photo_dir, preset.target_ext)
    if cfg["train_indices"]:
        photos = {stem: path for stem, path in photos.items() if stem in set(raw_stems)}
        if not photos:
            raise PairingError(f"{photo_dir}: no photo has a stem listed in {cfg['train_indices']}")
    return list(photos.values())


def build_embedder(cfg: dict, device: str = "cpu"):
    name = cfg["pairing_embedder"]
    weights = None
    if name in pairing.DINOV2_MODELS:
        weights = weight_file(name, cfg["pairing_weights"], cfg["allow_random_backbones"])
    return pairing.build_embedder(name, weights, cfg["pairing_image_level"], cfg["pairing_patch_grid"], device)


def pairing_settings(cfg: dict, embedder) -> dict:
    """Everything besides the files that decides the pairing."""
    rendering = {k: cfg[k] for k in ("dataset", "zrr_normalisation", "demosaic", "reference_scaling", "wb_gains",
                                     "demosaic_gamma")}
    matcher = {k: cfg[k] for k in ("pairing_matcher", "pairing_reg", "pairing_alpha", "pairing_top_k")}
    return {"embedder": embedder.settings, "rendering": rendering, "matcher": matcher}


def _embed_sets(cfg, embedder, settings, dataset, photos, progress):
    raw_index = {str(p): i for i, p in enumerate(dataset.raw_paths)}
    cache_root = cfg["pairing_cache_dir"] or None
    raw_cache = cache_root and pairing.EmbeddingCache(cache_root, {"side": "raw", "embedder": embedder.settings,
                                                                   "rendering": settings["rendering"]})
    photo_cache = cache_root and pairing.EmbeddingCache(cache_root, {"side": "photo", "embedder": embedder.settings})
    raw_rows, raws, _ = pairing.embed_files(
        dataset.raw_paths, lambda p: dataset[raw_index[str(p)]]["reference"].permute(1, 2, 0).numpy(), embedder,
        raw_cache, desc="embed RAW (reference)", skip_bad=cfg["skip_bad_files"], progress=progress)
    photo_rows, kept, problems = pairing.embed_files(photos, read_rgb, embedder, photo_cache, desc="embed photos",
                                                     skip_bad=cfg["skip_bad_files"], progress=progress)
    if problems:
        print(f"[pairing] skipped {len(problems)} photo(s) that do not decode; first: {problems[0]}")
    if not kept:
        raise PairingError(f"no photo of {Path(photos[0]).parent} could be embedded; first problem: {problems[0]}")
    return raw_rows, raws, photo_rows, kept


def compute_pairing(cfg: dict, csv_path, device: str = "cpu", progress: bool = True, reuse_from=(),
                    force: bool = False) -> tuple[Path, bool]:
    """Write pairing.csv (+ pairing.json and the contact sheet) at csv_path, unless csv_path or one of reuse_from
    already holds a pairing of exactly these inputs and settings (force: pair again). Returns (path, reused)."""
    dataset = rendering_dataset(cfg)
    photos = photo_pool(cfg, dataset.names)
    embedder = build_embedder(cfg, device)
    settings = pairing_settings(cfg, embedder)
    sig = pairing.signature(dataset.raw_paths, photos, settings)
    for candidate in () if force else (*reuse_from, csv_path):
        if candidate and pairing.is_reusable(candidate, sig):
            pairing.read_pairing(candidate)  # every file it names still exists
            return Path(candidate), True
    raw_rows, raws, photo_rows, kept = _embed_sets(cfg, embedder, settings, dataset, photos, progress)
    indices, costs = pairing.match_sets(raw_rows, photo_rows, cfg["pairing_matcher"], cfg["pairing_reg"],
                                        cfg["pairing_alpha"], cfg["pairing_top_k"])
    pairing.write_pairing(csv_path, raws, kept, indices, costs, settings, sig)
    write_contact_sheet(contact_sheet_path(csv_path), dataset, raws, kept, indices[:, 0], costs[:, 0])
    return Path(csv_path), False


def contact_sheet_path(csv_path) -> Path:
    return Path(csv_path).with_name(Path(csv_path).stem + "_contact_sheet.png")


def write_contact_sheet(path, dataset, raws, photos, best, costs) -> None:
    index = {str(p): i for i, p in enumerate(dataset.raw_paths)}
    shown_best, shown_worst = pairing.best_and_worst(costs, SHEET_PAIRS)

    def rows(chosen):
        return [(dataset[index[str(raws[i])]]["reference"].permute(1, 2, 0).numpy(), read_rgb(photos[best[i]]),
                 f"{Path(raws[i]).name} -> {Path(photos[best[i]]).name}  cost {costs[i]:.3f}") for i in chosen]

    pairing.contact_sheet(path, [("best matches (RAW reference | matched photo)", rows(shown_best)),
                                  ("worst matches", rows(shown_worst))])


def resolve_pairing(cfg: dict, run_dir: Path, info, device: torch.device) -> dict:
    """cfg with pairing_csv set to a pairing of this run's inputs: the given pairing_csv when it still matches,
    else <run>/pairing.csv (reused on resume, written otherwise; a stale given file is left as it is). Computed
    once, on rank 0; the other ranks wait for its answer and read the same file."""
    if not run_needs_pairing(cfg):
        return cfg
    outcome, failure = [None], None
    if info.is_main:
        try:
            path, reused = compute_pairing(cfg, run_dir / "pairing.csv", str(device),
                                           reuse_from=(cfg["pairing_csv"],))
            print(f"[fit] pairing {'reused' if reused else 'written'}: {path}")
            outcome = [str(path)]
        except UserError as error:  # the other ranks must hear of it, not wait forever
            outcome, failure = [f"error: {error}"], error
    if info.enabled:
        torch.distributed.broadcast_object_list(outcome, src=0)
    if failure is not None:
        raise failure
    if outcome[0].startswith("error: "):
        raise PairingError(outcome[0].removeprefix("error: "))
    return dict(cfg, pairing_csv=outcome[0])


def target_pairing_rule(stage: str, cfg: dict):
    """ISPDataset's target_pairing for this stage: with semantic pairing each RAW stem's rank-1 matched photo stem
    (so every batch holds each RAW with its matched photo), else the config's named rule."""
    if not uses_semantic_pairing(stage, cfg):
        return "shuffled" if cfg["target_pairing"] == "semantic" else cfg["target_pairing"]
    if not cfg["pairing_csv"]:
        raise PairingError(f"stage {stage} needs a semantic pairing but pairing_csv is empty; run through fit.py "
                           "or write one with python -m tools.pairing and set pairing_csv")
    best = pairing.best_photos(pairing.read_pairing(cfg["pairing_csv"]))
    return {raw.stem: photo.stem for raw, photo in best.items()}
