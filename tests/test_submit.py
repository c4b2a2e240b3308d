"""tools.submit: JPEG per .npy (clamp, x255, truncate, PIL quality 75), zip, bad files skipped; --gt scores the
files inside the zip."""
import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from tools import submit


def _checkpoint(tmp_path):
    from models import build_generator

    torch.manual_seed(0)
    model = build_generator("efficient_isp").eval()
    path = tmp_path / "G.pth"
    torch.save(model.state_dict(), path)
    return path, model


def _expected_uint8(model, packed):
    """Independent of tools.submit: the challenge's preprocessing and saving written out with numpy."""
    x = torch.from_numpy((packed.astype(np.float64) / 1023.0).transpose(2, 0, 1)[None].astype(np.float32))
    with torch.no_grad():
        out = model(x)[0].numpy().transpose(1, 2, 0).astype(np.float64)
    return np.floor(np.clip(out, 0, 1) * 255.0).astype(np.uint8)


def test_submit_writes_truncated_quality75_jpegs_and_zip(tmp_path):
    ckpt, model = _checkpoint(tmp_path)
    rng = np.random.default_rng(0)
    inputs = tmp_path / "raws"
    inputs.mkdir()
    arrays = {name: rng.integers(0, 1024, (12, 16, 4)).astype(np.uint16) for name in ("a_01", "b_02")}
    for name, array in arrays.items():
        np.save(inputs / f"{name}.npy", array)
    out = tmp_path / "sub"
    code = submit.main(["--checkpoint", str(ckpt), "--backbone", "efficient_isp", "--input", str(inputs),
                        "--output", str(out), "--device", "cpu"])
    assert code == 0
    for name, array in arrays.items():
        expected = _expected_uint8(model, array)
        written = (out / f"{name}.jpg").read_bytes()
        reference = io.BytesIO()
        Image.fromarray(expected).save(reference, format="JPEG", quality=75)
        assert written == reference.getvalue()  # same pixels, same PIL encoder at quality 75
        decoded = np.asarray(Image.open(io.BytesIO(written)), dtype=np.float64)
        assert decoded.shape == (24, 32, 3)
        assert np.abs(decoded - expected).mean() < 12  # JPEG tolerance on a noisy 24x32 image
    with zipfile.ZipFile(out.with_suffix(".zip")) as archive:
        assert sorted(archive.namelist()) == ["a_01.jpg", "b_02.jpg"]
        assert archive.read("a_01.jpg") == (out / "a_01.jpg").read_bytes()


def test_submit_quality_flag_and_bad_files_skipped(tmp_path, capsys):
    ckpt, model = _checkpoint(tmp_path)
    inputs = tmp_path / "raws"
    inputs.mkdir()
    good = np.full((8, 8, 4), 512, dtype=np.uint16)
    np.save(inputs / "good.npy", good)
    np.save(inputs / "wrong_shape.npy", np.zeros((8, 8, 3), dtype=np.uint16))
    np.save(inputs / "float.npy", np.full((8, 8, 4), np.nan, dtype=np.float32))  # any dtype reads; NaN does not
    (inputs / "truncated.npy").write_bytes((inputs / "good.npy").read_bytes()[:100])
    out = tmp_path / "sub"
    code = submit.main(["--checkpoint", str(ckpt), "--backbone", "efficient_isp", "--input", str(inputs),
                        "--output", str(out), "--quality", "90", "--zip", str(tmp_path / "s.zip")])
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["good.jpg"]
    err = capsys.readouterr().err
    for name in ("wrong_shape.npy", "float.npy", "truncated.npy"):
        assert name in err
    reference = io.BytesIO()
    Image.fromarray(_expected_uint8(model, good)).save(reference, format="JPEG", quality=90)
    assert (out / "good.jpg").read_bytes() == reference.getvalue()
    with zipfile.ZipFile(tmp_path / "s.zip") as archive:
        assert archive.namelist() == ["good.jpg"]


def test_missing_checkpoint_is_one_line_and_exit_2(tmp_path, capsys):
    inputs = tmp_path / "raws"
    inputs.mkdir()
    np.save(inputs / "x.npy", np.zeros((8, 8, 4), dtype=np.uint16))
    from cli import run_main
    code = run_main(submit.main, "python -m tools.submit",
                    ["--checkpoint", str(tmp_path / "missing.pth"), "--backbone", "efficient_isp",
                     "--input", str(inputs), "--output", str(tmp_path / "out")])
    assert code == 2 and "missing.pth" in capsys.readouterr().err


