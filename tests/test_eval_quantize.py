"""How outputs are quantised and scored (docs/method.md §7, §9), against numpy and PIL written out here.

test_model.py saves uint8(clip(x, 0, 1) * 255) (truncation, in float32 as the release's numpy did) and
scores that PNG / 255; validation sweeps score the clamped float output unless asked for 8-bit; jpeg75 scores
the NTIRE submission: those levels saved by PIL as JPEG quality 75, decoded.
"""
import csv
import io
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

import evaluation
import inference
import process_set
import test_model
from tools import best

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


def pil_jpeg75_round_trip(levels: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> the levels of its PIL quality-75 JPEG, decoded by PIL (what the challenge scores)."""
    buffer = io.BytesIO()
    Image.fromarray(levels).save(buffer, format="JPEG", quality=75)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def smooth_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """(3, H, W) float32 output with smooth gradients, fine texture and values outside [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([xx, yy, 0.5 + 0.5 * np.sin(6 * xx + 4 * yy)])
    return (base * 1.2 - 0.1 + 0.05 * rng.standard_normal(base.shape)).astype(np.float32)


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


@pytest.mark.parametrize("mode", ["png8", "truncate", "round"])
def test_model_saves_and_scores_8bit_levels(tmp_path, tiny_fujifilm_root, monkeypatch, mode):
    image = known_values(64, 64)
    fake = (Path("fixed.pth"), "efficient_isp", FixedOutput(image), {"input_kind": "packed4", "output_scale": 2})
    monkeypatch.setattr(test_model, "resolve_model", lambda args: fake)
    out = tmp_path / mode
    argv = ["--checkpoint", "fixed.pth", "--dataset", "fujifilm", "--input", str(tiny_fujifilm_root / "test"),
            "--output", str(out), "--no-lpips"] + ([] if mode == "png8" else ["--quantize", mode])
    with pytest.warns(UserWarning, match="MS-SSIM"):
        assert test_model.main(argv) == 0
    expected = (numpy_round if mode == "round" else numpy_truncate)(image).transpose(1, 2, 0)
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


@pytest.mark.parametrize("mode", ["none", "png8", "truncate", "round", "jpeg75"])
def test_sweep_scores_clamped_float_by_default(mode):
    image = known_values(32, 32)
    data, targets = _eval_data(image)
    kwargs = {} if mode == "none" else {"quantize": mode}
    rows = evaluation.evaluate_model(FixedOutput(image), data, metrics=["psnr"], **kwargs)
    levels = numpy_truncate(image)
    scored = {"none": np.clip(image, 0, 1), "png8": levels / 255.0, "truncate": levels / 255.0,
              "round": numpy_round(image) / 255.0,
              "jpeg75": pil_jpeg75_round_trip(levels.transpose(1, 2, 0)).transpose(2, 0, 1) / 255.0}[mode]
    for row, target in zip(rows, targets):
        assert row["psnr"] == pytest.approx(numpy_psnr(scored, target), abs=1e-6)


def test_jpeg75_scores_equal_a_pil_round_trip():
    """PSNR, SSIM and CIEDE2000 of jpeg75 are those of the decoded PIL quality-75 JPEG of the truncated levels."""
    from skimage.color import deltaE_ciede2000, rgb2lab
    from skimage.metrics import structural_similarity

    image = smooth_image(48, 64)
    data, targets = _eval_data(image, seed=3)
    rows = evaluation.evaluate_model(FixedOutput(image), data, quantize="jpeg75",
                                     metrics=["psnr", "ssim", "delta_e2000"])
    png8 = evaluation.evaluate_model(FixedOutput(image), data, quantize="png8", metrics=["psnr"])
    decoded = pil_jpeg75_round_trip(numpy_truncate(image).transpose(1, 2, 0)) / 255.0  # (H, W, 3)
    assert np.abs(decoded - numpy_truncate(image).transpose(1, 2, 0) / 255.0).max() > 2 / 255  # JPEG is lossy
    for row, row_png8, target in zip(rows, png8, targets):
        target_hwc = target.transpose(1, 2, 0)
        mse = np.mean((decoded - target_hwc) ** 2)
        assert row["psnr"] == pytest.approx(10.0 * np.log10(1.0 / mse), abs=1e-6)
        assert row["psnr"] != pytest.approx(row_png8["psnr"], abs=1e-4)
        ssim = structural_similarity(decoded, target_hwc, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=1.0, channel_axis=2)
        assert row["ssim"] == pytest.approx(ssim, abs=1e-7)
        delta_e = deltaE_ciede2000(rgb2lab(decoded, illuminant="D65"), rgb2lab(target_hwc, illuminant="D65")).mean()
        assert row["delta_e2000"] == pytest.approx(delta_e, abs=1e-6)  # float32 levels / 255


def test_model_jpeg75_saves_the_submission_jpeg_and_scores_it(tmp_path, tiny_fujifilm_root, monkeypatch):
    image = smooth_image(64, 64, seed=1)
    fake = (Path("fixed.pth"), "efficient_isp", FixedOutput(image), {"input_kind": "packed4", "output_scale": 2})
    monkeypatch.setattr(test_model, "resolve_model", lambda args: fake)
    out = tmp_path / "jpeg"
    with pytest.warns(UserWarning, match="MS-SSIM"):
        assert test_model.main(["--checkpoint", "fixed.pth", "--dataset", "fujifilm", "--no-lpips", "--input",
                                str(tiny_fujifilm_root / "test"), "--output", str(out), "--quantize", "jpeg75"]) == 0
    levels = numpy_truncate(image).transpose(1, 2, 0)
    expected_bytes = io.BytesIO()
    Image.fromarray(levels).save(expected_bytes, format="JPEG", quality=75)
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(rows) == 4 and not list(out.glob("*.png"))
    for row in rows[:-1]:
        assert (out / f"{row['file']}.jpg").read_bytes() == expected_bytes.getvalue()
        ref = _read_png(tiny_fujifilm_root / "test" / "fujifilm" / f"{row['file']}.png") / 255.0
        assert float(row["psnr"]) == pytest.approx(numpy_psnr(pil_jpeg75_round_trip(levels) / 255.0, ref), abs=1e-6)


def test_process_set_passes_quantize_to_workers(tmp_path):
    parser = process_set.build_parser()
    default = process_set.plan_workers(parser.parse_args(["--n", "20", "--step", "10", "--run", str(tmp_path),
                                                          "--device", "cpu"]), [])
    assert all("--quantize" not in w.argv for w in default)  # inference.py's own default: float
    for mode in ("truncate", "png8", "jpeg75"):
        chosen = process_set.plan_workers(parser.parse_args(["--n", "20", "--step", "10", "--run", str(tmp_path),
                                                             "--device", "cpu", "--quantize", mode]), [])
        assert all(w.argv[w.argv.index("--quantize") + 1] == mode for w in chosen)
        assert inference.build_parser().parse_args(chosen[0].argv[2:]).quantize == mode  # the worker accepts it


def _sweep_csv(folder: Path, step: int, quantize: str, psnr_value: float) -> Path:
    """A checkpoint CSV as inference.py writes it (per-image row, then the mean row)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"G_step_{step}.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "step", "psnr", "checkpoint", "quantize"])
        writer.writerow(["0", step, psnr_value, f"ck{step}.pth", quantize])
        writer.writerow(["mean", step, psnr_value, f"ck{step}.pth", quantize])
    return path


def test_selection_by_jpeg_score(tmp_path, capsys):
    """Float and JPEG sweeps rank differently; --quantize jpeg75 picks the best submitted-JPEG score."""
    floats, jpegs = tmp_path / "eval_val", tmp_path / "eval_val_jpeg75"
    for step, float_psnr, jpeg_psnr in ((10, 25.0, 21.0), (20, 24.0, 23.5), (30, 23.0, 22.0)):
        _sweep_csv(floats, step, "none", float_psnr)
        _sweep_csv(jpegs, step, "jpeg75", jpeg_psnr)
    _sweep_csv(tmp_path / "old", 40, "truncate", 22.2)  # a CSV from before png8 had its name
    assert best.main([str(floats), str(jpegs), "--no-plot", "--quantize", "jpeg75", "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "best by psnr (scored as quantize=jpeg75): step 20" in out
    assert best.main([str(floats), str(jpegs), "--no-plot", "--top", "1"]) == 0
    assert "different --quantize modes" in capsys.readouterr().out
    assert best.main([str(floats), str(tmp_path / "old"), "--no-plot", "--quantize", "png8"]) == 0
    assert "quantize=png8): step 40" in capsys.readouterr().out
    from cli import run_main
    assert run_main(best.main, "tools.best", [str(floats), "--no-plot", "--quantize", "round"]) == 2
    assert "--quantize round" in capsys.readouterr().err
    inference.print_sweep_summary([jpegs / "G_step_10.csv"], {}, "jpeg75")  # the end of a jpeg75 sweep
    assert "quantize=jpeg75): step 20" in capsys.readouterr().out
