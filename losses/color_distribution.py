"""Colour-distribution loss for pseudo pairs (docs/pairing.md): the matched photo shows similar content but is a
different scene, so no pixel of it lines up with the output. What can be compared is the distribution of
colours: the sliced Wasserstein distance (POT: ot.sliced_wasserstein_distance) between the RGB values of each
output and those of its matched photo, both average-pooled first (colour, not noise or texture).
"""
import torch
import torch.nn.functional as F


def _pixels(x: torch.Tensor, pool: int) -> torch.Tensor:
    """(B, 3, H, W) -> (B, N, 3) pixel colours after pool x pool averaging."""
    if pool > 1 and min(x.shape[-2:]) >= pool:
        x = F.avg_pool2d(x, pool)
    return x.flatten(2).transpose(1, 2)


def color_distribution_loss(x: torch.Tensor, photo: torch.Tensor, projections: int = 64, pool: int = 4,
                            seed: int = 0) -> torch.Tensor:
    """Mean over the batch of the sliced 2-Wasserstein distance between the colours of x[i] and photo[i].
    The projection directions are fixed by `seed`, so the loss is a deterministic function of its inputs."""
    import ot

    gen = torch.Generator().manual_seed(seed)
    directions = F.normalize(torch.randn(3, projections, generator=gen, dtype=torch.float64), dim=0)
    directions = directions.to(device=x.device, dtype=x.dtype)
    ours, theirs = _pixels(x, pool), _pixels(photo.detach(), pool)
    return torch.stack([ot.sliced_wasserstein_distance(a, b, projections=directions)
                        for a, b in zip(ours, theirs)]).mean()
