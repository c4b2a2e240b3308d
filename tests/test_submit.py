"""tools.submit: JPEG per .npy (clamp, x255, truncate, PIL quality 75), zip, bad files skipped."""
import io
import zipfile

import numpy as np
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
