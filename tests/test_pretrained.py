"""Registry of published checkpoints and name resolution."""
import pytest
import torch

from models import load_generator
from pretrained import PUBLISHED, find_published, resolve_checkpoint


def test_registry_matches_reference_files(reference_checkpoints):
    files = {p.name for p in reference_checkpoints.rglob("*.pth")}
    assert {e.file for e in PUBLISHED.values()} == files
    assert PUBLISHED["fujifilm_rmfa_tiny_paired"].paper["psnr"] == pytest.approx(24.5764)
    assert PUBLISHED["zrr_efficient_isp_unpaired"].paper["lpips"] == pytest.approx(0.239)
    assert PUBLISHED["fujifilm_robust_isp_paired"].paper is None


def test_resolve_by_name_file_and_stem(reference_checkpoints):
    for key in ("fujifilm_efficient_isp_paired", "Efficient_ISP_paired_step_37580.pth",
                "Efficient_ISP_paired_step_37580"):
        path, backbone = resolve_checkpoint(key, search_dirs=[reference_checkpoints])
        assert path == reference_checkpoints / "Fujifilm" / "Efficient_ISP_paired_step_37580.pth"
        assert backbone == "efficient_isp"


def test_every_entry_resolves_with_default_dirs_and_loads():
    for entry in PUBLISHED.values():
        path, backbone = resolve_checkpoint(entry.name)
        assert path.name == entry.file and backbone == entry.backbone
        sd = torch.load(path, map_location="cpu", weights_only=True)
        assert f"step_{entry.step}" in path.name and len(sd) in (6, 36)
    net = load_generator(*resolve_checkpoint("zrr_efficient_isp_paired"))
    assert net.conv1.weight.shape == (12, 4, 3, 3)


def test_env_dir_searched_first(tmp_path, monkeypatch, reference_checkpoints):
    src = reference_checkpoints / "Fujifilm" / "Robust_unpaired_step_66090.pth"
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / src.name).write_bytes(src.read_bytes())
    monkeypatch.setenv("ISP_CHECKPOINTS", str(tmp_path))
    path, backbone = resolve_checkpoint("fujifilm_robust_isp_unpaired")
    assert path == tmp_path / "mine" / src.name and backbone == "robust_isp"


def test_plain_path_and_errors(tmp_path):
    own = tmp_path / "G_step_10.pth"
    own.write_bytes(b"x")
    assert resolve_checkpoint(own) == (own, None)
    with pytest.raises(FileNotFoundError, match="published names"):
        resolve_checkpoint("no_such_model")
    with pytest.raises(FileNotFoundError, match="README"):
        resolve_checkpoint("zrr_efficient_isp_paired", search_dirs=[tmp_path])
    assert find_published("RMFA_TINY_unpaired_step_48270").backbone == "rmfa_tiny"
