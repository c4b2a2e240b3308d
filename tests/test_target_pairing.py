"""target_pairing: which unpaired target each RAW gets for the whole run (shuffled = release, index = NTIRE 2026
baseline, or an explicit {raw stem: target stem} mapping)."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data import BadInputError, ISPDataset

RAW_STEMS = ["b", "a", "10", "2"]
TARGET_STEMS = ["z", "w", "y", "x", "v"]


def _make_root(root, target_stems):
    (root / "train" / "raws").mkdir(parents=True)
    (root / "train" / "jpegs").mkdir(parents=True)
    for value, stem in enumerate(RAW_STEMS):
        np.save(root / "train" / "raws" / f"{stem}.npy", np.full((4, 4, 4), 100 + value, dtype=np.uint16))
    for value, stem in enumerate(target_stems):
        Image.fromarray(np.full((8, 8, 3), 40 * value, dtype=np.uint8)).save(root / "train" / "jpegs" / f"{stem}.jpg")
    return root


@pytest.fixture(scope="module")
def unpaired_root(tmp_path_factory):
    return _make_root(tmp_path_factory.mktemp("pairing"), TARGET_STEMS)


def _dataset(root, **kwargs):
    return ISPDataset(root, preset="ntire2026", split="train", paired=False, **kwargs)


def test_index_pairs_name_sorted_lists(unpaired_root):
    dataset = _dataset(unpaired_root, target_pairing="index")
    # Sorted by file name as text: 10.npy, 2.npy, a.npy, b.npy and v.jpg, w.jpg, x.jpg, y.jpg, z.jpg.
    assert dataset.target_assignment == {"10": "v", "2": "w", "a": "x", "b": "y"}
    for name, target in zip(dataset.names, dataset.target_paths):
        assert target.name == {"10": "v", "2": "w", "a": "x", "b": "y"}[name] + ".jpg"
    assert _dataset(unpaired_root, target_pairing="index", seed=7).target_assignment == dataset.target_assignment


def test_index_repeats_targets_cyclically_when_fewer(tmp_path):
    dataset = _dataset(_make_root(tmp_path, ["x", "v"]), target_pairing="index")
    # Targets v, x (sorted), RAWs 10, 2, a, b -> v, x, v, x.
    assert dataset.target_assignment == {"10": "v", "2": "x", "a": "v", "b": "x"}


def test_shuffled_is_the_seeded_permutation_of_the_pool(unpaired_root):
    dataset = _dataset(unpaired_root, seed=3)  # default: shuffled
    # Pool and RAWs in the dataset's stem order (numeric stems first, numerically, then text).
    raws, pool = ["2", "10", "a", "b"], ["v", "w", "x", "y", "z"]
    order = np.random.default_rng(3).permutation(len(pool))
    expected = {stem: pool[order[i % len(pool)]] for i, stem in enumerate(raws)}
    assert dataset.names == raws
    assert dataset.target_assignment == expected
    assert [p.stem for p in dataset.target_paths] == [expected[s] for s in raws]


def test_explicit_mapping_is_the_hook_for_other_rules(unpaired_root):
    mapping = {"a": "z", "b": "z", "2": "v", "10": "w"}
    dataset = _dataset(unpaired_root, target_pairing=mapping)
    assert dataset.target_assignment == mapping
    sample = dataset[dataset.names.index("b")]
    expected = np.asarray(Image.open(unpaired_root / "train" / "jpegs" / "z.jpg").convert("RGB"), np.float32) / 255
    assert np.abs(sample["target"].numpy().transpose(1, 2, 0) - expected).max() < 1e-6


@pytest.mark.parametrize("pairing, message", [
    ({"a": "z", "b": "z", "2": "v"}, "10.npy: no target assigned"),
    ({"a": "z", "b": "z", "2": "v", "10": "nope"}, "'nope', which is not in the target pool"),
    ("random", "unknown target_pairing 'random'"),
])
def test_bad_pairings_name_the_problem(unpaired_root, pairing, message):
    with pytest.raises(BadInputError, match=message):
        _dataset(unpaired_root, target_pairing=pairing)


def test_fit_passes_the_config_key(unpaired_root):
    import fit

    config = Path(__file__).resolve().parents[1] / "config.py"
    cfg = fit.load_config(config, [f"data_root={unpaired_root}", "dataset=ntire2026", "target_pairing=index",
                                   "cache_dir="])
    assert cfg["target_pairing"] == "index"
    dataset = fit.make_dataset("unpaired", cfg, "packed4")
    assert dataset.target_assignment == {"10": "v", "2": "w", "a": "x", "b": "y"}
    assert fit.load_config(config)["target_pairing"] == "shuffled"  # the release's default
