"""VGG-19 relu5_4 features for the content loss (docs/method.md §4 and 5).

Two weight sources, each with its own input preprocessing:
- 'matconvnet' (release): imagenet-vgg-verydeep-19.mat, input = image*255 - [123.68, 116.779, 103.939];
- 'torchvision': vgg19-dcbb9e9d.pth, input = (image - ImageNet mean) / ImageNet std.
"""
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn

from .frozen import NATURAL_IMAGE_RMS, FrozenExtractor, scale_preserving_init
from .pixel import mse_loss, per_channel_constant, rgb_to_lab_l3
from .weight_loading import WeightsMismatchError, load_checked, load_state_file, require_path, warn_random

# torchvision's configuration 'E' (VGG-19) and 'D' (VGG-16); 'M' = 2x2 max pool.
VGG19_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
RELU5_4_END = 36  # features[:36] ends with relu5_4 (index 35)
MATCONVNET_MEAN = (123.68, 116.779, 103.939)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
VGG19_CONV_NAMES = tuple(f"conv{b}_{i}" for b, n in ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4)) for i in range(1, n + 1))


def make_vgg_features(cfg: Sequence[Union[int, str]]) -> nn.Sequential:
    """Conv3x3+ReLU / MaxPool stack with torchvision's layer indices (so 'features.N.*' keys match)."""
    layers: List[nn.Module] = []
    channels = 3
    for item in cfg:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, item, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = item
    return nn.Sequential(*layers)


class VGG19Relu54(FrozenExtractor):
    """image in [0, 1] (B, 3, H, W) -> relu5_4 features (B, 512, H/16, W/16)."""

    def __init__(self, source: str = "matconvnet"):
        super().__init__()
        if source not in ("matconvnet", "torchvision"):
            raise ValueError(f"VGG source must be 'matconvnet' or 'torchvision', got {source!r}")
        self.source = source
        self.features = make_vgg_features(VGG19_CFG)[:RELU5_4_END]

    @property
    def input_scale(self) -> float:
        """How much the preprocessing scales [0, 1] images (255 for MatConvNet, ~4.4 for torchvision)."""
        return 255.0 if self.source == "matconvnet" else 1.0 / (sum(IMAGENET_STD) / 3)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        # Constants in x's dtype (no float32 buffers): x*255 - mean exactly as written; made once per dtype.
        def per_channel(values):
            return per_channel_constant(values, x.dtype, x.device)
        if self.source == "matconvnet":
            return x * 255.0 - per_channel(MATCONVNET_MEAN)
        return (x - per_channel(IMAGENET_MEAN)) / per_channel(IMAGENET_STD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.preprocess(x))


