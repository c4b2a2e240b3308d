"""A split loaded once and kept in memory, and a generator scored on it (the checkpoint sweep's inner loop).

The library builds no dataset and no generator: the caller passes a dataset factory (a paired torch Dataset
of {'raw', 'target', 'name'} samples with .names and .problems, e.g. data.ISPDataset with skip_bad=True) and a
forward callable (a generator, or a faster runtime of one).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
from tqdm import tqdm

from .metrics import score_batch


@dataclass
class EvalData:
    """A preprocessed split held in memory: batches of inputs and 8-bit (or float) targets."""
    inputs: list
    targets: list
    names: list
    load_seconds: float
    problems: list = field(default_factory=list)  # bad files of the split that were left out

    def __len__(self):
        return len(self.names)


def compact_target(target: torch.Tensor) -> torch.Tensor:
    """Keep targets as uint8 when they are exact 8-bit values (4x less memory), else float32."""
    scaled = target * 255.0
    if torch.all((scaled - scaled.round()).abs() < 1e-4):
        return scaled.round().to(torch.uint8)
    return target


def target_float(target: torch.Tensor) -> torch.Tensor:
    return target.float() / 255.0 if target.dtype == torch.uint8 else target


def load_eval_data(build_dataset: Callable, indices=None, batch_size: int = 16, limit: Optional[int] = None,
                   num_workers: int = 0, progress: bool = True, desc: str = "loading") -> EvalData:
    """Read, preprocess and batch a whole split once.

    build_dataset(indices) -> dataset; indices: the stems to keep (an index-list path or sequence; None = all).
    limit: only the first N images. The dataset's bad files (its .problems) are listed in EvalData.problems.
    """
    start = time.perf_counter()
    with warnings.catch_warnings():  # the skipped files are listed at the end of the run instead
        warnings.simplefilter("ignore")
        dataset = build_dataset(indices)
    problems = list(dataset.problems)
    if limit is not None and limit < len(dataset):  # listing files is cheap; build again on the subset
        dataset = build_dataset(dataset.names[:limit])
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    inputs, targets, names = [], [], []
    for batch in tqdm(loader, desc=desc, disable=not progress, leave=False):
        inputs.append(batch["raw"])
        targets.append(compact_target(batch["target"]))
        names.extend(batch["name"])
    return EvalData(inputs, targets, names, time.perf_counter() - start, problems)


@torch.no_grad()
def evaluate_model(forward: Callable, data: EvalData, device="cpu", quantize: str = "none", lpips=None,
                   metrics=None) -> list[dict]:
    """Per-image metric rows {file, psnr, ssim, ms_ssim[, lpips], delta_e2000} for one generator.

    forward: the generator (or a runtime of it) on `device`; inputs are sent channels_last, which is ~30%
    faster for small convolutions on CPU and tensor-core friendly on GPU. quantize/lpips/metrics: score_batch's.
    """
    rows, position = [], 0
    for inputs, targets in zip(data.inputs, data.targets):
        output = forward(inputs.to(device, memory_format=torch.channels_last))
        target = target_float(targets).to(device)
        if output.shape != target.shape:
            raise ValueError(f"generator output {tuple(output.shape)} does not match targets "
                             f"{tuple(target.shape)}: wrong --backbone or --dataset?")
        scores = score_batch(output, target, quantize=quantize, lpips=lpips, metrics=metrics)
        for i in range(output.shape[0]):
            rows.append({"file": data.names[position + i], **{k: v[i].item() for k, v in scores.items()}})
        position += output.shape[0]
    return rows
