"""The NTIRE 2026 submission JPEG (docs/method.md §9): the one writer tools.submit saves with and the jpeg75
scoring mode round-trips through, so a score of quantize='jpeg75' is the score of the file that is submitted.

The challenge baseline clamps the output to [0, 1], multiplies by 255, truncates to uint8 and saves with PIL at
its default quality, 75 (4:2:0 chroma subsampling, PIL's default at that quality). Decoding is PIL's too.
"""
from __future__ import annotations

import io

import numpy as np
import torch

from common import atomic_write
from common.errors import UserError

SUBMISSION_JPEG_QUALITY = 75  # PIL's default quality, which the challenge baseline's save uses


class BadSubmissionImageError(UserError):
    """A submission file that does not decode as an RGB JPEG."""


def encode_jpeg(levels: np.ndarray, quality: int = SUBMISSION_JPEG_QUALITY) -> bytes:
    """(H, W, 3) uint8 RGB -> the JPEG bytes PIL writes at this quality."""
    from PIL import Image

    if levels.dtype != np.uint8 or levels.ndim != 3 or levels.shape[2] != 3:
        raise ValueError(f"encode_jpeg needs (H, W, 3) uint8 RGB, got {levels.dtype} {levels.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(levels)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def write_jpeg(path, levels: np.ndarray, quality: int = SUBMISSION_JPEG_QUALITY) -> None:
    """encode_jpeg's bytes written atomically (no half-written JPEG on a crash)."""
    data = encode_jpeg(levels, quality)
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def decode_jpeg(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """JPEG bytes -> (H, W, 3) uint8 RGB, decoded by PIL; BadSubmissionImageError naming `name` if it cannot be."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.mode != "RGB":
                raise BadSubmissionImageError(f"{name}: a {image.mode} image, expected RGB; save the output as RGB")
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise BadSubmissionImageError(f"{name}: does not decode as a JPEG ({error}); write it again "
                                      "(python -m tools.submit)") from None


def jpeg_round_trip(levels: torch.Tensor, quality: int = SUBMISSION_JPEG_QUALITY) -> torch.Tensor:
    """(B, 3, H, W) uint8 levels -> the levels the submitted JPEGs decode to, same shape and device."""
    decoded = [decode_jpeg(encode_jpeg(image.permute(1, 2, 0).cpu().numpy(), quality)) for image in levels]
    return torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2).to(levels.device)
