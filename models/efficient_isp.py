"""Efficient ISP (MAI 2022 winner, MiAlgo): three 3x3 convs + pixel shuffle.

Both take the 4-channel packed Bayer input at half resolution and return RGB at full
resolution: (B, 4, h, w) -> (B, 3, 2h, 2w). Module names (conv1..conv3) match the
published checkpoints so they load with strict key matching.
"""
import torch
import torch.nn.functional as F
from torch import nn


def _conv3x3(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1, bias=True)


class ThreeConvShuffleISP(nn.Module):
    """conv1 -> tanh -> conv2 -> ReLU -> conv3 -> ReLU -> pixel_shuffle(2)."""

    input_kind = "packed4"
    output_scale = 2

    def __init__(self, width1: int, width2: int):
        super().__init__()
        self.conv1 = _conv3x3(4, width1)
        self.conv2 = _conv3x3(width1, width2)
        # 12 = 3 colours x (2x2) sub-pixel positions for the pixel shuffle.
        self.conv3 = _conv3x3(width2, 12)
        # A module (not F.pixel_shuffle) so exporters can swap in an equivalent op; no parameters.
        self.pixel_shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.relu(self.conv3(x))
        return self.pixel_shuffle(x)


class EfficientISP(ThreeConvShuffleISP):
    """4 -> 12 (tanh) -> 12 (ReLU) -> 12 (ReLU) -> pixel shuffle: 3,060 parameters."""

    def __init__(self):
        super().__init__(width1=12, width2=12)

