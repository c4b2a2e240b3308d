"""Semantic pseudo-pairing (docs/pairing.md): OT matching against scipy, accuracy on known pairs, bad input,
pairing.csv reuse, and target_pairing=semantic training end to end (random backbones, weight-free embedder)."""
import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

import fit
import pairing
from cli import run_main
from data.synth.synthetic_pairs import make_pairing_set
from pairing import PairingError
from training.config_loader import load_config
from training.pairing_run import compute_pairing, contact_sheet_path, target_pairing_rule

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pair_root(tmp_path_factory) -> Path:
    """60 known pairs, 64 px, NTIRE layout; photos under shuffled names."""
    return make_pairing_set(tmp_path_factory.mktemp("pairs") / "set", 60, size=64, seed=0)


def pairing_cfg(root, tmp_path, **extra):
    overrides = dict(dataset="ntire2026", data_root=str(root), cache_dir="", pairing_cache_dir=str(tmp_path / "emb"),
                     pairing_matcher="emd", **extra)
    return load_config(REPO / "config.py", [f"{k}={v}" for k, v in overrides.items()])


def csv_rows(path) -> list:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# --- matching ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed, n, m", [(0, 40, 40), (1, 40, 40), (2, 25, 40)])
def test_exact_ot_agrees_with_linear_sum_assignment(seed, n, m):
    rng = np.random.default_rng(seed)
    raw, photo = rng.normal(size=(n, 16)), rng.normal(size=(m, 16))
    cost = pairing.cosine_cost(raw, photo)
    plan = pairing.transport_plan(cost, "emd")
    ours = pairing.ranked_matches(plan, cost)[:, 0]
    rows, cols = linear_sum_assignment(cost.astype(np.float64))  # rectangular when n < m
    assert len(set(ours.tolist())) == n  # one photo per RAW, none shared
    np.testing.assert_allclose(cost[np.arange(n), ours].sum(), cost[rows, cols].sum(), rtol=1e-5)
    assert (ours == cols).mean() > 0.95  # ties aside, the same assignment


def test_cosine_cost_is_one_minus_cosine_of_centred_rows():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    ac, bc = a - a.mean(0), b - b.mean(0)
    expected = 1 - (ac @ bc.T) / np.outer(np.linalg.norm(ac, axis=1), np.linalg.norm(bc, axis=1))
    np.testing.assert_allclose(pairing.cosine_cost(a, b), expected, atol=1e-5)


@pytest.mark.parametrize("method", ["emd", "sinkhorn", "fgw"])
def test_unequal_sets_each_raw_gets_its_photo(method):
    # 12 RAW, 30 photos: the first 12 photos are noisy copies of the RAW embeddings, the rest distractors.
    rng = np.random.default_rng(3)
    raw = rng.normal(size=(12, 32))
    photo = np.concatenate([raw + 0.2 * rng.normal(size=raw.shape), rng.normal(size=(18, 32))])
    indices, costs = pairing.match_sets(raw, photo, method, reg=0.02, top_k=2)
    assert indices.shape == (12, 2) and (indices[:, 0] == np.arange(12)).all()
    assert (costs[:, 0] <= costs[:, 1] + 1e-6).all() or method != "emd"


def test_ranked_matches_by_mass_then_cost():
    plan = np.array([[0.0, 0.5, 0.0, 0.0], [0.1, 0.0, 0.3, 0.0]])
    cost = np.array([[0.2, 0.9, 0.1, 0.5], [0.0, 0.0, 0.9, 0.8]])
    np.testing.assert_array_equal(pairing.ranked_matches(plan, cost, top_k=3), [[1, 2, 0], [2, 0, 1]])


