"""Batches that are a pure function of (seed, step), so a resumed run sees exactly the same data."""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Sampler


class StepBatchSampler(Sampler):
    """Step s draws global_batch distinct random indices (seeded by seed and s); rank r takes its slice.

    Like the release's chunks of random training indices, but addressable by step: no sampler state
    has to be saved for resume, and torchrun ranks together cover the same global batch a single
    process would draw.
    """

    def __init__(self, n_items: int, global_batch: int, seed: int, start_step: int, end_step: int,
                 rank: int = 0, world_size: int = 1):
        if global_batch % world_size:
            raise ValueError(f"batch_size {global_batch} is not divisible by {world_size} processes")
        self.n_items, self.global_batch, self.seed = n_items, global_batch, seed
        self.start_step, self.end_step = start_step, end_step
        self.local = global_batch // world_size
        self.offset = rank * self.local

    def indices_for_step(self, step: int) -> list[int]:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        if self.n_items >= self.global_batch:
            chosen = torch.randperm(self.n_items, generator=gen)[: self.global_batch]
        else:
            chosen = torch.randint(self.n_items, (self.global_batch,), generator=gen)
        return chosen[self.offset: self.offset + self.local].tolist()

    def __iter__(self):
        for step in range(self.start_step, self.end_step):
            yield self.indices_for_step(step)

    def __len__(self) -> int:
        return max(0, self.end_step - self.start_step)


def make_loader(dataset, cfg: dict, start_step: int, end_step: int, rank: int, world_size: int,
                pin_memory: bool) -> DataLoader:
    sampler = StepBatchSampler(len(dataset), cfg["batch_size"], cfg["seed"], start_step, end_step,
                               rank, world_size)
    workers = cfg["num_workers"]
    return DataLoader(dataset, batch_sampler=sampler, num_workers=workers, pin_memory=pin_memory,
                      persistent_workers=bool(cfg["persistent_workers"]) and workers > 0,
                      prefetch_factor=cfg["prefetch_factor"] if workers else None)


def random_crop_batch(batch: dict, patch: int, output_scale: int, seed: int, step: int) -> dict:
    """Crop every image of the batch to patch x patch output pixels at one place drawn from (seed, step).

    Offsets are even in output pixels so a full-resolution RAW keeps its RGGB phase; the raw input is
    cropped at the matching place of its own grid (packed inputs are half size).
    """
    out_h, out_w = (batch["raw"].shape[-2] * output_scale, batch["raw"].shape[-1] * output_scale)
    if patch <= 0 or (patch >= out_h and patch >= out_w):
        return batch
    if patch % 2 or patch > min(out_h, out_w):
        raise ValueError(f"patch_size {patch} must be even and at most the image size {out_h}x{out_w}")
    gen = torch.Generator().manual_seed(seed * 7_919 + step)
    top = 2 * int(torch.randint((out_h - patch) // 2 + 1, (1,), generator=gen))
    left = 2 * int(torch.randint((out_w - patch) // 2 + 1, (1,), generator=gen))
    cropped = dict(batch)
    r_top, r_left, r_patch = top // output_scale, left // output_scale, patch // output_scale
    cropped["raw"] = batch["raw"][..., r_top:r_top + r_patch, r_left:r_left + r_patch]
    for key in ("reference", "target"):
        if key in batch:
            cropped[key] = batch[key][..., top:top + patch, left:left + patch]
    return cropped
