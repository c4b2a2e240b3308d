"""Robust ISP: the Efficient ISP shape with channels 4 -> 16 (tanh) -> 4 (ReLU) -> 12 (ReLU),
pixel shuffle x2; 1,616 parameters. Packed input (B, 4, h, w) -> RGB (B, 3, 2h, 2w)."""
from .efficient_isp import ThreeConvShuffleISP


class RobustISP(ThreeConvShuffleISP):
    def __init__(self):
        super().__init__(width1=16, width2=4)
