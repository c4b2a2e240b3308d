"""Registry of published checkpoints, name resolution in the checkpoint cache, verified downloads from the
authors' repository layout (../shared/release_layout: the real layout, served on 127.0.0.1)."""
import contextlib
import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pytest
import torch

from models import load_generator
from pretrained import (
    PUBLISHED,
    ChecksumError,
    MissingCheckpointError,
    checkpoint_cache_dir,
    download_url,
    fetch_verified,
    find_published,
    registry_table_markdown,
    resolve_checkpoint,
)
from tools import weights as weights_cli
from training.stages import STAGE_TABLE

# The authors' repository and its raw-file root on branch main (docs/method.md §6), written out.
RAW_ROOT = ("https://raw.githubusercontent.com/AndreiiArhire/"
            "Learned-Lightweight-Smartphone-ISP-with-Unpaired-Data/main/")
# Registry names before the modes took the stage names (training/stages.py) -> the names now.
OLD_NAMES = {
    "efficient_isp_demosaic_pretrain": "efficient_isp_pretrain",
    "fujifilm_efficient_isp_paired_wo_adv": "fujifilm_efficient_isp_paired_no_adv",
    "fujifilm_rmfa_tiny_paired_wo_adv": "fujifilm_rmfa_tiny_paired_no_adv",
    "fujifilm_robust_isp_paired_wo_adv": "fujifilm_robust_isp_paired_no_adv",
    "zrr_efficient_isp_paired_wo_adv": "zrr_efficient_isp_paired_no_adv",
}
README = Path(__file__).resolve().parents[1] / "pretrained" / "README.md"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def release_files(release_layout: Path) -> dict[str, Path]:
    """repository path -> file, for every .pth of the authors' repository layout."""
    return {p.relative_to(release_layout).as_posix(): p for p in sorted(release_layout.rglob("*.pth"))}


@contextlib.contextmanager
def serve(folder: Path):
    """http://127.0.0.1:<ephemeral port>/ serving folder in a thread; yields (url, list of requested paths)."""
    requested = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            requested.append(self.path)
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- the registry ------------------------------------------------------------------------------------

def test_registry_is_the_authors_repository(release_layout):
    files = release_files(release_layout)
    assert len(files) == 13 and {e.repo_path for e in PUBLISHED.values()} == set(files)
    for entry in PUBLISHED.values():  # recorded checksums are the files' own (hashlib, not the helper)
        assert sha256_file(files[entry.repo_path]) == entry.sha256
    assert PUBLISHED["efficient_isp_pretrain"].repo_path == "checkpoint/pretrained_20000.pth"
    for entry in PUBLISHED.values():  # the pick step is the number in the published file name
        assert entry.repo_path.endswith(f"{entry.step}.pth")


def test_registry_metrics_are_the_papers():
    from test_recipes import METRICS, PAPER_TABLE  # docs/method.md §8, written out once in the tests
    with_figures = {(e.dataset, e.mode, e.backbone): tuple(e.paper[m] for m in METRICS)
                    for e in PUBLISHED.values() if e.paper is not None}
    assert with_figures == PAPER_TABLE  # and the entries the paper has no figures for carry none


def test_modes_are_the_stage_names():
    assert {e.mode for e in PUBLISHED.values()} == {"pretrain", "unpaired", "paired", "paired_no_adv"}
    assert {e.mode for e in PUBLISHED.values()} <= set(STAGE_TABLE)  # pseudo_paired has no published result
    for entry in PUBLISHED.values():  # names end in their mode, the pretraining's included
        assert entry.name.endswith("_" + entry.mode)


def test_readme_table_is_the_registry():
    assert registry_table_markdown() in README.read_text(), \
        "pretrained/README.md table is stale: paste registry_table_markdown()"
    table = registry_table_markdown().splitlines()[2:]
    assert len(table) == 13
    row = next(r for r in table if "`zrr_efficient_isp_unpaired`" in r)  # the paper's digits, zeros kept
    assert row.split(" | ")[-4:] == ["19.448", "0.700", "0.832", "0.239 |"]


# --- where the files come from -------------------------------------------------------------------------

