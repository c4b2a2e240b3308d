"""The synthetic inverse ISP is calibrated: the authors' published generators render its RAW close to its targets.

The published checkpoints were trained on real camera RAW, so they act as a measuring instrument for the RAW
statistics (exposure, black level, white balance, colour matrix). A badly calibrated synthetic RAW gives a few dB.
"""
import cv2
import numpy as np
import pytest
import torch

from data import ISPDataset, make_synthetic_dataset
from data.readers.raw_io import read_raw
from data.synth.synthetic import INVERSE_ISP
from evaluation import psnr
from models import load_generator

FUJIFILM_EFFICIENT = "Fujifilm/Efficient_ISP_paired_step_37580.pth"
ZRR_EFFICIENT = "ZRR/Efficient_ISP_paired_step_195100.pth"
DEMOSAIC_PRETRAIN = "Efficient_ISP_demosaic_pretrain_step_20000.pth"
# The bar is a classical pipeline written out below (exposure-invariant: gray world and a percentile stretch),
# which a learned ISP beats by several dB on real camera RAW; the published nets must beat it by 3 dB here too.
# Measured on this 4-image, 128 px split: Fujifilm 17.5 dB vs classical 12.0 dB, ZRR 23.8 vs 13.3 dB.
MARGIN_OVER_CLASSICAL_DB = 3.0


def _psnr_np(output: np.ndarray, target: np.ndarray) -> float:
    return float(10.0 * np.log10(1.0 / np.mean((output - target) ** 2)))


def _classical_isp(mosaic: np.ndarray, black, white) -> np.ndarray:
    """RGGB counts -> RGB in [0, 1]: mean black subtracted, half-size R / mean G / B planes upsampled
    bilinearly, gray-world white balance, 99th-percentile stretch, gamma 1/2.2."""
    m = np.clip((mosaic - np.mean(black)) / (white - np.mean(black)), 0.0, None)
    rgb = np.stack([m[0::2, 0::2], (m[0::2, 1::2] + m[1::2, 0::2]) / 2, m[1::2, 1::2]], axis=-1)
    rgb = cv2.resize(rgb, (m.shape[1], m.shape[0]), interpolation=cv2.INTER_LINEAR)
    rgb = rgb * (rgb[..., 1].mean() / rgb.reshape(-1, 3).mean(axis=0))
    return np.clip(rgb / np.percentile(rgb, 99), 0.0, 1.0) ** (1 / 2.2)


def _classical_psnr(dataset) -> float:
    scores = []
    for index in range(len(dataset)):
        mosaic = read_raw(dataset.raw_paths[index]).astype(np.float64)
        target = dataset[index]["target"].numpy().transpose(1, 2, 0).astype(np.float64)
        output = _classical_isp(mosaic, dataset.preset.black_level, dataset.preset.white_level)
        scores.append(_psnr_np(output, target))
    return float(np.mean(scores))


def _psnr_of(generator, dataset, input_scale=1.0, blank=False) -> float:
    scores = []
    with torch.no_grad():
        for index in range(len(dataset)):
            sample = dataset[index]
            raw = torch.zeros_like(sample["raw"]) if blank else sample["raw"] * input_scale
            output = generator(raw[None]).clamp(0.0, 1.0)
            scores.append(float(psnr(output, sample["target"][None])[0]))
    return float(np.mean(scores))


@pytest.fixture(scope="module")
def calibration_roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("calibration")
    fujifilm = make_synthetic_dataset(base / "fujifilm", "fujifilm", counts={"test": 4}, size=128, seed=0)
    zrr = make_synthetic_dataset(base / "zrr", "zrr", counts={"test": 4}, size=128, seed=0)
    return {"fujifilm": fujifilm, "zrr": zrr}


@pytest.mark.parametrize("layout, checkpoint", [("fujifilm", FUJIFILM_EFFICIENT), ("zrr", ZRR_EFFICIENT)])
def test_published_efficient_isp_renders_synthetic_raw_close_to_target(calibration_roots, reference_checkpoints,
                                                                       layout, checkpoint):
    generator = load_generator(reference_checkpoints / checkpoint, "efficient_isp").eval()
    dataset = ISPDataset(calibration_roots[layout], layout, "test", input_kind="packed4")
    calibrated = _psnr_of(generator, dataset)
    assert calibrated > _classical_psnr(dataset) + MARGIN_OVER_CLASSICAL_DB
    # Far above garbage input, and above the same RAW two stops off in either direction (exposure matters).
    assert calibrated > _psnr_of(generator, dataset, blank=True) + 8.0
    assert calibrated > _psnr_of(generator, dataset, input_scale=0.25) + 3.0
    assert calibrated > _psnr_of(generator, dataset, input_scale=4.0) + 3.0


def test_raw_statistics_match_each_camera(calibration_roots):
    """Fujifilm RAW is bright (published nets need ~0.5 for mid grey), ZRR RAW dark; both 10-bit, black kept."""
    means = {}
    for layout, root in calibration_roots.items():
        raw = torch.stack([s["raw"] for s in ISPDataset(root, layout, "test")])
        means[layout] = raw.mean(dim=(0, 2, 3))  # packed order B, Gb, R, Gr
        assert float(raw.min()) > -0.1 and float(raw.max()) <= 1.01
    assert 0.3 < float(means["fujifilm"].mean()) < 0.7
    assert 0.02 < float(means["zrr"].mean()) < 0.12
    # Green is above blue in both (white balance gains > 1); the gains are one camera model per layout.
    for layout in means:
        assert float(means[layout][1]) > float(means[layout][0])
        assert min(INVERSE_ISP[layout].wb_gains) > 1.0


def test_published_demosaic_pretraining_follows_the_release_reference(calibration_roots, reference_checkpoints):
    """The authors' demosaic-pretrained generator was trained to reproduce their reference: it matches the
    default (raw counts / 65535, no highlight clip) far better than the white-level + clip variant on the bright
    Fujifilm RAW. Measured: 15.4 dB vs 10.2 dB mean; every image >= 4.7 dB closer."""
    generator = load_generator(reference_checkpoints / DEMOSAIC_PRETRAIN, "efficient_isp").eval()
    scores = {}
    for scaling in ("uint16", "white_level"):
        dataset = ISPDataset(calibration_roots["fujifilm"], "fujifilm", "test", reference="menon",
                             demosaic_kwargs={"scaling": scaling})
        with torch.no_grad():
            scores[scaling] = np.array([float(psnr(generator(s["raw"][None]).clamp(0.0, 1.0), s["reference"][None])[0])
                                        for s in (dataset[i] for i in range(len(dataset)))])
    assert np.all(scores["uint16"] > scores["white_level"] + 3.0)