def test_colour_distribution_loss_is_sliced_wasserstein():
    from losses import color_distribution_loss

    rng = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 3, 16, 16, generator=rng), torch.rand(2, 3, 16, 16, generator=rng) * 0.5
    directions = torch.nn.functional.normalize(
        torch.randn(3, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64), dim=0).float()
    values = []
    for a, b in zip(x, y):  # pooled 4x4 pixels, projected, sorted: W2 per direction, root-mean-square over them
        pa = torch.nn.functional.avg_pool2d(a[None], 4).flatten(2)[0].T @ directions
        pb = torch.nn.functional.avg_pool2d(b[None], 4).flatten(2)[0].T @ directions
        values.append((pa.sort(0).values - pb.sort(0).values).pow(2).mean(0).mean().sqrt())
    torch.testing.assert_close(color_distribution_loss(x, y), torch.stack(values).mean(), rtol=1e-5, atol=1e-6)
    assert color_distribution_loss(y, y).item() < 1e-6


# --- embedders -------------------------------------------------------------------------------------

def test_weight_free_embedder_pairs_known_pairs(pair_root, tmp_path):
    path, reused = compute_pairing(pairing_cfg(pair_root, tmp_path), tmp_path / "out" / "pairing.csv",
                                   progress=False)
    truth = json.loads((pair_root / "pairs.json").read_text())["pairs"]
    rows = [r for r in csv_rows(path) if r["rank"] == "1"]
    assert len(rows) == 60 and not reused
    accuracy = np.mean([truth[Path(r["raw"]).stem] == Path(r["photo"]).stem for r in rows])
    assert accuracy >= 0.5, accuracy
    assert len({r["photo"] for r in rows}) == 60  # emd on equal sets: one-to-one
    assert contact_sheet_path(path).is_file()


def test_dinov2_loads_the_hub_layout_through_timm(tmp_path):
    import timm
    from safetensors.torch import save_file

    # The hub file is the model at its pretraining size (518 px: 37x37 patches + CLS); timm resamples it to 224.
    hub_model = timm.create_model("vit_small_patch14_dinov2.lvd142m", pretrained=False, num_classes=0)
    assert hub_model.pos_embed.shape == (1, 1 + 37 * 37, 384)
    save_file(hub_model.state_dict(), str(tmp_path / "model.safetensors"))
    embedder = pairing.build_embedder("dinov2_small", tmp_path / "model.safetensors", image_level="mean",
                                      patch_grid=2)
    images = [np.random.default_rng(i).random((40, 56, 3), dtype=np.float32) for i in range(2)]
    rows = embedder.embed(images)
    assert rows.shape == (2, 384 * 5)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-5)
    torch.testing.assert_close(embedder.model.blocks[0].attn.qkv.weight, hub_model.blocks[0].attn.qkv.weight)


