"""Relativistic adversarial losses with R1/R2 penalties (docs/method.md §5, R3GAN style).

Discriminator outputs are flattened to one score per sample, so (B,), (B, 1) both work.
"""
import torch
import torch.nn.functional as F


def _scores(d_out: torch.Tensor) -> torch.Tensor:
    return d_out.reshape(d_out.shape[0], -1).mean(dim=1)


def relativistic_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """softplus(-(D(real) - D(fake))), averaged over the batch."""
    return F.softplus(-(_scores(d_real) - _scores(d_fake))).mean()


def relativistic_g_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """softplus(-(D(fake) - D(real))), averaged over the batch."""
    return F.softplus(-(_scores(d_fake) - _scores(d_real))).mean()


def squared_grad_norm(d_out: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Per-sample squared norm of d(sum D)/d(inputs), averaged over the batch; differentiable w.r.t. D."""
    (grad,) = torch.autograd.grad(d_out.sum(), inputs, create_graph=True)
    return grad.pow(2).flatten(1).sum(dim=1).mean()


def gradient_penalty(d, features: torch.Tensor) -> torch.Tensor:
    """R1 (real features) or R2 (fake features): mean over the batch of ||grad_x D(x)||^2 per sample.
    The features are detached first: the penalty concerns D only."""
    x = features.detach().requires_grad_(True)
    return squared_grad_norm(d(x), x)


def discriminator_step_loss(d, real_feats: torch.Tensor, fake_feats: torch.Tensor,
                            gamma: float = 10.0, penalty_scale: float = 100.0):
    """D loss = softplus(-(D(real) - D(fake))) + (gamma / 2) * penalty_scale * (R1 + R2).

    penalty_scale = 100 is the release's extra factor (effective gamma/2 = 500); 1 gives the paper's loss.
    One forward per input serves both the adversarial term and its penalty.
    Returns (loss, dict of detached parts: adv, r1, r2)."""
    real = real_feats.detach().requires_grad_(True)
    fake = fake_feats.detach().requires_grad_(True)
    d_real, d_fake = d(real), d(fake)
    adv = relativistic_d_loss(d_real, d_fake)
    grad_real, grad_fake = torch.autograd.grad((d_real.sum(), d_fake.sum()), (real, fake), create_graph=True)
    r1 = grad_real.pow(2).flatten(1).sum(dim=1).mean()
    r2 = grad_fake.pow(2).flatten(1).sum(dim=1).mean()
    loss = adv + (gamma / 2.0) * penalty_scale * (r1 + r2)
    return loss, {"adv": adv.detach(), "r1": r1.detach(), "r2": r2.detach()}
