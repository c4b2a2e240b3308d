"""Base class for frozen pretrained feature extractors, and the initialisation of random stand-ins."""
import torch
import torch.nn as nn

# Typical root mean square of a photo's deviation from the ImageNet mean, in [0, 1] units (measured on
# scikit-image's photos: astronaut 0.31, coffee 0.28, rocket 0.25, chelsea 0.15).
NATURAL_IMAGE_RMS = 0.3


class FrozenExtractor(nn.Module):
    """No parameter gradients, always in eval mode (a parent's .train() cannot switch it back)."""

    def freeze(self) -> "FrozenExtractor":
        self.requires_grad_(False)
        return self.eval()

    def train(self, mode: bool = True) -> "FrozenExtractor":
        return super().train(False)


@torch.no_grad()
def scale_preserving_init(module: nn.Module, input_rms: float = 1.0) -> nn.Module:
    """He (Kaiming) normal weights for a ReLU network, zero biases: every conv/linear layer keeps the
    mean square of its input (ReLU halves it, the gain of 2 restores it), so a random network still maps
    images to unit-scale features that depend on the image. PyTorch's default init shrinks each layer
    by about 3x and VGG-19's relu5_4 ends near 1e-5 of its input, where only the biases are left.

    input_rms: typical root mean square of the first layer's input; its weights are divided by it so
    the first activations already have unit scale."""
    layers = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for index, layer in enumerate(layers):
        nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
        if index == 0:
            layer.weight.div_(input_rms)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return module