def _independent_scores(zip_path, gt_dir):
    """The challenge's metrics of each JPEG inside the zip, read back with zipfile and decoded by PIL:
    PSNR written out, SSIM (Gaussian 11x11, sigma 1.5) and CIEDE2000 by scikit-image."""
    from skimage.color import deltaE_ciede2000, rgb2lab
    from skimage.metrics import structural_similarity

    scores = {}
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            gt_path = gt_dir / name.replace(".jpg", ".png")
            if not gt_path.is_file():
                continue
            pred = np.asarray(Image.open(io.BytesIO(archive.read(name))).convert("RGB"), dtype=np.float64) / 255
            truth = np.asarray(Image.open(gt_path).convert("RGB"), dtype=np.float64) / 255
            psnr = 10 * np.log10(1.0 / np.mean((pred - truth) ** 2))
            ssim = structural_similarity(pred, truth, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                         data_range=1.0, channel_axis=2)
            delta_e = deltaE_ciede2000(rgb2lab(pred, illuminant="D65"), rgb2lab(truth, illuminant="D65")).mean()
            scores[name] = (psnr, ssim, delta_e)
    return scores


def _printed_scores(text):
    """file -> (psnr, ssim, delta_e2000) from tools.submit's table (4 decimals)."""
    rows = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and (parts[0].endswith(".jpg") or parts[0] == "mean"):
            rows[parts[0]] = tuple(float(p) for p in parts[1:])
    return rows


def _gt_images(folder, names, shape, seed=1):
    """Smooth random ground-truth PNGs (the JPEG scores then differ clearly between files)."""
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for name in names:
        coarse = rng.integers(0, 256, (shape[0] // 4, shape[1] // 4, 3), dtype=np.uint8)
        Image.fromarray(coarse).resize((shape[1], shape[0]), Image.BILINEAR).save(folder / f"{name}.png")


def test_submit_gt_scores_the_files_inside_the_zip(tmp_path, capsys):
    ckpt, _ = _checkpoint(tmp_path)
    rng = np.random.default_rng(2)
    inputs = tmp_path / "raws"
    inputs.mkdir()
    for name in ("a_01", "b_02", "c_03"):
        np.save(inputs / f"{name}.npy", rng.integers(0, 1024, (12, 16, 4)).astype(np.uint16))
    gt = tmp_path / "gt"
    _gt_images(gt, ["a_01", "b_02"], (24, 32))  # c_03 has no ground truth
    out = tmp_path / "sub"
    from cli import run_main
    code = run_main(submit.main, "python -m tools.submit",
                    ["--checkpoint", str(ckpt), "--backbone", "efficient_isp", "--input", str(inputs),
                     "--output", str(out), "--device", "cpu", "--gt", str(gt)])
    captured = capsys.readouterr()
    assert code == 1  # one file could not be scored; the others were
    missing = [line for line in captured.err.splitlines() if "c_03" in line]
    assert len(missing) == 1 and "ground truth" in missing[0] and str(gt) in missing[0]
    expected = _independent_scores(out.with_suffix(".zip"), gt)
    printed = _printed_scores(captured.out)
    assert sorted(expected) == ["a_01.jpg", "b_02.jpg"] and set(printed) == {"a_01.jpg", "b_02.jpg", "mean"}
    for name, values in expected.items():
        assert printed[name] == pytest.approx(values, abs=6e-5)
    assert printed["mean"] == pytest.approx(tuple(np.mean(list(expected.values()), axis=0)), abs=6e-5)

    # The zip alone (no checkpoint): the same scores; the zip's files are scored even when the folder changed.
    (out / "a_01.jpg").unlink()
    assert run_main(submit.main, "python -m tools.submit", ["--zip", str(out.with_suffix(".zip")),
                                                            "--gt", str(gt)]) == 1
    assert _printed_scores(capsys.readouterr().out) == printed


def test_submit_gt_wrong_size_and_bad_folders(tmp_path, capsys):
    from cli import run_main
    gt = tmp_path / "gt"
    _gt_images(gt, ["x", "y"], (24, 32))
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(gt / "y.png")  # ground truth of another size
    zip_path = tmp_path / "s.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name in ("x", "y"):
            buffer = io.BytesIO()
            Image.fromarray(np.full((24, 32, 3), 128, np.uint8)).save(buffer, format="JPEG", quality=75)
            archive.writestr(f"{name}.jpg", buffer.getvalue())
    assert run_main(submit.main, "python -m tools.submit", ["--zip", str(zip_path), "--gt", str(gt)]) == 1
    captured = capsys.readouterr()
    assert set(_printed_scores(captured.out)) == {"x.jpg", "mean"}
    assert "y.jpg" in captured.err and "16x16" in captured.err
    assert run_main(submit.main, "python -m tools.submit", ["--zip", str(zip_path), "--gt", str(tmp_path / "no")]) == 2
    assert "--gt is not a folder" in capsys.readouterr().err
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    assert run_main(submit.main, "python -m tools.submit", ["--zip", str(tmp_path / "bad.zip"), "--gt", str(gt)]) == 2
    assert "bad.zip" in capsys.readouterr().err
