"""Embedded synthetic dataset: real photos bundled with scikit-image turned into RAW/target pairs.

Each sample is a crop (random window, flips) of one photo. The RAW is made by an inverse ISP (inverse tone
curve and gamma, inverse colour matrix, inverse white balance, RGGB mosaic, shot + read noise, black level,
10-bit) and stored as a 16-bit PNG; the target is the same crop rendered with a fixed "DSLR look" (warmer,
more saturated, S-curve, sharpened), so it differs from a plain demosaic. Each photo is cut into disjoint
bands, one per split, so train/val/test never share pixels. Byte-identical output for a given seed.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from common import atomic_write

from ..bad_input import BadInputError
from ..readers.packing import mosaic_rggb
from ..readers.presets import get_preset
from ..readers.raw_io import write_raw, write_rgb

SOURCE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle_left", "motorcycle_right",
                 "hubble_deep_field", "retina", "immunohistochemistry")
DEFAULT_COUNTS = {"fujifilm": {"train": 192, "val": 32, "test": 32}, "zrr": {"train": 192, "test": 32}}
DEFAULT_SIZE = {"fujifilm": 256, "zrr": 448}  # RAW mosaic side = target side, as in the real datasets
TRAIN_FRACTION = 0.6  # of each photo's long side; the other splits share the rest equally
CAMERA_TO_SRGB = np.array([[1.70, -0.52, -0.18], [-0.28, 1.58, -0.30], [0.02, -0.62, 1.60]])


@dataclass(frozen=True)
class InverseISPParams:
    """One camera model per layout: how a linear scene becomes RAW values (normalised, black subtracted).

    camera = inverse_ccm(linear sRGB) / wb_gains * exposure, with per-image jitter around these values.
    Calibrated with the authors' published Efficient ISP checkpoints as the measuring instrument (fit of these
    few global numbers on train-band crops, gamma held at 2.2, target look untouched), see calibration notes below.
    """
    exposure: float  # linear gain of a white-balanced scene: 0.18 grey lands at ~0.18 * exposure / gain
    exposure_stops: float  # per-image exposure jitter, uniform in +-stops (log2)
    wb_gains: tuple  # (R, B) white-balance gains relative to G that the ISP must apply; green is strongest
    wb_jitter: float  # per-image relative jitter of each gain (illuminant variation)
    ccm_strength: float  # 0 = identity colour matrix, 1 = CAMERA_TO_SRGB (sensor cross-talk strength)
    ccm_noise: float = 0.03  # per-image std of colour-matrix entries (before renormalising rows)
    gamma: float = 2.2  # sRGB-like decoding exponent applied after undoing the S tone curve
    log10_shot: tuple = (-3.7, -2.7)  # shot-noise variance per unit signal (normalised units), log10 range
    log10_read: tuple = (-6.0, -4.5)  # read-noise variance, log10 range


# Calibration notes (measured on the embedded test split, see tests/test_data_synthetic_calibration.py):
# - Fujifilm UltraISP (Sony IMX586 via MediaTek): the published Fujifilm generators render a flat, neutral
#   input of 0.3 (normalised, black subtracted) almost black and need ~0.5 for a mid-grey output, i.e. the RAW
#   they were trained on is brightly exposed (mean of the packed input ~0.45-0.55, highlights clipping at 1023)
#   and carries only a weak colour matrix. A 2-stop darker exposure costs them >5 dB.
# - ZRR (Huawei P20, Sony IMX380): dark RAW (mean of the packed /1020 input ~0.05), strong colour matrix,
#   larger red/blue gains -- the usual look of ZRR RAW.
INVERSE_ISP = {
    "fujifilm": InverseISPParams(exposure=4.4, exposure_stops=0.25, wb_gains=(1.27, 1.46), wb_jitter=0.04,
                                 ccm_strength=0.27),
    "zrr": InverseISPParams(exposure=0.38, exposure_stops=0.25, wb_gains=(1.88, 1.75), wb_jitter=0.04,
                            ccm_strength=0.9),
}


def load_source_photos() -> dict:
    """name -> float32 (H, W, 3) sRGB in [0, 1]; all bundled with scikit-image (no download)."""
    from skimage import data as skdata  # lazy: no work at import time

    photos = {}
    for name in SOURCE_PHOTOS:
        if name.startswith("motorcycle_"):
            left, right, _ = skdata.stereo_motorcycle()
            image = left if name.endswith("left") else right
        else:
            image = getattr(skdata, name)()
        photos[name] = np.asarray(image[..., :3], dtype=np.float32) / 255.0
    return photos


def stereo_max_disparity() -> int:
    """Largest ground-truth disparity (pixels, rounded up) of scikit-image's motorcycle stereo pair."""
    from skimage import data as skdata

    disparity = skdata.stereo_motorcycle()[2]
    return int(np.ceil(np.max(disparity[np.isfinite(disparity)])))


