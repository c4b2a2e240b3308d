"""How outputs are quantised and scored (docs/method.md §7), against numpy written out here.

test_model.py saves uint8(clip(x, 0, 1) * 255) (truncation, in float32 as the release's numpy did) and
scores that PNG / 255; validation sweeps score the clamped float output unless asked for 8-bit.
"""
import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import evaluation
import process_set
import test_model

LEVELS = np.array([0, 1, 7, 100, 128, 200, 254], dtype=np.float64)


def known_values(height: int, width: int) -> np.ndarray:
    """(3, H, W) float32 output holding values just inside and just below 8-bit level boundaries."""
    values = np.concatenate([
        (LEVELS + 0.999) / 255.0,         # just below the next level: truncates to k, rounds to k + 1
        LEVELS / 255.0 - 1e-4,            # just below level k: truncates to k - 1, rounds to k
        (LEVELS + 0.4) / 255.0,           # rounds down as well
        (LEVELS + 0.6) / 255.0,           # rounds up, truncates down
        [-0.3, -1e-6, 0.0, 1.0, 1.0 + 1e-6, 1.7, 0.5],  # outside [0, 1] and the ends
    ]).astype(np.float32)
    tiled = np.resize(values, 3 * height * width)  # repeats the pattern over the whole image
    return tiled.reshape(3, height, width).astype(np.float32)


def numpy_truncate(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)


def numpy_round(x: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(x, 0.0, 1.0).astype(np.float64) * 255.0 + 0.5).astype(np.uint8)


def numpy_psnr(pred: np.ndarray, ref: np.ndarray) -> float:
    mse = np.mean((pred.astype(np.float64) - ref.astype(np.float64)) ** 2)
    return 20.0 * np.log10(1.0 / np.sqrt(mse))


class FixedOutput(torch.nn.Module):
    """A 'generator' whose output is a fixed image, upsampled 2x like the packed-input backbones."""

    def __init__(self, image: np.ndarray):
        super().__init__()
        self.register_buffer("image", torch.from_numpy(image))

    def forward(self, x):
        height, width = x.shape[-2] * 2, x.shape[-1] * 2
        return self.image[None, :, :height, :width].expand(x.shape[0], -1, -1, -1).to(x.dtype)


def test_known_values_truncate_and_round_by_hand():
    x = known_values(4, 20)
    below_next = (LEVELS + 0.999) / 255.0
    assert numpy_truncate(below_next.astype(np.float32)).tolist() == LEVELS.astype(int).tolist()
    assert numpy_round(below_next.astype(np.float32)).tolist() == (LEVELS + 1).astype(int).tolist()
    below_k = (LEVELS[1:] / 255.0 - 1e-4).astype(np.float32)
    assert numpy_truncate(below_k).tolist() == (LEVELS[1:] - 1).astype(int).tolist()
    assert numpy_truncate(np.array([-0.3, 1.7, 1.0], np.float32)).tolist() == [0, 255, 255]
    assert np.any(numpy_truncate(x) != numpy_round(x))  # the image tells the two modes apart


def _read_png(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("mode", ["truncate", "round"])
def test_model_saves_and_scores_8bit_levels(tmp_path, tiny_fujifilm_root, monkeypatch, mode):
    image = known_values(64, 64)
    fake = (Path("fixed.pth"), "efficient_isp", FixedOutput(image), {"input_kind": "packed4", "output_scale": 2})
    monkeypatch.setattr(test_model, "resolve_model", lambda args: fake)
    out = tmp_path / mode
    argv = ["--checkpoint", "fixed.pth", "--dataset", "fujifilm", "--input", str(tiny_fujifilm_root / "test"),
            "--output", str(out), "--no-lpips"] + ([] if mode == "truncate" else ["--quantize", "round"])
    with pytest.warns(UserWarning, match="MS-SSIM"):
        assert test_model.main(argv) == 0
    expected = (numpy_truncate if mode == "truncate" else numpy_round)(image).transpose(1, 2, 0)
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(rows) == 4
    for row in rows[:-1]:
        saved = _read_png(out / f"{row['file']}.png")
        assert saved.dtype == np.uint8
        np.testing.assert_array_equal(saved, expected)
        ref = _read_png(tiny_fujifilm_root / "test" / "fujifilm" / f"{row['file']}.png") / 255.0
        assert float(row["psnr"]) == pytest.approx(numpy_psnr(saved / 255.0, ref), abs=1e-6)


def test_model_quantize_none_scores_clamped_float(tmp_path, tiny_fujifilm_root, monkeypatch):
    image = known_values(64, 64)
    fake = (Path("fixed.pth"), "efficient_isp", FixedOutput(image), {"input_kind": "packed4", "output_scale": 2})
    monkeypatch.setattr(test_model, "resolve_model", lambda args: fake)
    out = tmp_path / "float"
    with pytest.warns(UserWarning, match="MS-SSIM"):
        assert test_model.main(["--checkpoint", "fixed.pth", "--dataset", "fujifilm", "--no-lpips", "--input",
                                str(tiny_fujifilm_root / "test"), "--output", str(out), "--quantize", "none"]) == 0
    row = next(csv.DictReader(open(out / "metrics.csv")))
    np.testing.assert_array_equal(_read_png(out / f"{row['file']}.png"), numpy_truncate(image).transpose(1, 2, 0))
    ref = _read_png(tiny_fujifilm_root / "test" / "fujifilm" / f"{row['file']}.png").transpose(2, 0, 1) / 255.0
    assert float(row["psnr"]) == pytest.approx(numpy_psnr(np.clip(image, 0, 1), ref), abs=1e-6)


def _eval_data(image: np.ndarray, seed: int = 0):
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, 256, size=(2, 3) + image.shape[1:], dtype=np.uint8)
    inputs = torch.zeros(2, 4, image.shape[1] // 2, image.shape[2] // 2)
    return evaluation.EvalData([inputs], [torch.from_numpy(targets)], ["a", "b"], 0.0), targets / 255.0


@pytest.mark.parametrize("mode", ["none", "truncate", "round"])
def test_sweep_scores_clamped_float_by_default(mode):
    image = known_values(32, 32)
    data, targets = _eval_data(image)
    kwargs = {} if mode == "none" else {"quantize": mode}
    rows = evaluation.evaluate_model(FixedOutput(image), data, metrics=["psnr"], **kwargs)
    scored = {"none": np.clip(image, 0, 1), "truncate": numpy_truncate(image) / 255.0,
              "round": numpy_round(image) / 255.0}[mode]
    for row, target in zip(rows, targets):
        assert row["psnr"] == pytest.approx(numpy_psnr(scored, target), abs=1e-6)


def test_process_set_passes_quantize_to_workers(tmp_path):
    parser = process_set.build_parser()
    default = process_set.plan_workers(parser.parse_args(["--n", "20", "--step", "10", "--run", str(tmp_path),
                                                          "--device", "cpu"]), [])
    assert all("--quantize" not in w.argv for w in default)  # inference.py's own default: float
    chosen = process_set.plan_workers(parser.parse_args(["--n", "20", "--step", "10", "--run", str(tmp_path),
                                                         "--device", "cpu", "--quantize", "truncate"]), [])
    assert all(w.argv[w.argv.index("--quantize") + 1] == "truncate" for w in chosen)
