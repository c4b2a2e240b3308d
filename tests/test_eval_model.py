"""test_model.py with a published checkpoint on the synthetic test split (tiling: tests/test_tiling.py)."""
import csv

import numpy as np
import pytest
import torch

import test_model
from data import read_rgb
from evaluation import psnr, ssim_tf

PUBLISHED_FILE = "Efficient_ISP_unpaired_step_27220.pth"


def test_published_checkpoint_on_synthetic_test_split(tmp_path, tiny_fujifilm_root, checkpoint_cache, capsys):
    checkpoint = next(checkpoint_cache.rglob(PUBLISHED_FILE))  # the authors' file or a generated stand-in
    out = tmp_path / "out"
    raw_dir, ref_dir = tiny_fujifilm_root / "test" / "mediatek_raw", tiny_fujifilm_root / "test" / "fujifilm"
    assert test_model.main(["--checkpoint", str(checkpoint), "--backbone", "efficient_isp", "--dataset",
                            "fujifilm", "--input", str(raw_dir), "--output", str(out),
                            "--reference", str(ref_dir), "--no-lpips", "--runtime", "torch"]) == 0
    # (--runtime torch: the PNGs are compared bit-exactly with PyTorch below; the fused kernel's output
    # is within 1e-4, which can move a pixel sitting on an 8-bit rounding boundary by one level)
    stems = sorted(p.stem for p in raw_dir.glob("*.png"))
    assert sorted(p.stem for p in out.glob("*.png")) == stems
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [r["file"] for r in rows] == stems + ["mean"]
    for row in rows[:-1]:
        # Independent check: score the written 8-bit PNG against the reference image.
        pred = torch.from_numpy(read_rgb(out / f"{row['file']}.png").transpose(2, 0, 1))[None].double()
        ref = torch.from_numpy(read_rgb(ref_dir / f"{row['file']}.png").transpose(2, 0, 1))[None].double()
        assert float(row["psnr"]) == pytest.approx(psnr(pred, ref).item(), abs=1e-4)
        assert float(row["ssim"]) == pytest.approx(ssim_tf(pred, ref).item(), abs=1e-5)
        assert float(row["latency_ms"]) > 0
    assert float(rows[-1]["psnr"]) == pytest.approx(np.mean([float(r["psnr"]) for r in rows[:-1]]))
    # The written PNG is the forward pass on the dataset's own preprocessing, truncated to 8 bits
    # as the release saved it: uint8(clip(x, 0, 1) * 255) in numpy float32.
    from data import ISPDataset
    from models import load_generator
    sample = ISPDataset(tiny_fujifilm_root, "fujifilm", "test")[0]
    with torch.no_grad():
        output = load_generator(checkpoint, "efficient_isp")(sample["raw"][None])[0].numpy()
    direct = (np.clip(output, 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)
    written = np.rint(read_rgb(out / f"{sample['name']}.png").transpose(2, 0, 1) * 255.0).astype(np.uint8)
    np.testing.assert_array_equal(written, direct)
    assert "latency" in capsys.readouterr().out


def test_registry_name_and_split_folder_input(tmp_path, tiny_fujifilm_root, generated_checkpoints, monkeypatch):
    monkeypatch.setenv("ISP_CHECKPOINTS", str(generated_checkpoints))
    out = tmp_path / "named"
    assert test_model.main(["--checkpoint", "fujifilm_efficient_isp_unpaired", "--dataset", "fujifilm",
                            "--input", str(tiny_fujifilm_root / "test"), "--output", str(out),
                            "--no-lpips"]) == 0
    assert len(list(out.glob("*.png"))) == 3
    assert (out / "metrics.csv").is_file()  # references found beside the RAW folder