def photo_band(name, band, photo_width, max_disparity) -> tuple:
    """The split band to crop from in this photo.

    The motorcycle pair shows one scene twice: a right-view pixel at column x is the left-view pixel at
    x + d (0 <= d <= max_disparity). Cutting both views at the same columns would let a right-view train crop
    show scene content of a left-view val/test crop. Ending each right-view band max_disparity columns early
    keeps every right-view band inside the same split's left-view band, so splits share no scene content.
    """
    if name != "motorcycle_right":
        return band
    return band[0], band[1] - max_disparity / float(photo_width)


def split_bands(splits) -> dict:
    """split -> (start, end) fraction of a photo's long side; disjoint, covering [0, 1]."""
    others = [s for s in splits if s != "train"]
    bands, start = {"train": (0.0, TRAIN_FRACTION)}, TRAIN_FRACTION
    step = (1.0 - TRAIN_FRACTION) / max(len(others), 1)
    for split in others:
        bands[split] = (start, start + step)
        start += step
    return bands


def _crop_window(rng, photo_shape, band, aspect):
    """A random window (y0, x0, h, w) inside the photo's band for this split, with height/width = aspect."""
    height, width = photo_shape[:2]
    along_x = width >= height  # bands run along the long side
    long_side = width if along_x else height
    lo, hi = int(band[0] * long_side), int(band[1] * long_side)
    region_h, region_w = (height, hi - lo) if along_x else (hi - lo, width)
    max_w = min(region_w, region_h / aspect)
    win_w = max(int(rng.uniform(0.5, 1.0) * max_w), 8)
    win_h = max(int(round(win_w * aspect)), 8)
    y0 = int(rng.integers(0, region_h - win_h + 1))
    x0 = int(rng.integers(0, region_w - win_w + 1))
    return (y0, x0 + lo, win_h, win_w) if along_x else (y0 + lo, x0, win_h, win_w)


def _resize(image, height, width):
    shrinking = image.shape[0] > height
    mode = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return np.clip(cv2.resize(image, (width, height), interpolation=mode), 0.0, 1.0)


def _augment(rng, crop):
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if rng.random() < 0.5:
        crop = crop[::-1]
    return np.ascontiguousarray(crop)


def inverse_isp(rng, srgb, black_level, white_level, params: InverseISPParams = INVERSE_ISP["fujifilm"]):
    """sRGB (H, W, 3) -> noisy 10-bit RGGB mosaic uint16 (H, W) with per-channel black levels."""
    tone_linear = 0.5 - np.sin(np.arcsin(1.0 - 2.0 * np.clip(srgb, 0, 1).astype(np.float64)) / 3.0)
    linear = np.clip(tone_linear, 1e-8, 1.0) ** params.gamma
    ccm = np.eye(3) + params.ccm_strength * (CAMERA_TO_SRGB - np.eye(3)) + rng.normal(0.0, params.ccm_noise, (3, 3))
    ccm /= ccm.sum(axis=1, keepdims=True)  # keep white -> white
    camera = np.clip(linear @ np.linalg.inv(ccm).T, 0.0, None)
    jitter = 1.0 + rng.uniform(-params.wb_jitter, params.wb_jitter, 2)
    gains = np.array([params.wb_gains[0] * jitter[0], 1.0, params.wb_gains[1] * jitter[1]])
    exposure = params.exposure * 2.0 ** rng.uniform(-params.exposure_stops, params.exposure_stops)
    camera = np.clip(camera / gains * exposure, 0.0, 1.0)  # inverse white balance, exposure, sensor saturation
    mosaic = mosaic_rggb(camera)
    shot, read = 10 ** rng.uniform(*params.log10_shot), 10 ** rng.uniform(*params.log10_read)
    mosaic = mosaic + rng.normal(0.0, 1.0, mosaic.shape) * np.sqrt(shot * mosaic + read)
    black = np.zeros_like(mosaic)
    b_ch, gb_ch, r_ch, gr_ch = black_level  # packed order, docs/method.md §1
    black[1::2, 1::2], black[0::2, 1::2], black[0::2, 0::2], black[1::2, 0::2] = b_ch, gb_ch, r_ch, gr_ch
    counts = mosaic * (white_level - black) + black
    return np.clip(np.rint(counts), 0, 1023).astype(np.uint16)


