"""DNG files from numpy mosaics with pidng (a test requirement): the camera tests and bench write real containers."""
from __future__ import annotations

import numpy as np

# CFA colour codes of the DNG CFAPattern tag: 0 red, 1 green, 2 blue; 2x2 patterns in row-major order.
BAYER_CFA = {"RGGB": [0, 1, 1, 2], "BGGR": [2, 1, 1, 0], "GRBG": [1, 0, 2, 1], "GBRG": [1, 2, 0, 1]}


def write_dng(path, mosaic: np.ndarray, cfa, black, white: int, repeat=(2, 2)) -> str:
    """Write a uint16 mosaic as an uncompressed DNG: CFA pattern (list of codes), per-site black levels."""
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import CalibrationIlluminant, DNGVersion, Orientation, PhotometricInterpretation

    height, width = mosaic.shape
    tags = DNGTags()
    for tag, value in [(Tag.ImageWidth, width), (Tag.ImageLength, height), (Tag.TileWidth, width),
                       (Tag.TileLength, height), (Tag.Orientation, Orientation.Horizontal),
                       (Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array),
                       (Tag.SamplesPerPixel, 1), (Tag.BitsPerSample, 16),
                       (Tag.CFARepeatPatternDim, list(repeat)), (Tag.CFAPattern, list(cfa)),
                       (Tag.BlackLevelRepeatDim, [2, 2]), (Tag.BlackLevel, [int(b) for b in black]),
                       (Tag.WhiteLevel, int(white)),
                       (Tag.ColorMatrix1, [[1, 1], [0, 1], [0, 1], [0, 1], [1, 1], [0, 1], [0, 1], [0, 1], [1, 1]]),
                       (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
                       (Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]]), (Tag.Make, "Test"), (Tag.Model, "Camera"),
                       (Tag.DNGVersion, DNGVersion.V1_4), (Tag.DNGBackwardVersion, DNGVersion.V1_2),
                       (Tag.PreviewColorSpace, 2)]:
        tags.set(tag, value)
    writer = RAW2DNG()
    writer.options(tags, path="", compress=False)
    return writer.convert(np.ascontiguousarray(mosaic, dtype=np.uint16), filename=str(path))
