"""Generator registry: name -> class; each class declares input_kind and output_scale."""
from torch import nn

from common.errors import UserError

from .efficient_isp import EfficientISP
from .rmfa_net import RMFALarge, RMFAMedium, RMFATiny
from .robust_isp import RobustISP
from .srcnn import SRCNN

GENERATORS = {
    "efficient_isp": EfficientISP,
    "robust_isp": RobustISP,
    "rmfa_tiny": RMFATiny,
    "rmfa_medium": RMFAMedium,
    "rmfa_large": RMFALarge,
    "srcnn": SRCNN,
}


class UnknownBackboneError(UserError, ValueError):
    """A generator name that is not registered (the message lists the choices)."""


def _generator_class(name: str) -> type:
    if name not in GENERATORS:
        raise UnknownBackboneError(f"unknown generator backbone {name!r}; choose from {sorted(GENERATORS)}")
    return GENERATORS[name]


def generator_info(name: str) -> dict:
    """input_kind ('packed4' (B,4,h,w) or 'split3' (B,3,H,W)) and output_scale, without building."""
    cls = _generator_class(name)
    return {"input_kind": cls.input_kind, "output_scale": cls.output_scale}


def build_generator(name: str, **kwargs) -> nn.Module:
    return _generator_class(name)(**kwargs)