def dslr_look(srgb) -> np.ndarray:
    """A fixed rendering style for targets: warm balance, extra saturation, S-curve and light sharpening."""
    image = np.clip(srgb * np.array([1.05, 1.0, 0.92]), 0.0, 1.0)
    luma = image @ np.array([0.299, 0.587, 0.114])
    image = luma[..., None] + 1.3 * (image - luma[..., None])
    image = np.clip(image, 0.0, 1.0)
    image = 0.65 * image + 0.35 * (3 * image ** 2 - 2 * image ** 3)
    blurred = cv2.GaussianBlur(image, (0, 0), 1.0)
    return np.clip(image + 0.6 * (image - blurred), 0.0, 1.0)


def _render_sample(rng, photos, names, band, size_hw, preset, max_disparity):
    name = names[int(rng.integers(len(names)))]
    photo = photos[name]
    band = photo_band(name, band, photo.shape[1], max_disparity)
    window = _crop_window(rng, photo.shape, band, size_hw[0] / size_hw[1])
    y0, x0, win_h, win_w = window
    crop = _augment(rng, photo[y0:y0 + win_h, x0:x0 + win_w])
    target_srgb = _resize(crop, *size_hw)  # RAW and target share the pixel grid, as in both real datasets
    raw = inverse_isp(rng, target_srgb, preset.black_level, preset.white_level, INVERSE_ISP[preset.name])
    return raw, dslr_look(target_srgb), {"photo": name, "window": [y0, x0, win_h, win_w]}


def _raw_size(size, default) -> tuple:
    """(h, w) of the RAW mosaic; targets have the same pixel size in both real datasets (docs/method.md §1)."""
    size = default if size is None else size
    raw_h, raw_w = (size, size) if np.isscalar(size) else (int(size[0]), int(size[1]))
    if raw_h % 2 or raw_w % 2 or raw_h < 8 or raw_w < 8:
        raise BadInputError(f"synthetic RAW size must be even and >= 8, got {raw_h}x{raw_w}")
    return int(raw_h), int(raw_w)


def _refuse_foreign_folder(root: Path) -> None:
    """Old synthetic files are replaced, but a non-empty folder without our manifest may be real data: refuse."""
    if root.is_dir() and any(root.iterdir()) and not (root / "synthetic.json").is_file():
        raise BadInputError(f"{root}: folder exists, is not empty and holds no synthetic.json; "
                            "refusing to overwrite what may be a real dataset (choose an empty folder)")


def make_synthetic_dataset(root, layout="fujifilm", counts=None, size=None, seed=0, progress=False) -> Path:
    """Write a synthetic dataset in the real layout at root; size = RAW side = target side (int or (h, w)).

    Returns root."""
    preset = get_preset(layout)
    counts = dict(DEFAULT_COUNTS[preset.name] if counts is None else counts)
    unknown = set(counts) - set(preset.splits)
    if unknown:
        raise BadInputError(f"layout {preset.name!r} has splits {preset.splits}, not {sorted(unknown)}")
    size_hw = _raw_size(size, DEFAULT_SIZE[preset.name])
    root, photos, max_disparity = Path(root), load_source_photos(), stereo_max_disparity()
    names, bands, layout_code = list(photos), split_bands(preset.splits), sorted(DATASET_CODES).index(preset.name)
    manifest = {"layout": preset.name, "seed": seed, "raw_size": size_hw, "target_size": size_hw,
                "bands": bands, "samples": {}}
    jobs = [(split, index) for split in preset.splits for index in range(int(counts.get(split, 0)))]
    _refuse_foreign_folder(root)
    for split in preset.splits:
        for folder in (preset.raw_dir, preset.target_dir):
            shutil.rmtree(root / split / folder, ignore_errors=True)  # no stale files from a previous run
    iterator = jobs
    if progress:
        from tqdm import tqdm
        iterator = tqdm(jobs, desc=f"synthetic {preset.name}", unit="img")
    for split, index in iterator:
        rng = np.random.default_rng([seed, layout_code, preset.splits.index(split), index])
        raw, target, info = _render_sample(rng, photos, names, bands[split], size_hw, preset,
                                             max_disparity)
        write_raw(root / split / preset.raw_dir / f"{index}{preset.raw_ext}", raw)
        write_rgb(root / split / preset.target_dir / f"{index}{preset.target_ext}", target)
        manifest["samples"][f"{split}/{index}"] = info
    with atomic_write(root / "synthetic.json", "w") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
    return root


DATASET_CODES = ("fujifilm", "zrr")
