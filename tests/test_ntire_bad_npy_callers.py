"""Bad challenge .npy files in test_model.py, inference.py and tools.submit: each gets one named line (file, what
is wrong, the fix) and is skipped; every good file, whatever its numeric dtype, is still processed."""
import csv
import re

import numpy as np
import pytest
import torch
from PIL import Image

import inference
import test_model
from tools import submit

BAD = {  # file -> (content, what the line must say)
    "nan": (np.full((8, 8, 4), np.nan, dtype=np.float32), "NaN or inf value.*np.nan_to_num"),
    "inf": (np.full((8, 8, 4), -np.inf, dtype=np.float64), "NaN or inf value"),
    "three": (np.zeros((8, 8, 3), dtype=np.uint16), "has 3 channels.*expected 4"),
    "first": (np.zeros((4, 8, 8), dtype=np.uint16), "channels first.*np.moveaxis"),
    "flat": (np.zeros((16, 16), dtype=np.uint16), r"shape \(16, 16\).*re-export"),
}
GOOD = {"good": np.full((8, 8, 4), 512, dtype=np.uint16), "float": np.full((8, 8, 4), 300.5, dtype=np.float64)}


@pytest.fixture(scope="module")
def challenge(tmp_path_factory):
    from models import build_generator
    root = tmp_path_factory.mktemp("bad_npy")
    (root / "val" / "raws").mkdir(parents=True)
    (root / "val" / "gt").mkdir(parents=True)
    for name, (content, _) in BAD.items():
        np.save(root / "val" / "raws" / f"{name}.npy", content)
    for name, content in GOOD.items():
        np.save(root / "val" / "raws" / f"{name}.npy", content)
    for name in [*BAD, *GOOD]:
        Image.fromarray(np.full((16, 16, 3), 128, dtype=np.uint8)).save(root / "val" / "gt" / f"{name}.jpg")
    torch.manual_seed(0)
    torch.save(build_generator("efficient_isp").state_dict(), root / "G.pth")
    return root


def _one_line_each(err):
    for name, (_, message) in BAD.items():
        lines = [line for line in err.splitlines() if f"{name}.npy" in line]
        assert len(lines) == 1, (name, err)
        assert re.search(message, lines[0]), (name, lines[0])


def test_test_model_skips_each_bad_file(challenge, tmp_path, capsys):
    out = tmp_path / "out"
    code = test_model.main(["--checkpoint", str(challenge / "G.pth"), "--backbone", "efficient_isp", "--dataset",
                            "ntire2026", "--input", str(challenge / "val"), "--output", str(out), "--no-lpips"])
    assert code == 2
    _one_line_each(capsys.readouterr().err)
    assert sorted(p.name for p in out.glob("*.png")) == ["float.png", "good.png"]


def test_submit_skips_each_bad_file(challenge, tmp_path, capsys):
    out = tmp_path / "sub"
    code = submit.main(["--checkpoint", str(challenge / "G.pth"), "--backbone", "efficient_isp", "--input",
                        str(challenge / "val" / "raws"), "--output", str(out), "--zip", str(tmp_path / "s.zip")])
    assert code == 1
    _one_line_each(capsys.readouterr().err)
    assert sorted(p.name for p in out.glob("*.jpg")) == ["float.jpg", "good.jpg"]


def test_inference_skips_each_bad_file(challenge, tmp_path, capsys):
    code = inference.main(["--checkpoints", str(challenge / "G.pth"), "--backbone", "efficient_isp", "--dataset",
                           "ntire2026", "--data-root", str(challenge), "--split", "val", "--out", str(tmp_path),
                           "--no-lpips", "--quiet", "--metrics", "psnr"])
    assert code == 2
    _one_line_each(capsys.readouterr().err)
    with open(tmp_path / "G.csv", newline="") as handle:
        assert sorted(row["file"] for row in csv.DictReader(handle)) == ["float", "good", "mean"]
