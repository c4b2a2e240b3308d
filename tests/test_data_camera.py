"""A user's own camera: real DNG containers (pidng) through rawpy, every Bayer phase, per-site black levels."""
import json
from pathlib import Path

import numpy as np
import pytest

from data import BadInputError, ISPDataset, get_preset, read_camera_raw
from data.synth.dng_writer import BAYER_CFA, write_dng
from wiring import load_input

LETTERS = {0: "R", 1: "G", 2: "B"}


def expected_packed(mosaic, cfa, black_sites, white):
    """Independent numpy: crop the R site to (0, 0) (first and last row/column), normalise per site, pack
    B, Gb, R, Gr = raw[1::2,1::2], raw[0::2,1::2], raw[0::2,0::2], raw[1::2,0::2]."""
    letters = np.array([LETTERS[c] for c in cfa]).reshape(2, 2)
    row, col = [int(v[0]) for v in np.nonzero(letters == "R")]
    height, width = mosaic.shape
    black = np.tile(np.asarray(black_sites, dtype=np.float64).reshape(2, 2), (height // 2, width // 2))
    normalised = (mosaic - black) / (white - black)
    normalised = normalised[row:height - row, col:width - col]
    return np.stack([normalised[1::2, 1::2], normalised[0::2, 1::2], normalised[0::2, 0::2], normalised[1::2, 0::2]])


@pytest.mark.parametrize("bits", [10, 12, 14])
@pytest.mark.parametrize("phase", sorted(BAYER_CFA))
def test_dng_packed_input_matches_numpy(tmp_path, phase, bits):
    white = 2 ** bits - 1
    rng = np.random.default_rng(bits)
    black_sites = [w * 2 ** (bits - 10) for w in (60, 61, 63, 66)]  # distinct per CFA site, row-major
    mosaic = rng.integers(0, white + 1, (36, 44)).astype(np.uint16)
    path = write_dng(tmp_path / f"{phase}_{bits}", mosaic, BAYER_CFA[phase], black_sites, white)
    got = load_input(Path(path), get_preset("camera"), "packed4")[0].numpy()
    expected = expected_packed(mosaic.astype(np.float64), BAYER_CFA[phase], black_sites, white)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-6
    camera = read_camera_raw(path)
    assert camera.pattern == "".join(LETTERS[c] for c in BAYER_CFA[phase]) and camera.white == white
    assert len(set(camera.black)) == 4  # rawpy gave back four distinct per-site black levels


def test_non_bayer_sensor_is_refused(tmp_path):
    xtrans = [1, 1, 0, 1, 1, 2, 1, 1, 2, 1, 1, 0, 2, 0, 1, 0, 2, 1,
              1, 1, 2, 1, 1, 0, 1, 1, 0, 1, 1, 2, 0, 2, 1, 2, 0, 1]
    mosaic = np.random.default_rng(0).integers(0, 4000, (48, 48)).astype(np.uint16)
    path = write_dng(tmp_path / "xtrans", mosaic, xtrans, [10, 10, 10, 10], 4095, repeat=(6, 6))
    with pytest.raises(BadInputError, match="xtrans.dng: not a Bayer sensor.*X-Trans"):
        read_camera_raw(path)


def test_corrupt_raw_names_the_file(tmp_path):
    bad = tmp_path / "broken.dng"
    bad.write_bytes(b"II*\x00garbage")
    with pytest.raises(BadInputError, match="broken.dng"):
        read_camera_raw(bad)


@pytest.fixture(scope="module")
def camera_root(tmp_path_factory):
    """An ingested camera dataset: two DNGs (GRBG 12-bit, BGGR 14-bit), three photos, one corrupt file."""
    from PIL import Image

    from tools import data as data_tool

    base = tmp_path_factory.mktemp("camera")
    raw_dir, photo_dir = base / "dng", base / "photos"
    raw_dir.mkdir()
    photo_dir.mkdir()
    rng = np.random.default_rng(5)
    sources = {}
    for name, phase, bits in (("a", "GRBG", 12), ("b", "BGGR", 14)):
        white = 2 ** bits - 1
        black = [64 * 2 ** (bits - 12) + i for i in range(4)]
        mosaic = rng.integers(black[0], white, (70, 86)).astype(np.uint16)
        write_dng(raw_dir / name, mosaic, BAYER_CFA[phase], black, white)
        sources[name] = (mosaic, phase, black, white)
    (raw_dir / "broken.dng").write_bytes(b"not a raw file")
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (80, 100, 3), dtype=np.uint8)).save(photo_dir / f"p{i}.jpg")
    root = base / "set"
    code = data_tool.main(["ingest", "--raw", str(raw_dir), "--photos", str(photo_dir), "--out", str(root),
                           "--patch", "32", "--workers", "2"])
    return root, sources, code


def test_ingest_writes_tiles_manifest_and_lists_bad_files(camera_root):
    root, sources, code = camera_root
    assert code == 1  # the corrupt file was skipped and reported
    manifest = json.loads((root / "manifest.json").read_text())
    assert any("broken.dng" in problem for problem in manifest["bad_files"])
    # 70x86 GRBG -> 70x84 RGGB and BGGR -> 68x84: 2x2 tiles of 32 each; photos 80x100 -> 2x3 tiles each
    assert len(manifest["raw_patches"]) == 8 and len(manifest["photo_patches"]) == 18
    entry = manifest["raw_patches"]["train/raw/a_32_0.png"]
    assert entry["offset"] == [32, 0] and entry["pattern"] == "GRBG" and entry["white"] == 4095
    assert entry["rggb_crop"] == [0, 1]  # GRBG: R at column 1
    assert len(list((root / "train" / "photos").glob("*.png"))) == 18


def test_camera_dataset_normalises_each_tile_with_its_levels(camera_root):
    root, sources, _ = camera_root
    dataset = ISPDataset(root, preset="camera", split="train", paired=False)
    for name, (mosaic, phase, black, white) in sources.items():
        index = dataset.names.index(f"{name}_32_32")
        packed = expected_packed(mosaic.astype(np.float64), BAYER_CFA[phase], black, white)
        tile = packed[:, 16:32, 16:32]  # mosaic offset (32, 32) = packed (16, 16), 32 px = 16 packed
        sample = dataset[index]
        assert np.abs(sample["raw"].numpy() - tile).max() < 1e-6
        assert tuple(sample["target"].shape) == (3, 32, 32)
    pretrain = ISPDataset(root, preset="camera", split="train", paired=True, require_targets=False,
                          reference="opencv")
    assert tuple(pretrain[0]["reference"].shape) == (3, 32, 32) and "target" not in pretrain[0]


def test_fit_trains_on_ingested_camera_set(camera_root, tmp_path):
    import fit

    root, _, _ = camera_root
    overrides = [f"data_root={root}", "dataset=camera", f"out_dir={tmp_path}", "run_name=cam",
                 "allow_random_backbones=True", "vit_model=vit_tiny_patch16_224", "batch_size=2", "num_workers=0",
                 "cache_dir=", "pretrain_steps=1", "max_steps=1", "save_every=1", "d_every=1", "sample_every=1",
                 "log_every=1", "demosaic=opencv"]
    assert fit.main(["--set", *overrides]) == 0
    assert (tmp_path / "cam" / "pretrain" / "checkpoints" / "G_step_1.pth").is_file()
    assert (tmp_path / "cam" / "unpaired" / "checkpoints" / "G_step_1.pth").is_file()
