"""Frozen-feature cache for whole-image training: compute once, read in the data loader.

With patch_size = 0 (the release's setting) these inputs of the loss never change during a run:
  content  VGG relu5_4 of the content goal (losses.content_features: the demosaiced reference in the
           pretrain / unpaired stages, the target in the paired ones; LAB L in unpaired training)
  lin0/3   AlexNet maps 0 and 3 of the grayscale target (texture discriminators' real inputs)
  color    ViT tokens of the blurred target (colour discriminator's real input)
They are computed once per image (batched on the training device, progress bar), stored by
data.FeatureStore and added to each sample as sample["cached_features"]; training.stages uses them
instead of running the extractors on the real side. Random crops change the real images every step,
so the cache is off when patch_size > 0.
"""
from __future__ import annotations

import hashlib

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

import losses
from data.features.feature_store import CachedFeatures, FeatureStore
from training.config_loader import ConfigError
from training.stages import content_goal


def module_hash(module: torch.nn.Module) -> str:
    """Hash of every parameter and buffer (persistent or not): the extractor weights' identity."""
    digest = hashlib.sha256()
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        data = tensor.detach().cpu().contiguous()
        digest.update(f"{name}{data.dtype}{tuple(data.shape)}".encode())
        digest.update(data.view(torch.uint8).numpy().tobytes() if data.numel() else b"")
    return digest.hexdigest()[:16]


def feature_plan(kit, cfg: dict) -> dict:
    """name -> (sample key of the image it is computed from, function image batch -> feature batch)."""
    goal, space = content_goal(kit.stage, cfg["paired_content_space"])
    plan = {"content": (goal, lambda images: losses.content_features(kit.vgg, images, space))}
    if kit.texture is not None:
        plan["lin0"] = ("target", lambda images: kit.texture(images)[0])
        plan["lin3"] = ("target", lambda images: kit.texture(images)[1])
    if kit.color is not None:
        plan["color"] = ("target", kit.color)
    # Features of a skipped term (weight 0) are never read: none to compute or store.
    needed = {"content"} & set(kit.terms) | kit.active_discriminators.keys()
    return {name: entry for name, entry in plan.items() if name in needed}


def make_stores(kit, cfg: dict, dataset, autocast: bool) -> dict:
    """name -> (FeatureStore, sample key, source file list) for every cacheable feature of the stage.
    autocast: the extractors' autocast setting (config key frozen_autocast; False when off)."""
    extractors = {"content": kit.vgg, "lin0": kit.texture, "lin3": kit.texture, "color": kit.color}
    common = {"stage_space": content_goal(kit.stage, cfg["paired_content_space"]), "vgg_source": cfg["vgg_source"],
              "vit_model": cfg["vit_model"], "vit_layer_norm_eps": cfg["vit_layer_norm_eps"],
              "normalise_features": cfg["normalise_features"],
              "bf16_autocast": autocast}
    groups = {"content": "content", "lin0": "texture", "lin3": "texture", "color": "color"}
    unknown = set(cfg["feature_cache_features"]) - set(groups.values())
    if unknown:
        raise ConfigError(f"feature_cache_features: unknown {sorted(unknown)}; choose from content, color, texture")
    stores = {}
    for name, (image, _) in feature_plan(kit, cfg).items():
        if groups[name] not in cfg["feature_cache_features"]:
            continue
        settings = {**common, "extractor": module_hash(extractors[name])}
        store = FeatureStore(cfg["feature_cache_dir"], name, settings, cfg["feature_cache_dtype"])
        paths = dataset.raw_paths if image == "reference" else dataset.target_paths
        stores[name] = (store, image, paths)
    return stores


class _Indexed(torch.utils.data.Dataset):
    """(index, sample) pairs, so a batch says which dataset items it holds."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, position):
        index = self.indices[position]
        return index, self.dataset[index]


@torch.no_grad()
def fill_stores(dataset, kit, cfg: dict, stores: dict, device, rank: int = 0, world_size: int = 1) -> int:
    """Compute and store every missing entry of this rank's share of the dataset; returns how many."""
    todo = {n: s for n, s in stores.items() if not s[0].is_complete(s[2])}
    if not todo:
        return 0
    plan = feature_plan(kit, cfg)
    share = _Indexed(dataset, list(range(rank, len(dataset), world_size)))
    loader = DataLoader(share, batch_size=max(1, cfg["batch_size"] // world_size), num_workers=cfg["num_workers"])
    written = 0
    for indices, batch in tqdm(loader, desc=f"feature cache ({', '.join(todo)})", disable=rank != 0,
                               dynamic_ncols=True):
        for name, (store, image, paths) in todo.items():
            missing = [i for i, index in enumerate(indices.tolist()) if not store.has(paths[index], batch[image][i])]
            if missing:
                features = plan[name][1](batch[image][missing].to(device))
                for row, i in enumerate(missing):
                    store.save(paths[int(indices[i])], batch[image][i], features[row])
                written += len(missing)
    return written


def disk_estimate_mib(kit, dataset, stores: dict, cfg: dict) -> float:
    """Bytes the stores take for the whole dataset, from one sample's feature shapes."""
    sample, plan = dataset[0], feature_plan(kit, cfg)
    with torch.no_grad():
        elements = sum(plan[name][1](sample[image][None].to(next(kit.vgg.parameters()).device)).numel()
                       for name, (_, image, _) in stores.items())
    itemsize = 2 if cfg["feature_cache_dtype"] == "float16" else 4
    return elements * itemsize * len(dataset) / 2**20


def attach_feature_cache(dataset, kit, cfg: dict, device, info):
    """The dataset with cached features (filled first where missing), or the dataset itself when the
    cache is off. info: rank / world_size / enabled / is_main of the (possibly distributed) run."""
    if not cfg["feature_cache"]:
        return dataset
    if cfg["patch_size"] > 0:
        if info.is_main:
            print("[fit] feature_cache off: with patch_size > 0 the real images are new crops every step")
        return dataset
    autocast = cfg["frozen_autocast"] or False  # False when off: the key of caches filled before the key had dtypes
    stores = make_stores(kit, cfg, dataset, autocast)
    if info.is_main and not all(store.is_complete(paths) for store, _, paths in stores.values()):
        print(f"[fit] feature cache: filling {cfg['feature_cache_dir']} ({', '.join(stores)}; "
              f"{disk_estimate_mib(kit, dataset, stores, cfg):.0f} MiB for {len(dataset)} images)")
    written = fill_stores(dataset, kit, cfg, stores, device, info.rank, info.world_size)
    if info.enabled:
        torch.distributed.barrier()  # every rank's share is on disk before anyone reads
    if info.is_main:
        for store, _, paths in stores.values():
            if not store.is_complete(paths):
                store.mark_complete(paths)
        if written:
            print(f"[fit] feature cache: wrote {written} entries under {cfg['feature_cache_dir']}")
    return CachedFeatures(dataset, stores)