def test_default_base_is_the_repository_raw_root(monkeypatch):
    monkeypatch.delenv("ISP_CHECKPOINT_URL", raising=False)
    assert download_url(PUBLISHED["efficient_isp_pretrain"]) == RAW_ROOT + "checkpoint/pretrained_20000.pth"
    assert (download_url(PUBLISHED["zrr_efficient_isp_paired"])
            == RAW_ROOT + "pretrained/models/ZRR/Efficient_ISP_paired_step_195100.pth")
    monkeypatch.setenv("ISP_CHECKPOINT_URL", "http://mirror.example/isp")  # a mirror: same layout, other base
    assert (download_url(PUBLISHED["fujifilm_rmfa_tiny_paired"])
            == "http://mirror.example/isp/pretrained/models/Fujifilm/RMFA_TINY_paired_step_31690.pth")


def test_all_13_download_from_the_release_layout(release_layout, tmp_path, monkeypatch, capsys):
    """`python -m tools.weights download --only <every name>` into an empty cache, from the real layout."""
    files = release_files(release_layout)
    cache = tmp_path / "cache"
    with serve(release_layout) as (url, requested):
        monkeypatch.setenv("ISP_CHECKPOINT_URL", url)
        assert weights_cli.main(["download", "--only", *PUBLISHED, "--checkpoint-dir", str(cache)]) == 0
    assert sorted(requested) == sorted("/" + path for path in files)  # each file asked for once, at its path
    arrived = {p.relative_to(cache).as_posix(): p for p in cache.rglob("*") if p.is_file()}
    assert set(arrived) == set(files)  # nothing else (no temp file) is left
    for path, landed in arrived.items():
        assert sha256_file(landed) == sha256_file(files[path])
    for entry in PUBLISHED.values():  # and each now resolves there without a download
        assert resolve_checkpoint(entry.name, cache_dir=cache, download=False)[0] == cache / entry.repo_path
    assert capsys.readouterr().out.count(": saved ") == 13


def test_missing_checkpoint_is_downloaded_on_first_use(release_layout, tmp_path):
    cache = tmp_path / "cache"
    with serve(release_layout) as (url, requested):
        path, backbone = resolve_checkpoint("fujifilm_robust_isp_paired", cache_dir=cache, base_url=url)
        again = resolve_checkpoint("fujifilm_robust_isp_paired", cache_dir=cache, base_url=url)[0]
    assert requested == ["/pretrained/models/Fujifilm/Robust_paired_step_31560.pth"]  # once: then it is cached
    assert path == again == cache / "pretrained/models/Fujifilm/Robust_paired_step_31560.pth"
    assert backbone == "robust_isp"
    assert sha256_file(path) == sha256_file(release_layout / "pretrained/models/Fujifilm/Robust_paired_step_31560.pth")
    load_generator(path, backbone)


def test_offline_error_names_file_folder_and_command(tmp_path):
    cache = tmp_path / "cache"  # tests/conftest.py points $ISP_CHECKPOINT_URL at a closed loopback port
    with pytest.raises(MissingCheckpointError) as info:
        resolve_checkpoint("efficient_isp_demosaic_pretrain", cache_dir=cache)
    message = str(info.value)
    assert "pretrained_20000.pth" in message and str(cache / "checkpoint" / "pretrained_20000.pth") in message
    assert "python -m tools.weights download --only efficient_isp_pretrain" in message
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))


