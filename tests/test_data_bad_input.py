"""Every bad-input case raises BadInputError naming the file and the problem; skip_bad drops and counts."""
import shutil

import cv2
import numpy as np
import pytest

from data import BadInputError, ISPDataset, check_dataset, read_raw, read_rgb


@pytest.fixture
def dataset_copy(tiny_fujifilm_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(tiny_fujifilm_root, root)
    return root


def _raw(root, stem, split="train"):
    return root / split / "mediatek_raw" / f"{stem}.png"


def _target(root, stem, split="train"):
    return root / split / "fujifilm" / f"{stem}.png"


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_truncated_png(dataset_copy):
    path = _raw(dataset_copy, 2)
    _truncate(path)
    with pytest.raises(BadInputError, match=r"2\.png.*(corrupt|truncated)"):
        read_raw(path)
    with pytest.raises(BadInputError, match=r"2\.png"):
        ISPDataset(dataset_copy, "fujifilm", "train")[2]


def test_corrupt_png_bytes(tmp_path):
    path = tmp_path / "junk.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    with pytest.raises(BadInputError, match="junk.png.*corrupt"):
        read_raw(path)
    with pytest.raises(BadInputError, match="junk.png.*corrupt"):
        read_rgb(path)


def test_8bit_raw(tmp_path):
    path = tmp_path / "eight.png"
    cv2.imwrite(str(path), np.full((8, 8), 100, dtype=np.uint8))
    with pytest.raises(BadInputError, match="eight.png.*8-bit"):
        read_raw(path)


def test_rgb_where_raw_expected(tmp_path):
    path = tmp_path / "colour.png"
    cv2.imwrite(str(path), np.zeros((8, 8, 3), dtype=np.uint16))
    with pytest.raises(BadInputError, match="colour.png.*3 channels"):
        read_raw(path)


def test_raw_where_rgb_expected(tmp_path):
    path = tmp_path / "mono.png"
    cv2.imwrite(str(path), np.zeros((8, 8), dtype=np.uint16))
    with pytest.raises(BadInputError, match="mono.png.*expected a 3-channel"):
        read_rgb(path)


def test_odd_size_raw(tmp_path):
    path = tmp_path / "odd.png"
    cv2.imwrite(str(path), np.zeros((7, 8), dtype=np.uint16))
    with pytest.raises(BadInputError, match="odd.png.*odd size 7x8"):
        read_raw(path)


def test_mismatched_target_size(dataset_copy):
    cv2.imwrite(str(_target(dataset_copy, 3)), np.zeros((64, 48, 3), dtype=np.uint8))
    dataset = ISPDataset(dataset_copy, "fujifilm", "train")
    with pytest.raises(BadInputError, match=r"3\.png.*64x48 does not match RAW size 64x64"):
        dataset[3]


def test_missing_and_empty_folders(dataset_copy, tmp_path):
    with pytest.raises(BadInputError, match="dataset root folder is missing"):
        ISPDataset(tmp_path / "nowhere", "fujifilm", "train")
    shutil.rmtree(dataset_copy / "val" / "fujifilm")
    with pytest.raises(BadInputError, match=r"val[/\\]fujifilm: folder is missing"):
        ISPDataset(dataset_copy, "fujifilm", "val")
    for path in (dataset_copy / "test" / "mediatek_raw").iterdir():
        path.unlink()
    with pytest.raises(BadInputError, match=r"test[/\\]mediatek_raw: folder has no \.png files"):
        ISPDataset(dataset_copy, "fujifilm", "test")


def test_missing_pairs_in_paired_mode(dataset_copy):
    _target(dataset_copy, 4).unlink()
    _raw(dataset_copy, 1).unlink()
    with pytest.raises(BadInputError, match=r"missing pair: .*4\.png: RAW has no target .*and 1 more"):
        ISPDataset(dataset_copy, "fujifilm", "train")
    unpaired = ISPDataset(dataset_copy, "fujifilm", "train", paired=False)  # unpaired needs no pairs
    assert len(unpaired) == 5


def test_skip_bad_drops_and_counts(dataset_copy):
    _truncate(_raw(dataset_copy, 0))
    cv2.imwrite(str(_raw(dataset_copy, 1)), np.zeros((64, 64), dtype=np.uint8))  # 8-bit RAW
    cv2.imwrite(str(_target(dataset_copy, 2)), np.zeros((30, 64, 3), dtype=np.uint8))  # mismatched size
    _target(dataset_copy, 5).unlink()  # missing pair
    with pytest.warns(UserWarning, match="skipped 4 bad file"):
        dataset = ISPDataset(dataset_copy, "fujifilm", "train", skip_bad=True)
    assert dataset.skipped == 4 and dataset.names == ["3", "4"]
    assert dataset[0]["raw"].shape == (4, 32, 32)


def test_check_dataset_lists_every_problem(dataset_copy):
    _truncate(_raw(dataset_copy, 0))
    cv2.imwrite(str(_raw(dataset_copy, 1)), np.zeros((64, 64, 3), dtype=np.uint16))
    cv2.imwrite(str(_raw(dataset_copy, 2, "val")), np.zeros((62, 63), dtype=np.uint16))
    cv2.imwrite(str(_target(dataset_copy, 3)), np.zeros((64, 48, 3), dtype=np.uint8))
    _target(dataset_copy, 1, "test").unlink()
    shutil.rmtree(dataset_copy / "val" / "fujifilm")
    problems = check_dataset(dataset_copy, "fujifilm")
    text = "\n".join(problems)
    assert len(problems) == 6, text
    assert "0.png: cannot decode" in text and "1.png: has 3 channels" in text
    assert "odd size 62x63" in text and "64x48 does not match" in text
    assert "1.png: RAW has no target" in text and "fujifilm: folder is missing" in text
    missing_root = dataset_copy / "nope"
    assert check_dataset(missing_root, "fujifilm") == [f"{missing_root}: dataset root folder is missing"]
