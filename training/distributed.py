"""torchrun support: process-group set-up and gradient averaging.

The generator's gradients are produced per loss term by torch.autograd.grad (for DLA), which
DistributedDataParallel's backward hooks never see, so gradients are averaged explicitly here:
every rank then computes the same DLA norms and applies the same update.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device_kind: str) -> DistInfo:
    """Join the torchrun process group when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    backend = "nccl" if device_kind == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size(),
                    local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def average_gradients(grads: list[torch.Tensor], info: DistInfo) -> list[torch.Tensor]:
    """Mean of each gradient over ranks (a no-op for a single process)."""
    if not info.enabled:
        return grads
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world_size
    return [chunk.view_as(g) for chunk, g in zip(flat.split([g.numel() for g in grads]), grads)]


def average_param_grads(module: torch.nn.Module, info: DistInfo) -> None:
    params = [p for p in module.parameters() if p.grad is not None]
    if info.enabled and params:
        for p, g in zip(params, average_gradients([p.grad for p in params], info)):
            p.grad = g


def broadcast_module(module: torch.nn.Module, info: DistInfo) -> None:
    """Start every rank from rank 0's weights."""
    if info.enabled:
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
