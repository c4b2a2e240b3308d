"""Dynamic Loss Adaptation against plain autograd with constant scales."""
import pytest
import torch
import torch.nn as nn

import losses.dla as dla_module
from losses import dla_gradients, tv_loss

LAMBDA = 1e-4


def make_generator():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.Tanh(), nn.Conv2d(8, 12, 3, padding=1),
                         nn.PixelShuffle(2)).double()


def make_terms(gen, x, target):
    out = gen(x)
    return {"mse": (out - target).pow(2).mean(),
            "tv": tv_loss(out),
            "bright": 1e3 * out.mean().pow(2)}  # a large constant factor must not matter


@pytest.fixture
def setup():
    gen = make_generator()
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 4, 8, 8, generator=g, dtype=torch.float64)
    target = torch.rand(2, 3, 16, 16, generator=g, dtype=torch.float64)
    return gen, x, target


def independent_grads(gen, x, target):
    params = list(gen.parameters())
    return {name: torch.autograd.grad(make_terms(gen, x, target)[name], params) for name in ("mse", "tv", "bright")}


def flat_norm(grads):
    return torch.cat([g.flatten() for g in grads]).norm().item()


def test_each_term_reaches_generator_with_norm_lambda(setup):
    gen, x, target = setup
    params = list(gen.parameters())
    lambdas = {"mse": LAMBDA, "tv": LAMBDA, "bright": LAMBDA}
    _, scales, norms, _ = dla_gradients(make_terms(gen, x, target), params, lambdas)
    for name, grads in independent_grads(gen, x, target).items():
        n = flat_norm(grads)
        assert norms[name] == pytest.approx(n, rel=1e-10)
        assert scales[name] == pytest.approx(1.0 / (n + 1e-8), rel=1e-10)
        assert flat_norm([LAMBDA * scales[name] * g for g in grads]) == pytest.approx(LAMBDA, rel=1e-6)
    # one term alone: the combined gradient itself has norm lambda
    single, _, _, _ = dla_gradients({"tv": make_terms(gen, x, target)["tv"]}, params, {"tv": LAMBDA})
    assert flat_norm(single) == pytest.approx(LAMBDA, rel=1e-6)


def test_combined_gradient_equals_autograd_of_constant_scaled_sum(setup):
    gen, x, target = setup
    params = list(gen.parameters())
    lambdas = {"mse": 0.5, "tv": 2.0, "bright": 1e-4}
    grads, scales, _, _ = dla_gradients(make_terms(gen, x, target), params, lambdas)
    terms = make_terms(gen, x, target)
    total = sum(lambdas[k] * scales[k] * terms[k] for k in terms)  # scales are python constants
    expected = torch.autograd.grad(total, params)
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-14)


def test_one_autograd_pass_per_term_and_no_backward(setup, monkeypatch):
    gen, x, target = setup
    calls = {"grad": 0, "backward": 0}
    real_grad, real_backward = torch.autograd.grad, torch.Tensor.backward

    def counting_grad(*args, **kwargs):
        calls["grad"] += 1
        return real_grad(*args, **kwargs)

    def counting_backward(*args, **kwargs):
        calls["backward"] += 1
        return real_backward(*args, **kwargs)

    monkeypatch.setattr(dla_module.torch.autograd, "grad", counting_grad)
    monkeypatch.setattr(torch.Tensor, "backward", counting_backward)
    dla_gradients(make_terms(gen, x, target), list(gen.parameters()))
    assert calls == {"grad": 3, "backward": 0}


def test_grad_reduce_applies_before_the_norm(setup):
    gen, x, target = setup
    params = list(gen.parameters())
    plain, _, plain_norms, _ = dla_gradients(make_terms(gen, x, target), params)
    doubled, _, doubled_norms, _ = dla_gradients(make_terms(gen, x, target), params,
                                              grad_reduce=lambda gs: [2.0 * g for g in gs])
    for name in plain_norms:
        assert doubled_norms[name] == pytest.approx(2.0 * plain_norms[name], rel=1e-10)
    for a, b in zip(plain, doubled):  # scale invariance: the reduced gradient is renormalised
        torch.testing.assert_close(a, b)


def test_unused_params_get_zero_gradients(setup):
    gen, x, target = setup
    extra = nn.Parameter(torch.ones(3, dtype=torch.float64))  # reached by no term
    params = list(gen.parameters()) + [extra]
    grads, scales, _, _ = dla_gradients(make_terms(gen, x, target), params)
    terms = make_terms(gen, x, target)
    expected = torch.autograd.grad(sum(scales[k] * terms[k] for k in terms), list(gen.parameters()))
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-14)
    assert grads[-1].shape == extra.shape and torch.count_nonzero(grads[-1]) == 0


def test_lambdas_of_absent_terms_are_ignored_and_constant_terms_contribute_nothing(setup):
    gen, x, target = setup
    params = list(gen.parameters())
    terms = make_terms(gen, x, target)
    plain, _, _, _ = dla_gradients({"mse": terms["mse"]}, params, {"mse": 0.5})
    terms = make_terms(gen, x, target)
    extra, _, norms, _ = dla_gradients({"mse": terms["mse"], "const": torch.tensor(3.0)}, params,
                                    {"mse": 0.5, "color": 2.0})
    assert norms["const"] == 0.0
    for a, b in zip(plain, extra):
        torch.testing.assert_close(a, b)


def test_bad_inputs_raise(setup):
    gen, x, target = setup
    gen[0].bias.requires_grad_(False)
    with pytest.raises(ValueError, match="do not require grad"):
        dla_gradients(make_terms(gen, x, target), list(gen.parameters()))
    gen[0].bias.requires_grad_(True)
    with pytest.raises(ValueError, match="scalar"):
        dla_gradients({"map": gen(x)}, list(gen.parameters()))
