"""Generators and discriminators of the unpaired lightweight ISP framework."""
from .checkpoint import CheckpointError, extract_state_dict, identify_backbone, load_generator, read_state_dict
from .discriminators import ColorDiscriminator, TextureDiscriminator, build_discriminator
from .efficient_isp import EfficientISP
from .generator_registry import GENERATORS, UnknownBackboneError, build_generator, generator_info
from .rmfa_net import RMFANet
from .robust_isp import RobustISP
from .srcnn import SRCNN
from .tiling import TilingError, required_halo, tiled_forward

__all__ = ["GENERATORS", "generator_info", "build_generator", "load_generator", "CheckpointError",
           "extract_state_dict", "identify_backbone", "build_discriminator", "TextureDiscriminator",
           "ColorDiscriminator", "EfficientISP", "RobustISP", "RMFANet", "SRCNN", "TilingError",
           "UnknownBackboneError", "read_state_dict", "required_halo", "tiled_forward"]
