"""Weight registry, missing-file errors, random-backbone warnings, strict loading, tools.weights CLI."""
import logging

import pytest
import torch

from losses import (WEIGHT_FILES, MissingWeightsError, RandomWeightsWarning, WeightsMismatchError,
                    build_color_features, build_lpips_plus, build_texture_features, build_vgg19_relu54,
                    resolve_weight)
from losses.weights import load_state_file, warn_random, weight_status
from tools import weights as weights_cli


@pytest.fixture
def empty_homes(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


def test_registry_knows_every_spec_file():
    files = {w.file for w in WEIGHT_FILES.values()}
    assert {"alexnet-owt-7be5be79.pth", "vgg16-397923af.pth", "vgg19-dcbb9e9d.pth", "LPIPS_v0.1_alex-df73285e.pth",
            "DISTS_weights-f5e65c96.pth", "imagenet-vgg-verydeep-19.mat"} <= files
    assert all(w.url.startswith("https://") and w.size_bytes > 0 for w in WEIGHT_FILES.values())


def test_missing_file_error_names_file_directory_and_command(empty_homes):
    with pytest.raises(MissingWeightsError) as info:
        resolve_weight("alexnet")
    message = str(info.value)
    assert "alexnet-owt-7be5be79.pth" in message
    assert str(empty_homes / "torch" / "hub" / "checkpoints") in message
    assert "python -m tools.weights download" in message
    with pytest.raises(MissingWeightsError, match=r"LPIPS_v0.1_alex-df73285e.pth.*hub/pyiqa"):
        resolve_weight("lpips_alex")
    with pytest.raises(MissingWeightsError, match="imagenet-vgg-verydeep-19.mat"):
        build_vgg19_relu54("matconvnet")
    with pytest.raises(MissingWeightsError, match="vgg19-dcbb9e9d.pth"):
        build_vgg19_relu54("torchvision")
    with pytest.raises(MissingWeightsError, match="alexnet-owt"):
        build_texture_features()
    with pytest.raises(MissingWeightsError, match="alexnet-owt"):
        build_lpips_plus()
    with pytest.raises(MissingWeightsError, match="vit_base_patch16_224"):
        build_color_features()
    with pytest.raises(MissingWeightsError, match="nowhere.pth"):
        resolve_weight("alexnet", empty_homes / "nowhere.pth")


def test_files_found_where_the_libraries_look(empty_homes):
    checkpoint = empty_homes / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"x")
    pyiqa_file = empty_homes / "torch" / "hub" / "pyiqa" / "DISTS_weights-f5e65c96.pth"
    pyiqa_file.parent.mkdir(parents=True)
    pyiqa_file.write_bytes(b"x")
    repo_folder = "models--" + WEIGHT_FILES["vit_base"].hf_repo.replace("/", "--")
    hf = empty_homes / "hf" / repo_folder / "snapshots" / "abc"
    hf.mkdir(parents=True)
    (hf / "model.safetensors").write_bytes(b"x")
    assert resolve_weight("vgg16") == checkpoint
    assert resolve_weight("dists") == pyiqa_file
    assert resolve_weight("vit_base") == hf / "model.safetensors"
    status = weight_status()
    assert status["vgg16"] == checkpoint and status["alexnet"] is None


def test_random_mode_warns_loudly(caplog):
    with caplog.at_level(logging.WARNING, logger="losses.weights"):
        with pytest.warns(RandomWeightsWarning, match="RANDOM WEIGHTS.*AlexNet"):
            build_texture_features(allow_random=True)
    assert any("meaningless" in r.getMessage() for r in caplog.records)
    with pytest.warns(RandomWeightsWarning):
        warn_random("something")


def test_unreadable_or_wrong_files_never_load_silently(tmp_path):
    (tmp_path / "garbage.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsMismatchError, match="garbage.pth"):
        load_state_file(tmp_path / "garbage.pth")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(WeightsMismatchError, match="state_dict"):
        load_state_file(tmp_path / "list.pth")
    torch.save({"features.0.weight": torch.zeros(64, 3, 11, 11)}, tmp_path / "partial.pth")
    with pytest.raises(WeightsMismatchError, match="missing keys"):
        build_texture_features(weights_path=tmp_path / "partial.pth")


def test_check_table_lists_present_and_missing(empty_homes, capsys):
    target = empty_homes / "torch" / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x")
    assert weights_cli.main(["check"]) == 0
    out = capsys.readouterr().out
    alex_line = next(line for line in out.splitlines() if line.startswith("alexnet "))
    vgg_line = next(line for line in out.splitlines() if line.startswith("vgg16 "))
    assert "present" in alex_line and str(target) in alex_line
    assert "MISSING" in vgg_line and "vgg16-397923af.pth" in vgg_line
    assert f"{len(WEIGHT_FILES) - 1} missing" in out


def test_download_uses_torch_hub_into_the_library_directory(empty_homes, monkeypatch):
    source = empty_homes / "source.pth"
    source.write_bytes(b"weights")
    entry = WEIGHT_FILES["vgg19_matconvnet"]
    monkeypatch.setitem(WEIGHT_FILES, "vgg19_matconvnet", type(entry)(**{**entry.__dict__, "url": source.as_uri()}))
    assert weights_cli.main(["download", "--only", "vgg19_matconvnet"]) == 0
    saved = empty_homes / "torch" / "hub" / "checkpoints" / "imagenet-vgg-verydeep-19.mat"
    assert saved.read_bytes() == b"weights"


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        weights_cli.main(["download", "--help"])
    assert exit_info.value.code == 0 and "--only" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        weights_cli.main(["download", "--only", "no_such_file"])
    assert exit_info.value.code == 2
