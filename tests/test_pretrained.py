"""Registry of published checkpoints, name resolution in the checkpoint cache, verified downloads."""
import functools
import hashlib
import http.server
import threading

import pytest
import torch

from models import load_generator
from pretrained import (
    PUBLISHED,
    ChecksumError,
    MissingCheckpointError,
    checkpoint_cache_dir,
    fetch_verified,
    find_published,
    resolve_checkpoint,
)


def test_registry_matches_reference_files(reference_checkpoints):
    files = {p.relative_to(reference_checkpoints).as_posix() for p in reference_checkpoints.rglob("*.pth")}
    assert {e.release_path for e in PUBLISHED.values()} == files
    for entry in PUBLISHED.values():  # recorded checksums are the files' own (hashlib, not the helper)
        data = (reference_checkpoints / entry.release_path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256
    for entry in PUBLISHED.values():  # the step is the one in the published file's name
        assert f"_step_{entry.step}.pth" in entry.file


def test_registry_metrics_are_the_papers():
    from test_recipes import METRICS, PAPER_TABLE  # docs/method.md §8, written out once in the tests
    with_figures = {}
    for entry in PUBLISHED.values():
        if entry.paper is not None:
            stage = "paired_no_adv" if entry.mode == "paired_wo_adv" else entry.mode
            with_figures[(entry.dataset, stage, entry.backbone)] = tuple(entry.paper[m] for m in METRICS)
    assert with_figures == PAPER_TABLE  # and the entries the paper has no figures for carry none


def test_resolve_by_name_file_and_stem(checkpoint_cache):
    for key in ("fujifilm_efficient_isp_paired", "Efficient_ISP_paired_step_37580.pth",
                "Efficient_ISP_paired_step_37580"):
        path, backbone = resolve_checkpoint(key, cache_dir=checkpoint_cache, download=False)
        assert path == next(checkpoint_cache.rglob("Efficient_ISP_paired_step_37580.pth"))
        assert backbone == "efficient_isp"


def test_every_entry_resolves_from_the_env_cache_and_loads(reference_checkpoints):
    assert checkpoint_cache_dir() == reference_checkpoints  # tests/conftest.py sets $ISP_CHECKPOINTS
    for entry in PUBLISHED.values():
        path, backbone = resolve_checkpoint(entry.name, download=False)
        assert path.name == entry.file and backbone == entry.backbone
        sd = torch.load(path, map_location="cpu", weights_only=True)
        assert f"step_{entry.step}" in path.name and len(sd) in (6, 36)
    net = load_generator(*resolve_checkpoint("zrr_efficient_isp_paired"))
    assert net.conv1.weight.shape == (12, 4, 3, 3)


def test_cache_folder_order(tmp_path, monkeypatch):
    monkeypatch.setenv("ISP_CHECKPOINTS", str(tmp_path / "env"))
    assert checkpoint_cache_dir(tmp_path / "given") == tmp_path / "given"
    assert checkpoint_cache_dir() == tmp_path / "env"
    monkeypatch.delenv("ISP_CHECKPOINTS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert checkpoint_cache_dir() == tmp_path / "xdg" / "isp" / "checkpoints"


def test_file_anywhere_below_the_cache_is_found(tmp_path, generated_checkpoints):
    src = next(generated_checkpoints.rglob("Robust_unpaired_step_66090.pth"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / src.name).write_bytes(src.read_bytes())
    path, backbone = resolve_checkpoint("fujifilm_robust_isp_unpaired", cache_dir=tmp_path, download=False)
    assert path == tmp_path / "mine" / src.name and backbone == "robust_isp"


def test_plain_path_and_errors(tmp_path):
    own = tmp_path / "G_step_10.pth"
    own.write_bytes(b"x")
    assert resolve_checkpoint(own) == (own, None)
    with pytest.raises(MissingCheckpointError, match="published names"):
        resolve_checkpoint("no_such_model")
    with pytest.raises(MissingCheckpointError, match="tools.weights download --only zrr_efficient_isp_paired"):
        resolve_checkpoint("zrr_efficient_isp_paired", cache_dir=tmp_path, download=False)
    assert find_published("RMFA_TINY_unpaired_step_48270").backbone == "rmfa_tiny"


@pytest.fixture
def local_server(tmp_path):
    """http://127.0.0.1:<port>/ serving tmp_path/served in a thread, shut down after the test."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_download_verifies_the_checksum(local_server, tmp_path):
    served, url = local_server
    payload = bytes(range(256)) * 300
    (served / "good.pth").write_bytes(payload)
    (served / "bad.pth").write_bytes(payload[:-1] + b"!")
    cache = tmp_path / "cache"
    wanted = hashlib.sha256(payload).hexdigest()
    landed = fetch_verified(url + "good.pth", wanted, cache / "sub" / "good.pth", timeout=5, progress=False)
    assert landed.read_bytes() == payload
    with pytest.raises(ChecksumError, match="sha256"):
        fetch_verified(url + "bad.pth", wanted, cache / "sub" / "bad.pth", timeout=5, progress=False)
    assert sorted(p.name for p in cache.rglob("*")) == ["good.pth", "sub"]  # no partial or wrong file


def test_backbone_download_checks_the_torch_hub_prefix(local_server, tmp_path, monkeypatch):
    """A torchvision file name carries the first 8 hex digits of its sha256 (torch.hub's rule): a file whose
    digest starts with them lands where torch.hub looks; another is refused and nothing is kept."""
    import dataclasses

    from pretrained import WEIGHT_FILES, download_weight
    served, url = local_server
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    payload = bytes(range(256)) * 40
    (served / "alexnet.pth").write_bytes(payload)
    entry = dataclasses.replace(WEIGHT_FILES["alexnet"], url=url + "alexnet.pth",
                                sha256=hashlib.sha256(payload).hexdigest()[:8])
    landed = download_weight(entry, progress=False)
    assert landed == tmp_path / "torch" / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    assert landed.read_bytes() == payload
    landed.unlink()
    wrong = dataclasses.replace(entry, sha256="%08x" % ((int(entry.sha256, 16) + 1) % 16**8))
    with pytest.raises(ChecksumError, match="sha256"):
        download_weight(wrong, progress=False)
    assert list(landed.parent.iterdir()) == []
    # every torchvision entry checks the hex its published file name carries (torch.hub's HASH_REGEX)
    import re
    for item in WEIGHT_FILES.values():
        if item.location == "torch_checkpoints":
            assert item.sha256 == re.search(r"-([a-f0-9]+)\.", item.file).group(1)


def test_missing_published_checkpoint_is_downloaded_into_the_cache(local_server, tmp_path, reference_checkpoints):
    served, url = local_server
    entry = PUBLISHED["fujifilm_robust_isp_paired"]
    (served / "Fujifilm").mkdir()
    (served / entry.release_path).write_bytes((reference_checkpoints / entry.release_path).read_bytes())
    cache = tmp_path / "cache"
    path, backbone = resolve_checkpoint(entry.name, cache_dir=cache, base_url=url)
    assert path == cache / "Fujifilm" / entry.file and backbone == "robust_isp"
    load_generator(path, backbone)
    # The demosaic checkpoint is not served: the error names the file, the folder and the command.
    with pytest.raises(MissingCheckpointError) as info:
        resolve_checkpoint("efficient_isp_demosaic_pretrain", cache_dir=cache, base_url=url)
    message = str(info.value)
    assert "Efficient_ISP_demosaic_pretrain_step_20000.pth" in message and str(cache) in message
    assert "python -m tools.weights download --only efficient_isp_demosaic_pretrain" in message
    assert sorted(p.name for p in cache.rglob("*")) == ["Fujifilm", entry.file]
