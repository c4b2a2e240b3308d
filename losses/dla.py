"""Dynamic Loss Adaptation (docs/method.md §5).

Every step each term L_i is scaled by s_i = 1 / (||grad_theta L_i||_2 + eps), the global L2 norm over
all generator parameters, treated as a constant. The combined gradient is sum_i lambda_i s_i grad L_i,
so each term reaches the generator with gradient norm lambda_i.

Cost: exactly one torch.autograd.grad per term over the generator parameters; the scaled gradients are
combined directly, so there is no backward of the total and no extra pass for logging (the norms come
from the same pass).
"""
from typing import Callable, Dict, List, Optional, Sequence

import torch

GradReduce = Callable[[List[torch.Tensor]], List[torch.Tensor]]


def global_grad_norm(grads: Sequence[torch.Tensor]) -> torch.Tensor:
    """L2 norm of all gradients taken together (one vector over every parameter)."""
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def _term_gradient(loss: torch.Tensor, inputs: List[torch.Tensor], retain_graph: bool) -> List[torch.Tensor]:
    if not loss.requires_grad:  # a term that does not depend on the generator contributes nothing
        return [torch.zeros_like(p) for p in inputs]
    grads = torch.autograd.grad(loss, inputs, retain_graph=retain_graph, allow_unused=True)
    # An input the term does not reach has a zero gradient for that term.
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, inputs)]


def dla_gradients(terms: Dict[str, torch.Tensor], params: Sequence[torch.Tensor],
                  lambdas: Optional[Dict[str, float]] = None, eps: float = 1e-8,
                  grad_reduce: Optional[GradReduce] = None,
                  extra_inputs: Optional[Dict[str, Sequence[torch.Tensor]]] = None):
    """Combined DLA gradient for params.

    terms: name -> scalar loss sharing one graph (the generator's forward).
    lambdas: name -> weight (terms without an entry weigh 1.0; entries for absent terms are ignored, so a
        config may list every loss of every mode).
    grad_reduce: applied to each term's gradient list before its norm (e.g. DDP all-reduce average).
    extra_inputs: name -> tensors outside the generator whose gradient of that term is wanted too; it
        comes from the same autograd pass, is reduced with the term's gradients and is not in the norm.
    Returns (grads aligned with params, scales name -> s_i, norms name -> ||grad L_i||,
             extra grads name -> list aligned with extra_inputs[name])."""
    params = list(params)
    if not terms:
        raise ValueError("dla_gradients: no loss terms given")
    lambdas, extra_inputs = lambdas or {}, extra_inputs or {}
    frozen = [i for i, p in enumerate(params) if not p.requires_grad]
    if frozen:
        raise ValueError(f"dla_gradients: parameters at positions {frozen[:8]} do not require grad")
    combined = [torch.zeros_like(p) for p in params]
    scales, norms, extra_grads = {}, {}, {}
    names = list(terms)
    for k, name in enumerate(names):
        loss = terms[name]
        if loss.dim() != 0:
            raise ValueError(f"dla_gradients: term {name!r} must be a scalar, got shape {tuple(loss.shape)}")
        extras = list(extra_inputs.get(name, ()))
        grads = _term_gradient(loss, params + extras, retain_graph=k < len(names) - 1)
        if grad_reduce is not None:
            grads = list(grad_reduce(grads))
        grads, extra_grads[name] = grads[:len(params)], grads[len(params):]
        norm = global_grad_norm(grads)
        scale = 1.0 / (norm + eps)
        weight = float(lambdas.get(name, 1.0)) * scale
        torch._foreach_add_(combined, torch._foreach_mul(grads, weight))
        norms[name], scales[name] = norm, scale
    return combined, _to_floats(scales), _to_floats(norms), {k: v for k, v in extra_grads.items() if v}


def _to_floats(values: Dict[str, torch.Tensor]) -> Dict[str, float]:
    # One device sync for all terms rather than one per term.
    stacked = torch.stack(list(values.values())).detach().cpu().tolist()
    return dict(zip(values.keys(), stacked))
