"""SRCNN-style baseline on the packed Bayer input (the paper's ~25K-parameter custom SRCNN).

The paper gives only the size, so this design is ours: SRCNN's 9-1-5 layout (patch extraction,
non-linear mapping, reconstruction) widened to 4 packed input channels, with the reconstruction
producing 12 channels that a pixel shuffle turns into full-resolution RGB, like Efficient ISP.
conv1 9x9 4->44 + ReLU, conv2 1x1 44->32 + ReLU, conv3 5x5 32->12, pixel shuffle x2:
25,352 parameters. The output is linear as in SRCNN (callers clamp to [0, 1]).
"""
import torch
import torch.nn.functional as F
from torch import nn


class SRCNN(nn.Module):
    input_kind = "packed4"
    output_scale = 2

    def __init__(self, width1: int = 44, width2: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(4, width1, kernel_size=9, padding=4)
        self.conv2 = nn.Conv2d(width1, width2, kernel_size=1)
        self.conv3 = nn.Conv2d(width2, 12, kernel_size=5, padding=2)
        self.pixel_shuffle = nn.PixelShuffle(2)  # a module so exporters can swap it; no parameters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return self.pixel_shuffle(self.conv3(x))
