"""Reading and writing RAW mosaics (16-bit single-channel PNG) and RGB targets (8-bit PNG/JPG)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from common import atomic_write

from ..bad_input import BadInputError


def _decode(path) -> np.ndarray:
    """Decode an image file as stored (bit depth and channels untouched); corrupt files raise BadInputError."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: file not found")
    data = np.fromfile(str(path), dtype=np.uint8)  # fromfile + imdecode also handles non-ASCII paths
    if data.size == 0:
        raise BadInputError(f"{path}: empty file")
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise BadInputError(f"{path}: cannot decode image (corrupt or truncated file)")
    return image


def raw_problem(image: np.ndarray) -> str | None:
    """Why a decoded image is not a usable RAW Bayer mosaic, or None when it is."""
    if image.ndim != 2:
        channels = image.shape[2] if image.ndim == 3 else image.ndim
        return f"has {channels} channels, expected a single-channel RAW Bayer mosaic"
    if image.dtype != np.uint16:
        bits = image.dtype.itemsize * 8
        return f"is {bits}-bit ({image.dtype}), expected a 16-bit RAW PNG"
    height, width = image.shape
    if height % 2 or width % 2 or height == 0 or width == 0:
        return f"has odd size {height}x{width}; a 2x2 Bayer mosaic needs even height and width"
    return None


def read_raw(path) -> np.ndarray:
    """Read a RAW mosaic: uint16 (H, W) with even H and W, or BadInputError naming the file."""
    image = _decode(path)
    problem = raw_problem(image)
    if problem:
        raise BadInputError(f"{path}: {problem}")
    return image


def read_rgb(path) -> np.ndarray:
    """Read an RGB target as float32 (H, W, 3) in [0, 1], RGB channel order (8-bit; 16-bit is scaled too)."""
    image = _decode(path)
    if image.ndim != 3 or image.shape[2] != 3:
        channels = 1 if image.ndim == 2 else image.shape[2]
        raise BadInputError(f"{path}: has {channels} channel(s), expected a 3-channel RGB image")
    if image.dtype == np.uint8:
        scale = 255.0
    elif image.dtype == np.uint16:
        scale = 65535.0
    else:
        raise BadInputError(f"{path}: unsupported pixel type {image.dtype}, expected 8-bit RGB")
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return rgb.astype(np.float32) / np.float32(scale)


def image_size(path) -> tuple:
    """(H, W) of an image file, decoding it (also validates that it decodes)."""
    return tuple(_decode(path).shape[:2])


def write_raw(path, raw: np.ndarray) -> None:
    """Write a uint16 (H, W) mosaic as a 16-bit single-channel PNG (atomically)."""
    if raw.dtype != np.uint16 or raw.ndim != 2:
        raise BadInputError(f"{path}: write_raw expects uint16 (H, W), got {raw.dtype} {raw.shape}")
    ok, encoded = cv2.imencode(".png", raw)
    if not ok:
        raise BadInputError(f"{path}: PNG encoding failed")
    with atomic_write(path) as handle:
        handle.write(encoded.tobytes())


def write_rgb(path, rgb: np.ndarray, jpeg_quality: int = 95) -> None:
    """Write RGB (H, W, 3), float in [0, 1] or uint8, as 8-bit PNG or JPG chosen by the file extension."""
    if rgb.dtype != np.uint8:
        rgb = np.clip(np.rint(np.asarray(rgb, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
    path = Path(path)
    ext = path.suffix.lower()
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext in (".jpg", ".jpeg") else []
    ok, encoded = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise BadInputError(f"{path}: encoding as {ext} failed")
    with atomic_write(path) as handle:
        handle.write(encoded.tobytes())


def raw_file_problem(path):
    """(problem message, None) for an unusable RAW file, else (None, its shape); never raises for bad data."""
    try:
        image = _decode(path)
    except BadInputError as error:
        return str(error), None
    problem = raw_problem(image)
    return (f"{path}: {problem}", None) if problem else (None, image.shape)