def _unwrap(value):
    """scipy.io wraps every MATLAB cell/struct/string in 1x1 arrays; peel them off."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.flat[0]
    return value


def _mat_text(value) -> str:
    value = _unwrap(value)
    return str(value.flat[0]) if isinstance(value, np.ndarray) and value.size else str(value)


def read_matconvnet_convs(path: Union[str, Path]) -> Dict[str, tuple]:
    """name -> (weight (Cout, Cin, kH, kW), bias (Cout,)) of every conv layer in a MatConvNet SimpleNN .mat
    ('layers' cell array of structs with fields name, type, weights = {filters, biases})."""
    import scipy.io
    path = Path(path)
    try:
        # No squeeze_me: it would drop the singleton dimensions of 1x1 kernels.
        data = scipy.io.loadmat(str(path), struct_as_record=False, variable_names=["layers"])
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes one clear error
        raise WeightsMismatchError(f"cannot read MatConvNet file {path}: {exc}") from exc
    if "layers" not in data:
        raise WeightsMismatchError(f"{path} has no 'layers' cell array (not a MatConvNet SimpleNN model)")
    convs = {}
    for cell in np.asarray(data["layers"]).ravel():
        layer = _unwrap(cell)
        if _mat_text(getattr(layer, "type", "")) != "conv":
            continue
        if hasattr(layer, "weights"):
            pair = np.asarray(layer.weights).ravel()
            weight, bias = pair[0], pair[1]
        else:  # MatConvNet beta releases stored filters and biases as separate fields
            weight, bias = layer.filters, layer.biases
        weight = np.asarray(weight, dtype=np.float32)
        weight = weight.reshape(weight.shape + (1,) * (4 - weight.ndim))  # MATLAB drops trailing singletons
        # MatConvNet layout H x W x Cin x Cout -> PyTorch Cout x Cin x H x W (both cross-correlate).
        convs[_mat_text(layer.name)] = (torch.from_numpy(weight.transpose(3, 2, 0, 1).copy()),
                                        torch.from_numpy(np.asarray(bias, dtype=np.float32).reshape(-1).copy()))
    return convs


def matconvnet_vgg19_state(path: Union[str, Path]) -> Dict[str, torch.Tensor]:
    """'features.N.weight/bias' state for VGG19Relu54 from imagenet-vgg-verydeep-19.mat."""
    convs = read_matconvnet_convs(path)
    missing = [n for n in VGG19_CONV_NAMES if n not in convs]
    if missing:
        raise WeightsMismatchError(f"{path} lacks VGG-19 conv layers {missing} (found {sorted(convs)[:8]}...)")
    conv_indices = [i for i, m in enumerate(make_vgg_features(VGG19_CFG)[:RELU5_4_END]) if isinstance(m, nn.Conv2d)]
    state = {}
    for index, name in zip(conv_indices, VGG19_CONV_NAMES):
        state[f"features.{index}.weight"], state[f"features.{index}.bias"] = convs[name]
    return state


def build_vgg19_relu54(source: str = "matconvnet", weights_path: Optional[Union[str, Path]] = None,
                       allow_random: bool = False) -> VGG19Relu54:
    """Frozen VGG-19 up to relu5_4 with the weights and preprocessing of `source`. weights_path:
    imagenet-vgg-verydeep-19.mat (matconvnet) or vgg19-dcbb9e9d.pth (torchvision)."""
    if source not in ("matconvnet", "torchvision"):
        raise ValueError(f"VGG source must be 'matconvnet' or 'torchvision', got {source!r}")
    path = None if allow_random else require_path(weights_path, "weights_path", "build_vgg19_relu54")
    model = VGG19Relu54(source)
    if allow_random:
        warn_random(f"VGG-19 content network ({source})")
        # Preprocessing scales images by 255 for MatConvNet: the first conv then sees values ~76.
        scale_preserving_init(model.features, input_rms=NATURAL_IMAGE_RMS * model.input_scale)
    elif source == "matconvnet":
        load_checked(model, matconvnet_vgg19_state(path), str(path))
    else:
        state = load_state_file(path)
        load_checked(model, state, str(path), ignore=("classifier.",) + _beyond_relu54())
    return model.freeze()


def _beyond_relu54():
    return tuple(f"features.{i}." for i in range(RELU5_4_END, 64))


def _content_space(space: str):
    if space not in ("lab_l", "rgb"):
        raise ValueError(f"content space must be 'lab_l' or 'rgb', got {space!r}")
    return rgb_to_lab_l3 if space == "lab_l" else (lambda image: image)


def content_features(vgg: nn.Module, y: torch.Tensor, space: str = "lab_l") -> torch.Tensor:
    """The reference side of content_loss: VGG relu5_4 features of y in `space`, without gradient
    (what a feature cache stores so the reference pass runs once per image, not once per step)."""
    with torch.no_grad():
        return vgg(_content_space(space)(y))


def content_loss_to_features(vgg: nn.Module, x: torch.Tensor, target_features: torch.Tensor,
                             space: str = "lab_l") -> torch.Tensor:
    """MSE of the VGG relu5_4 features of x (generated) and given reference features."""
    return mse_loss(vgg(_content_space(space)(x)), target_features)


def content_loss(vgg: nn.Module, x: torch.Tensor, y: torch.Tensor, space: str = "lab_l") -> torch.Tensor:
    """MSE of VGG relu5_4 features of x (generated) and y (reference, no gradient).

    space 'lab_l': both images as CIE L / 100 replicated to 3 channels (unpaired, and the release's paired);
    space 'rgb': the images directly (the paper's paired variant)."""
    return content_loss_to_features(vgg, x, content_features(vgg, y, space), space)
