"""Relativistic losses and R1/R2 penalties against closed-form values."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from losses import discriminator_step_loss, gradient_penalty, relativistic_d_loss, relativistic_g_loss


def test_relativistic_losses_are_log2_when_scores_equal():
    d = torch.randn(5, 1)
    assert relativistic_d_loss(d, d.clone()).item() == pytest.approx(math.log(2.0), rel=1e-6)
    assert relativistic_g_loss(d, d.clone()).item() == pytest.approx(math.log(2.0), rel=1e-6)


def test_relativistic_losses_match_numpy():
    real, fake = torch.randn(6, 1, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    r, f = real.numpy().ravel(), fake.numpy()
    assert relativistic_d_loss(real, fake).item() == pytest.approx(np.mean(np.log1p(np.exp(-(r - f)))), rel=1e-10)
    assert relativistic_g_loss(real, fake).item() == pytest.approx(np.mean(np.log1p(np.exp(-(f - r)))), rel=1e-10)


class Linear(nn.Module):
    """D(x) = <w, x> + b per sample, so grad_x D = w and the penalty is ||w||^2."""

    def __init__(self, shape):
        super().__init__()
        self.w = nn.Parameter(torch.randn(*shape, dtype=torch.float64))
        self.b = nn.Parameter(torch.tensor(0.3, dtype=torch.float64))

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1, keepdim=True) + self.b


def test_gradient_penalty_of_linear_discriminator_is_squared_weight_norm():
    d = Linear((2, 3, 3))
    feats = torch.randn(4, 2, 3, 3, dtype=torch.float64)
    expected = d.w.detach().pow(2).sum().item()
    assert gradient_penalty(d, feats).item() == pytest.approx(expected, rel=1e-10)


def test_gradient_penalty_per_sample_for_quadratic_discriminator():
    # D(x) = 0.5 * ||x||^2 -> grad = x, penalty = mean over samples of ||x_i||^2
    feats = torch.randn(3, 4, dtype=torch.float64)
    penalty = gradient_penalty(lambda x: 0.5 * x.pow(2).sum(1), feats)
    assert penalty.item() == pytest.approx(feats.pow(2).sum(1).mean().item(), rel=1e-10)


def test_discriminator_step_loss_value_and_parts():
    d = Linear((2, 3, 3))
    real, fake = torch.randn(4, 2, 3, 3, dtype=torch.float64), torch.randn(4, 2, 3, 3, dtype=torch.float64)
    loss, parts = discriminator_step_loss(d, real, fake, gamma=10.0, penalty_scale=100.0)
    w2 = d.w.detach().pow(2).sum().item()
    with torch.no_grad():
        r, f = d(real).numpy().ravel(), d(fake).numpy().ravel()
    adv = np.mean(np.log1p(np.exp(-(r - f))))
    assert parts["r1"].item() == pytest.approx(w2, rel=1e-10)
    assert parts["r2"].item() == pytest.approx(w2, rel=1e-10)
    assert loss.item() == pytest.approx(adv + 5.0 * 100.0 * 2 * w2, rel=1e-10)
    loss_paper, _ = discriminator_step_loss(d, real, fake, gamma=10.0, penalty_scale=1.0)
    assert loss_paper.item() == pytest.approx(adv + 5.0 * 2 * w2, rel=1e-10)


def test_discriminator_step_loss_trains_d_and_not_the_features():
    d = Linear((2, 3, 3))
    real = torch.randn(4, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    fake = torch.randn(4, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    loss, _ = discriminator_step_loss(d, real, fake)
    loss.backward()
    assert real.grad is None and fake.grad is None
    # d/dw of (gamma/2)*scale*(R1+R2) = 500 * 2 * 2w, plus the adversarial part
    with torch.no_grad():
        s = torch.sigmoid(-(d(real) - d(fake))).ravel()
    adv_grad = -((s.view(-1, 1, 1, 1) * (real - fake)).mean(0))
    torch.testing.assert_close(d.w.grad, adv_grad.detach() + 2000.0 * d.w.detach())