def test_download_verifies_the_checksum(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    payload = bytes(range(256)) * 300
    (served / "good.pth").write_bytes(payload)
    (served / "bad.pth").write_bytes(payload[:-1] + b"!")
    cache = tmp_path / "cache"
    wanted = hashlib.sha256(payload).hexdigest()
    with serve(served) as (url, _):
        landed = fetch_verified(url + "good.pth", wanted, cache / "sub" / "good.pth", timeout=5, progress=False)
        assert landed.read_bytes() == payload
        with pytest.raises(ChecksumError, match="sha256"):
            fetch_verified(url + "bad.pth", wanted, cache / "sub" / "bad.pth", timeout=5, progress=False)
    assert sorted(p.name for p in cache.rglob("*")) == ["good.pth", "sub"]  # no partial or wrong file


def test_backbone_download_checks_the_torch_hub_prefix(tmp_path, monkeypatch):
    """A torchvision file name carries the first 8 hex digits of its sha256 (torch.hub's rule): a file whose
    digest starts with them lands where torch.hub looks; another is refused and nothing is kept."""
    import dataclasses
    import re

    from pretrained import WEIGHT_FILES, download_weight
    served = tmp_path / "served"
    served.mkdir()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    payload = bytes(range(256)) * 40
    (served / "alexnet.pth").write_bytes(payload)
    with serve(served) as (url, _):
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
    for item in WEIGHT_FILES.values():  # every torchvision entry checks the hex its file name carries
        if item.location == "torch_checkpoints":
            assert item.sha256 == re.search(r"-([a-f0-9]+)\.", item.file).group(1)


# --- the cache -----------------------------------------------------------------------------------------

def test_a_clone_of_the_authors_repository_is_a_complete_cache(release_layout, monkeypatch):
    files = release_files(release_layout)
    for entry in PUBLISHED.values():  # checkpoint_dir = the clone; the closed-port URL proves no download
        path, backbone = resolve_checkpoint(entry.name, cache_dir=release_layout)
        assert path in files.values() and sha256_file(path) == entry.sha256 and backbone == entry.backbone
    monkeypatch.setenv("ISP_CHECKPOINTS", str(release_layout))  # the same through the environment
    assert resolve_checkpoint("efficient_isp_pretrain")[0] == release_layout / "checkpoint" / "pretrained_20000.pth"
    assert "MISSING" not in "".join(line for line in weights_cli.status_table().splitlines()
                                     if any(name in line for name in PUBLISHED))


def test_every_entry_resolves_from_the_old_cache_layout_and_loads(reference_checkpoints):
    """Fujifilm/<file>, ZRR/<file>, Efficient_ISP_demosaic_pretrain_step_20000.pth at the top: the layout this
    project's cache used before (and ../shared/reference_checkpoints has)."""
    assert checkpoint_cache_dir() == reference_checkpoints  # tests/conftest.py sets $ISP_CHECKPOINTS
    for entry in PUBLISHED.values():
        path, backbone = resolve_checkpoint(entry.name, download=False)
        assert path.parent in (reference_checkpoints, reference_checkpoints / "Fujifilm", reference_checkpoints / "ZRR")
        assert sha256_file(path) == entry.sha256 and backbone == entry.backbone
        assert len(torch.load(path, map_location="cpu", weights_only=True)) in (6, 36)
    assert resolve_checkpoint("efficient_isp_pretrain")[0].name == "Efficient_ISP_demosaic_pretrain_step_20000.pth"
    net = load_generator(*resolve_checkpoint("zrr_efficient_isp_paired"))
    assert net.conv1.weight.shape == (12, 4, 3, 3)


def test_old_registry_names_keep_resolving(reference_checkpoints, capsys):
    for old, new in OLD_NAMES.items():
        assert find_published(old) is PUBLISHED[new]
        assert resolve_checkpoint(old, download=False) == resolve_checkpoint(new, download=False)
    # tools.weights takes them too, and an old and a new name of one entry count once
    assert weights_cli.main(["download", "--only", "efficient_isp_demosaic_pretrain", "efficient_isp_pretrain",
                             "--checkpoint-dir", str(reference_checkpoints)]) == 0
    old_file = reference_checkpoints / "Efficient_ISP_demosaic_pretrain_step_20000.pth"
    assert capsys.readouterr().out.splitlines() == [f"efficient_isp_pretrain: present at {old_file}"]
    for name in ("Efficient_ISP_demosaic_pretrain_step_20000.pth", "pretrained_20000"):  # old and release file
        assert find_published(name) is PUBLISHED["efficient_isp_pretrain"]


def test_resolve_by_name_file_and_stem(checkpoint_cache):
    for key in ("fujifilm_efficient_isp_paired", "Efficient_ISP_paired_step_37580.pth",
                "Efficient_ISP_paired_step_37580"):
        path, backbone = resolve_checkpoint(key, cache_dir=checkpoint_cache, download=False)
        assert path == next(checkpoint_cache.rglob("Efficient_ISP_paired_step_37580.pth"))
        assert backbone == "efficient_isp"


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