def test_missing_dinov2_weights_name_the_file_and_command(pair_root, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    cfg = pairing_cfg(pair_root, tmp_path, pairing_embedder="dinov2_base")
    with pytest.raises(pairing.PairingError.__mro__[1]) as info:  # UserError
        compute_pairing(cfg, tmp_path / "p.csv", progress=False)
    message = str(info.value)
    assert "model.safetensors" in message and "tools.weights download --only dinov2_base" in message


# --- bad input -------------------------------------------------------------------------------------

def test_empty_photo_folder_is_one_line(pair_root, tmp_path, capsys):
    root = tmp_path / "empty"
    (root / "train" / "jpegs").mkdir(parents=True)
    (root / "train" / "raws").mkdir()
    np.save(root / "train" / "raws" / "0.npy", np.zeros((16, 16, 4), np.uint16))
    code = run_main(__import__("tools.pairing").pairing.main, "python -m tools.pairing",
                    ["--set", "dataset=ntire2026", f"data_root={root}", "cache_dir=", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "jpegs" in err[0] and "no .jpg files" in err[0]


def test_undecodable_photo_is_named_and_good_work_is_kept(pair_root, tmp_path):
    root = tmp_path / "bad"
    make_pairing_set(root, 6, size=32, seed=1)
    (root / "train" / "jpegs" / "p_broken.jpg").write_bytes(b"not a jpeg")
    cfg = pairing_cfg(root, tmp_path)
    with pytest.raises(PairingError, match=r"p_broken\.jpg.*skip_bad_files"):
        compute_pairing(cfg, tmp_path / "o" / "pairing.csv", progress=False)
    cached = list((tmp_path / "emb").rglob("*.npy"))
    assert len(cached) == 12  # every good RAW and photo embedded and kept
    path, _ = compute_pairing(dict(cfg, skip_bad_files=True), tmp_path / "o" / "pairing.csv", progress=False)
    assert "p_broken" not in path.read_text() and len(csv_rows(path)) == 6


def test_pairing_csv_naming_a_missing_file_is_one_named_error(pair_root, tmp_path):
    root = tmp_path / "moved"
    make_pairing_set(root, 4, size=32, seed=2)
    cfg = pairing_cfg(root, tmp_path)
    path, _ = compute_pairing(cfg, tmp_path / "o" / "pairing.csv", progress=False)
    gone = Path(csv_rows(path)[0]["photo"])
    gone.unlink()
    with pytest.raises(PairingError, match=rf"names a missing file {gone}.*delete"):
        target_pairing_rule("unpaired", dict(cfg, target_pairing="semantic", pairing_csv=str(path)))


def test_mismatched_embedding_cache_is_one_named_error(pair_root, tmp_path):
    root = tmp_path / "cache"
    make_pairing_set(root, 4, size=32, seed=3)
    cfg = pairing_cfg(root, tmp_path)
    compute_pairing(cfg, tmp_path / "o" / "pairing.csv", progress=False)
    entry = sorted((tmp_path / "emb").rglob("*.npy"))[0]
    np.save(entry, np.zeros(7, np.float32))  # a row of another embedder's size under these settings
    with pytest.raises(PairingError, match=rf"{entry.name}.*delete"):
        compute_pairing(cfg, tmp_path / "o" / "pairing.csv", progress=False, force=True)
    with pytest.raises(PairingError, match="different embedders"):
        pairing.match_sets(np.ones((3, 4)), np.ones((3, 5)))


# --- reuse -----------------------------------------------------------------------------------------

def test_pairing_is_reused_only_when_inputs_and_settings_match(tmp_path):
    root = make_pairing_set(tmp_path / "reuse", 8, size=32, seed=4)
    cfg, out = pairing_cfg(root, tmp_path), tmp_path / "o" / "pairing.csv"
    assert compute_pairing(cfg, out, progress=False) == (out, False)
    written = out.stat().st_mtime_ns
    assert compute_pairing(cfg, out, progress=False) == (out, True) and out.stat().st_mtime_ns == written
    assert compute_pairing(dict(cfg, pairing_matcher="sinkhorn"), out, progress=False)[1] is False
    assert compute_pairing(dict(cfg, pairing_matcher="sinkhorn"), out, progress=False)[1] is True
    photo = sorted((root / "train" / "jpegs").iterdir())[0]
    os.utime(photo, ns=(photo.stat().st_atime_ns, photo.stat().st_mtime_ns + 10**9))  # the photo changed
    assert compute_pairing(dict(cfg, pairing_matcher="sinkhorn"), out, progress=False)[1] is False
    # fit.py: a given pairing_csv that matches is used as it is; a stale one is left alone
    other = tmp_path / "run" / "pairing.csv"
    assert compute_pairing(cfg, other, progress=False, reuse_from=(out,)) == (other, False)
    assert compute_pairing(cfg, tmp_path / "run2" / "pairing.csv", progress=False, reuse_from=(other,)) \
        == (other, True)


# --- training --------------------------------------------------------------------------------------

def test_semantic_pairing_trains_pretrain_pseudo_paired_unpaired(tmp_path):
    root = make_pairing_set(tmp_path / "set", 6, size=64, seed=5)
    settings = dict(dataset="ntire2026", data_root=str(root), out_dir=str(tmp_path), run_name="sem",
                    allow_random_backbones=True, vit_model="vit_tiny_patch16_224", batch_size=2, num_workers=0,
                    cache_dir="", pretrain_steps=1, pseudo_paired_steps=1, max_steps=1, save_every=1, d_every=1,
                    sample_every=1, log_every=1, feature_cache=False,
                    pairing_cache_dir=str(tmp_path / "emb"), target_pairing="semantic",
                    prior_stages=("pseudo_paired",))
    assert fit.main(["--set", *[f"{k}={v}" for k, v in settings.items()]]) == 0
    run = tmp_path / "sem"
    assert (run / "pairing.csv").is_file() and (run / "pairing_contact_sheet.png").is_file()
    for stage in ("pretrain", "pseudo_paired", "unpaired"):
        assert (run / stage / "checkpoints" / "G_step_1.pth").is_file(), stage
    # each RAW's target in the unpaired stage is its rank-1 photo of pairing.csv
    cfg = json.loads((run / "unpaired" / "config.json").read_text())
    dataset = fit.make_dataset("unpaired", cfg, "packed4")
    best = {Path(r["raw"]).stem: Path(r["photo"]).stem for r in csv_rows(run / "pairing.csv") if r["rank"] == "1"}
    assert [Path(p).stem for p in dataset.target_paths] == [best[name] for name in dataset.names]


def _camera_root(base: Path) -> Path:
    """tools.data ingest of two pidng DNGs and three photos (the camera preset's layout, per-file levels)."""
    from PIL import Image

    from data.synth.dng_writer import BAYER_CFA, write_dng
    from tools import data as data_tool

    rng = np.random.default_rng(6)
    (base / "dng").mkdir(parents=True)
    (base / "photos").mkdir()
    for name in ("a", "b"):
        write_dng(base / "dng" / name, rng.integers(64, 4095, (64, 64)).astype(np.uint16), BAYER_CFA["RGGB"],
                  [64] * 4, 4095)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(base / "photos" / f"p{i}.jpg")
    data_tool.main(["ingest", "--raw", str(base / "dng"), "--photos", str(base / "photos"), "--out",
                    str(base / "set"), "--patch", "32", "--workers", "1"])
    return base / "set"


@pytest.mark.parametrize("preset", ["fujifilm", "zrr", "camera"])
def test_every_preset_pairs(preset, tiny_fujifilm_root, tiny_zrr_root, tmp_path):
    root = {"fujifilm": tiny_fujifilm_root, "zrr": tiny_zrr_root}.get(preset) or _camera_root(tmp_path / "cam")
    cfg = load_config(REPO / "config.py", [f"dataset={preset}", f"data_root={root}", "cache_dir=",
                                           f"pairing_cache_dir={tmp_path / 'emb'}", "target_pairing=semantic"])
    path, _ = compute_pairing(cfg, tmp_path / "pairing.csv", progress=False)
    cfg["pairing_csv"] = str(path)
    dataset = fit.make_dataset("unpaired", cfg, "packed4")
    rows = {Path(r["raw"]).stem: Path(r["photo"]).stem for r in csv_rows(path)}
    assert [Path(p).stem for p in dataset.target_paths] == [rows[name] for name in dataset.names]
    if preset != "camera":  # aligned presets: the photo of the same scene is in the pool and is found
        assert all(raw == photo for raw, photo in rows.items())


def test_torchrun_pairs_once_and_chains_the_stages(tmp_path):
    import subprocess
    import sys

    root = make_pairing_set(tmp_path / "set", 4, size=64, seed=7)
    settings = dict(dataset="ntire2026", data_root=str(root), out_dir=str(tmp_path), run_name="ddp",
                    allow_random_backbones=True, vit_model="vit_tiny_patch16_224", batch_size=2, num_workers=0,
                    cache_dir="", pretrain_steps=1, pseudo_paired_steps=1, max_steps=1, feature_cache=False,
                    pairing_cache_dir=str(tmp_path / "emb"), target_pairing="semantic",
                    prior_stages=("pseudo_paired",))
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
                             "fit.py", "--set", *[f"{k}={v}" for k, v in settings.items()]], cwd=REPO,
                            env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("[fit] pairing written") == 1  # rank 0 pairs; rank 1 reads its file
    assert (tmp_path / "ddp" / "unpaired" / "checkpoints" / "G_step_1.pth").is_file()
