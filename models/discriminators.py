"""Discriminators: DPED-style texture CNN on LPIPS/AlexNet feature maps, per-token colour MLP.

Texture D: conv 5x5 s2 (Cin->48), 3x3 s2 (48->128), 3x3 s1 (128->192), 3x3 s1 (192->192),
3x3 s2 (192->128), flatten, linear -> 1024, linear 1024 -> 1, LeakyReLU(0.2) after all but the last.
Every layer is built in the constructor (the first linear is sized from `feature_size`).
The release created the first linear lazily, after the optimizer, so it was never trained; which
parameters an optimizer should update is therefore the model's answer (`trained_parameters`), not
"every parameter that requires grad": the release's untrained layer still requires grad.
"""
import torch
from torch import nn

_TEXTURE_CONVS = ((48, 5, 2, 2), (128, 3, 2, 1), (192, 3, 1, 1), (192, 3, 1, 1), (128, 3, 2, 1))


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def texture_flat_size(feature_size: int) -> int:
    """Flattened length after the conv stack for a square feature_size x feature_size input."""
    size = feature_size
    for _, k, s, p in _TEXTURE_CONVS:
        size = _conv_out(size, k, s, p)
    if size < 1:
        raise ValueError(f"texture discriminator: feature_size {feature_size} is too small for its 3 stride-2 convs")
    return _TEXTURE_CONVS[-1][0] * size * size


class TextureDiscriminator(nn.Module):
    """(B, Cin, S, S) -> (B, 1).

    train_first_linear=False (release): fc1 keeps its initial weights; it is left out of
    `trained_parameters`. first_linear_requires_grad says whether autograd still reaches it (the
    release's case, which lets its never-zeroed .grad build up); False skips that work."""

    def __init__(self, in_channels: int = 64, feature_size: int = 63, train_first_linear: bool = False,
                 first_linear_requires_grad: bool = True):
        super().__init__()
        self.in_channels, self.feature_size = in_channels, feature_size
        layers, c_in = [], in_channels
        for c_out, k, s, p in _TEXTURE_CONVS:
            layers += [nn.Conv2d(c_in, c_out, k, stride=s, padding=p), nn.LeakyReLU(0.2)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.fc1 = nn.Linear(texture_flat_size(feature_size), 1024)
        self.fc2 = nn.Linear(1024, 1)
        self.act = nn.LeakyReLU(0.2)
        self.train_first_linear = train_first_linear
        self.fc1.requires_grad_(train_first_linear or first_linear_requires_grad)

    def trained_parameters(self) -> list:
        """What the discriminator's optimizer updates."""
        untrained = () if self.train_first_linear else (self.fc1.weight, self.fc1.bias)
        return [p for p in self.parameters() if all(p is not q for q in untrained)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[-2:] != (self.feature_size,) * 2:
            raise ValueError(f"texture discriminator expects (B, {self.in_channels}, {self.feature_size}, "
                             f"{self.feature_size}) feature maps, got {tuple(x.shape)}")
        h = self.features(x).flatten(1)
        return self.fc2(self.act(self.fc1(h)))


class ColorDiscriminator(nn.Module):
    """Per-token MLP token_dim -> 512 -> 512 -> 1 (ReLU between), mean over tokens: (B, N, D) -> (B, 1)."""

    def __init__(self, token_dim: int = 768, hidden: int = 512):
        super().__init__()
        self.token_dim = token_dim
        self.mlp = nn.Sequential(nn.Linear(token_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 3 or tokens.shape[-1] != self.token_dim:
            raise ValueError(f"color discriminator expects (B, tokens, {self.token_dim}), got {tuple(tokens.shape)}")
        return self.mlp(tokens).mean(dim=1)

    def trained_parameters(self) -> list:
        return list(self.parameters())


DISCRIMINATORS = {"texture": TextureDiscriminator, "color": ColorDiscriminator}


def build_discriminator(kind: str, **kwargs) -> nn.Module:
    if kind not in DISCRIMINATORS:
        raise ValueError(f"unknown discriminator {kind!r}; choose from {sorted(DISCRIMINATORS)}")
    return DISCRIMINATORS[kind](**kwargs)
