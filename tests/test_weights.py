"""Weight registry, missing-file errors, random-backbone warnings, strict loading, tools.weights CLI."""
import logging

import pytest
import torch

from losses import RandomWeightsWarning, WeightsMismatchError, build_texture_features
from losses.weight_loading import load_state_file, warn_random
from pretrained import WEIGHT_FILES, MissingWeightsError, resolve_weight, weight_status
from tools import weights as weights_cli
from training.backbone_paths import color_network, content_network, lpips_plus_loss, texture_network


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


def test_torchvision_urls_are_torchvisions_own():
    from torchvision.models import AlexNet_Weights, VGG16_Weights, VGG19_Weights
    for name, weights in (("alexnet", AlexNet_Weights.IMAGENET1K_V1), ("vgg16", VGG16_Weights.IMAGENET1K_V1),
                          ("vgg19_torchvision", VGG19_Weights.IMAGENET1K_V1)):
        assert WEIGHT_FILES[name].url == weights.url
        assert WEIGHT_FILES[name].file == weights.url.rsplit("/", 1)[1]  # torch.hub names the file after the URL


def test_pyiqa_urls_are_pyiqas_own():
    """The LPIPS v0.1 AlexNet heads and DISTS alpha/beta pyiqa's own archs download (their default_model_urls)."""
    from pyiqa.archs import dists_arch, lpips_arch
    for name, url in (("lpips_alex", lpips_arch.default_model_urls["0.1_alex"]),
                      ("dists", dists_arch.default_model_urls["url"])):
        assert WEIGHT_FILES[name].url == url and WEIGHT_FILES[name].file == url.rsplit("/", 1)[1]


def test_vit_hub_id_is_timms_own():
    """The ViT-B/16 of the color features: timm's pretrained cfg for vit_base_patch16_224 with the original
    (ImageNet-21k, fine-tuned on 1k) weights names this hub repository; timm reads its safetensors file."""
    import timm
    from timm.models._hub import HF_SAFE_WEIGHTS_NAME

    from losses.vit import DEFAULT_VIT
    entry = WEIGHT_FILES["vit_base"]
    model_tag = entry.hf_repo.split("/", 1)[1]
    assert model_tag.split(".")[0] == DEFAULT_VIT and model_tag in timm.list_pretrained(DEFAULT_VIT + ".*")
    config = timm.models.get_pretrained_cfg(model_tag)
    assert config.hf_hub_id == entry.hf_repo and config.tag == "orig_in21k_ft_in1k"
    assert entry.file == HF_SAFE_WEIGHTS_NAME and entry.url == "https://huggingface.co/" + config.hf_hub_id


def test_matconvnet_vgg19_name():
    """No installed library holds the MatConvNet VGG-19's URL; its file name is the one the release loads
    (docs/method.md §4), and the URL serves that file."""
    entry = WEIGHT_FILES["vgg19_matconvnet"]
    assert entry.file == "imagenet-vgg-verydeep-19.mat" and entry.url.rsplit("/", 1)[1] == entry.file


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
        content_network("matconvnet")
    with pytest.raises(MissingWeightsError, match="vgg19-dcbb9e9d.pth"):
        content_network("torchvision")
    with pytest.raises(MissingWeightsError, match="alexnet-owt"):
        texture_network()
    with pytest.raises(MissingWeightsError, match="alexnet-owt"):
        lpips_plus_loss()
    with pytest.raises(MissingWeightsError, match="vit_base_patch16_224"):
        color_network()
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
    with caplog.at_level(logging.WARNING, logger="losses.weight_loading"):
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


def _point_at(monkeypatch, name, url):
    entry = WEIGHT_FILES[name]
    monkeypatch.setitem(WEIGHT_FILES, name, type(entry)(**{**entry.__dict__, "url": url}))


def test_download_into_the_library_directory_says_size_and_verifies(empty_homes, monkeypatch, capsys):
    source = empty_homes / "source.pth"
    torch.save({"lin0.model.1.weight": torch.ones(1, 64, 1, 1)}, source)
    _point_at(monkeypatch, "lpips_alex", source.as_uri())
    assert weights_cli.main(["download", "--only", "lpips_alex"]) == 0
    saved = empty_homes / "torch" / "hub" / "pyiqa" / "LPIPS_v0.1_alex-df73285e.pth"
    assert saved.read_bytes() == source.read_bytes()
    # the registry size (6,009 bytes) is said before anything is fetched
    assert "downloading 1 file(s), 5.9 KB in total: lpips_alex (5.9 KB)" in capsys.readouterr().out


def test_download_that_does_not_read_is_set_aside(empty_homes, monkeypatch, capsys):
    source = empty_homes / "source.mat"
    source.write_bytes(b"an HTML error page, not a .mat")
    _point_at(monkeypatch, "vgg19_matconvnet", source.as_uri())
    assert weights_cli.main(["download", "--only", "vgg19_matconvnet"]) == 1
    folder = empty_homes / "torch" / "hub" / "checkpoints"
    assert [p.name for p in folder.iterdir()] == ["imagenet-vgg-verydeep-19.mat.corrupt"]
    assert "does not read" in capsys.readouterr().err


def _closed_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_host_is_skipped_quickly_without_fetching(empty_homes, monkeypatch, capsys):
    import time
    port = _closed_port()
    _point_at(monkeypatch, "alexnet", f"http://127.0.0.1:{port}/alexnet-owt-7be5be79.pth")

    def fetch(entry):
        raise AssertionError("an unreachable host must not be fetched from")

    start = time.perf_counter()
    assert weights_cli.download(["alexnet"], fetch=fetch) == ["alexnet"]
    assert time.perf_counter() - start < weights_cli.PROBE_TIMEOUT_S + 1
    assert f"cannot reach 127.0.0.1:{port}" in capsys.readouterr().err


def test_host_reachable_sees_a_listening_socket():
    import socket
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert weights_cli.host_reachable(f"https://127.0.0.1:{server.getsockname()[1]}/file.pth", timeout=2.0)
    assert not weights_cli.host_reachable(f"http://127.0.0.1:{_closed_port()}/file.pth", timeout=2.0)


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        weights_cli.main(["download", "--help"])
    assert exit_info.value.code == 0 and "--only" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        weights_cli.main(["download", "--only", "no_such_file"])
    assert exit_info.value.code == 2
