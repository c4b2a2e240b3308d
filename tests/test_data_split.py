"""Split lists (reproducible val/test hold-out) and the tools.data command line."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data import BadInputError, ISPDataset, make_split, read_index_list, write_split_lists

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_make_split_is_reproducible_disjoint_and_complete():
    stems = [str(i) for i in range(50)]
    split = make_split(stems, n_val=10, n_test=7, seed=1, exclude=["3", "4"])
    assert len(split["val"]) == 10 and len(split["test"]) == 7 and len(split["train"]) == 31
    union = set(split["val"]) | set(split["test"]) | set(split["train"])
    assert union == set(stems) - {"3", "4"}
    assert not set(split["val"]) & set(split["test"])
    assert make_split(list(reversed(stems)), 10, 7, seed=1, exclude=["3", "4"]) == split  # input order is irrelevant
    assert make_split(stems, 10, 7, seed=2, exclude=["3", "4"])["val"] != split["val"]
    assert split["val"] == sorted(split["val"], key=int)


def test_too_many_held_out_is_an_error():
    with pytest.raises(BadInputError, match="cannot hold out 1024 val \\+ 1024 test from 5"):
        make_split(["0", "1", "2", "3", "4"])


def test_lists_round_trip_into_the_dataset(tiny_fujifilm_root, tmp_path):
    split = make_split([str(i) for i in range(6)], n_val=2, n_test=1, seed=0)
    paths = write_split_lists(tmp_path / "lists", split)
    assert read_index_list(paths["val"]) == split["val"]
    dataset = ISPDataset(tiny_fujifilm_root, "fujifilm", "train", indices=read_index_list(paths["val"]))
    assert dataset.names == split["val"]


def _cli(*args, cwd=REPO_ROOT):
    return subprocess.run([sys.executable, "-m", "tools.data", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_cli_help_for_every_command():
    for command in ([], ["synth"], ["prepare"], ["check"], ["split"]):
        result = _cli(*command, "--help")
        assert result.returncode == 0 and "usage" in result.stdout


def test_cli_check_split_and_prepare(tiny_fujifilm_root, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(tiny_fujifilm_root, root)
    result = _cli("split", "--root", str(root), "--n-val", "2", "--n-test", "2", "--seed", "4")
    assert result.returncode == 0, result.stderr
    expected = make_split([str(i) for i in range(6)], 2, 2, seed=4)
    assert read_index_list(root / "splits" / "test.txt") == expected["test"]
    assert (root / "splits" / "train.txt").read_text().startswith("# train: stems of ")  # the index-list format
    train = ISPDataset(root, "fujifilm", "train", paired=False, indices=root / "splits" / "train.txt")
    assert train.names == expected["train"]
    assert sorted(p.stem for p in train.target_paths) == sorted(expected["train"])  # held-out targets left out

    cache = tmp_path / "cache"
    result = _cli("prepare", "--root", str(root), "--split", "val", "--method", "opencv", "--cache-dir", str(cache),
                  "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert len(list(cache.rglob("*.npy"))) == 3
    # The dataset finds exactly what prepare stored (same key): the cached arrays are what it returns.
    dataset = ISPDataset(root, "fujifilm", "val", reference="opencv", cache_dir=cache)
    entry_arrays = sorted(np.load(p).sum() for p in cache.rglob("*.npy"))
    dataset_arrays = sorted(float(dataset[i]["reference"].sum()) for i in range(3))
    np.testing.assert_allclose(dataset_arrays, entry_arrays, rtol=1e-5)
    assert len(list(cache.rglob("*.npy"))) == 3  # no new entries: every item was a hit
    (tmp_path / "bad.txt").write_text("0\n9  # not in val\n")
    result = _cli("prepare", "--root", str(root), "--split", "val", "--indices", str(tmp_path / "bad.txt"),
                  "--cache-dir", str(cache), "--workers", "1")
    assert result.returncode == 2 and "bad.txt, line 2: stem '9' has no file in" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    assert _cli("check", "--root", str(root)).stdout.strip().endswith("OK")
    (root / "val" / "fujifilm" / "1.png").unlink()
    result = _cli("check", "--root", str(root))
    assert result.returncode == 1 and "1.png: RAW has no target" in result.stdout
