"""RMFA-Net (tiny / medium / large): full-resolution 3-channel split input -> RGB (B, 3, H, W).

Module names and nesting (Sequential indices included) match the published RMFA_TINY checkpoints.
"""
import torch
import torch.nn.functional as F
from torch import nn


def _conv(c_in: int, c_out: int, k: int = 3, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel_size=k, padding=k // 2, bias=bias)


def _resize_to(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    # Sizing by the reference tensor equals a x2 bilinear upsample for even sizes and also
    # covers odd sizes, where pooling floored the size.
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)


class TextureModule(nn.Module):
    """High-frequency (1x1) and low-frequency (3x3) branches, concatenated high first."""

    def __init__(self, width: int):
        super().__init__()
        self.high_freq = nn.Sequential(_conv(width, width // 2, k=1), nn.ReLU())
        self.low_freq = nn.Sequential(_conv(width, width // 2, k=3), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.high_freq(x), self.low_freq(x)], dim=1)


class ToneMapping(nn.Module):
    """Retinex-style: estimate a smooth illumination from a 3-level pyramid, return x - illumination."""

    def __init__(self, width: int):
        super().__init__()
        self.level1 = nn.Sequential(nn.AvgPool2d(2), _conv(width, width), nn.ReLU())
        self.level2 = nn.Sequential(nn.AvgPool2d(2), _conv(width, width), nn.ReLU())
        self.level3 = nn.Sequential(_conv(width, width), nn.ReLU())

    def coarse_illumination(self, x: torch.Tensor) -> torch.Tensor:
        """The illumination at half resolution, before the last bilinear upsampling to x's size."""
        l1 = self.level1(x)
        return l1 + _resize_to(self.level3(self.level2(l1)), l1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - _resize_to(self.coarse_illumination(x), x)


class ChannelAttention(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        hidden = max(1, width // 16)  # reduction 16: 16 -> 1 -> 16 in the published nets
        self.fc = nn.Sequential(_conv(width, hidden, k=1, bias=False), nn.ReLU(),
                                _conv(hidden, width, k=1, bias=False))

    def channel_weights(self, mean: torch.Tensor, peak: torch.Tensor) -> torch.Tensor:
        """(B, C, 1, 1) weights from the image's per-channel mean and max (global statistics)."""
        return torch.sigmoid(self.fc(mean) + self.fc(peak))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, peak = torch.mean(x, dim=(2, 3), keepdim=True), torch.amax(x, dim=(2, 3), keepdim=True)
        return self.channel_weights(mean, peak) * x


class SpatialAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = _conv(2, 1, k=7, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stats = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(stats)) * x


class RMFABlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.texture_module = TextureModule(width)
        self.tone_mapping = ToneMapping(width)
        self.fusion = nn.Sequential(_conv(2 * width, width), nn.ReLU())
        self.channel_attention = ChannelAttention(width)
        self.spatial_attention = SpatialAttention()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fused = self.fusion(torch.cat([self.texture_module(x), self.tone_mapping(x)], dim=1))
        return self.spatial_attention(self.channel_attention(fused)) + x


class RMFANet(nn.Module):
    input_kind = "split3"
    output_scale = 1

    def __init__(self, width: int = 16, num_blocks: int = 2):
        super().__init__()
        if width < 2 or width % 2:
            raise ValueError(f"RMFA-Net width must be an even number >= 2, got {width}")
        if num_blocks < 1:
            raise ValueError(f"RMFA-Net num_blocks must be >= 1, got {num_blocks}")
        self.input_module = nn.Sequential(_conv(3, width), _conv(width, width), nn.Tanh())
        self.rmfa_blocks = nn.Sequential(*[RMFABlock(width) for _ in range(num_blocks)])
        self.output_module = nn.Sequential(_conv(width, 3), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_module(self.rmfa_blocks(self.input_module(x)))


class RMFATiny(RMFANet):
    """Width 16, 2 blocks: 29,223 parameters (the published RMFA_TINY checkpoints)."""

    def __init__(self, width: int = 16, num_blocks: int = 2):
        super().__init__(width, num_blocks)


class RMFAMedium(RMFANet):
    def __init__(self, width: int = 16, num_blocks: int = 8):
        super().__init__(width, num_blocks)


class RMFALarge(RMFANet):
    def __init__(self, width: int = 16, num_blocks: int = 20):
        super().__init__(width, num_blocks)
