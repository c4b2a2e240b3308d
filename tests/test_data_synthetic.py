"""The embedded synthetic dataset: real layouts, determinism, disjoint splits, RAW statistics."""
import json

import numpy as np
import pytest

from data import (
    BadInputError,
    check_dataset,
    demosaic_reference,
    make_synthetic_dataset,
    pack_bayer,
    read_raw,
    read_rgb,
)


def _file_bytes(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(tmp_path):
    counts = {"train": 2, "val": 1, "test": 1}
    a = make_synthetic_dataset(tmp_path / "a", "fujifilm", counts=counts, size=32, seed=3)
    b = make_synthetic_dataset(tmp_path / "b", "fujifilm", counts=counts, size=32, seed=3)
    c = make_synthetic_dataset(tmp_path / "c", "fujifilm", counts=counts, size=32, seed=4)
    files_a, files_b, files_c = _file_bytes(a), _file_bytes(b), _file_bytes(c)
    assert len(files_a) == 2 * 4 + 1 and files_a == files_b
    assert files_a["train/mediatek_raw/0.png"] != files_c["train/mediatek_raw/0.png"]
    # Regenerating in place with fewer images leaves no stale files behind.
    make_synthetic_dataset(a, "fujifilm", counts={"train": 1}, size=32, seed=3)
    assert sorted(p.name for p in (a / "train" / "mediatek_raw").iterdir()) == ["0.png"]
    assert not (a / "val" / "mediatek_raw").exists()


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
    real = tmp_path / "real"
    (real / "train" / "mediatek_raw").mkdir(parents=True)
    (real / "train" / "mediatek_raw" / "0.png").write_bytes(b"precious")
    with pytest.raises(BadInputError, match="refusing to overwrite"):
        make_synthetic_dataset(real, "fujifilm", counts={"train": 1}, size=32)
    assert (real / "train" / "mediatek_raw" / "0.png").read_bytes() == b"precious"


def test_fujifilm_layout(tiny_fujifilm_root):
    for split, count in (("train", 6), ("val", 3), ("test", 3)):
        raws = sorted((tiny_fujifilm_root / split / "mediatek_raw").glob("*.png"))
        targets = sorted((tiny_fujifilm_root / split / "fujifilm").glob("*.png"))
        assert [p.stem for p in raws] == [p.stem for p in targets] == [str(i) for i in range(count)]
    raw = read_raw(tiny_fujifilm_root / "train" / "mediatek_raw" / "0.png")
    target = read_rgb(tiny_fujifilm_root / "train" / "fujifilm" / "0.png")
    assert raw.dtype == np.uint16 and raw.shape == (64, 64) and target.shape == (64, 64, 3)
    assert check_dataset(tiny_fujifilm_root, "fujifilm") == []


def test_zrr_layout(tiny_zrr_root):
    assert sorted(p.name for p in tiny_zrr_root.iterdir() if p.is_dir()) == ["test", "train"]
    raw = read_raw(tiny_zrr_root / "train" / "huawei_raw" / "5.png")
    target = read_rgb(tiny_zrr_root / "train" / "canon" / "5.jpg")
    assert raw.shape == (64, 64) and target.shape == (64, 64, 3)  # same pixel size, as ZRR's 448x448 pairs
    assert check_dataset(tiny_zrr_root, "zrr") == []


def test_raw_statistics_are_10_bit_with_black_levels(tiny_fujifilm_root):
    raws = [read_raw(p) for p in sorted((tiny_fujifilm_root / "train" / "mediatek_raw").glob("*.png"))]
    stack = np.stack([pack_bayer(r) for r in raws]).astype(np.float64)
    assert stack.max() <= 1023
    # The darkest values sit around each channel's black level (62, 60, 58, 61), minus read noise.
    lows = np.percentile(stack, 0.5, axis=(0, 2, 3))
    assert np.all(lows > 40) and np.all(lows < 200)
    assert float(stack.std()) > 10  # real image content, not a flat field


def test_splits_share_no_photo_region(tiny_fujifilm_root):
    manifest = json.loads((tiny_fujifilm_root / "synthetic.json").read_text())
    assert set(manifest["bands"]) == {"train", "val", "test"}
    windows = {}
    for key, info in manifest["samples"].items():
        windows.setdefault(info["photo"], []).append((key.split("/")[0], info["window"]))
    for entries in windows.values():
        for split_a, (ya, xa, ha, wa) in entries:
            for split_b, (yb, xb, hb, wb) in entries:
                if split_a != split_b:
                    overlap = min(ya + ha, yb + hb) > max(ya, yb) and min(xa + wa, xb + wb) > max(xa, xb)
                    assert not overlap, (split_a, split_b)


def test_target_look_differs_from_plain_demosaic(tiny_fujifilm_root):
    raw = read_raw(tiny_fujifilm_root / "val" / "mediatek_raw" / "0.png")
    target = read_rgb(tiny_fujifilm_root / "val" / "fujifilm" / "0.png")
    reference = demosaic_reference(raw)
    assert np.abs(reference - target).mean() > 0.03
    # ...but it is the same scene: strongly correlated luminance.
    luma = lambda x: x @ np.array([0.299, 0.587, 0.114])
    assert np.corrcoef(luma(reference).ravel(), luma(target).ravel())[0, 1] > 0.7
