"""common/: the atomic writer and the state-dict prefix stripper."""
import os
import stat

import pytest
import torch

from common import atomic_path, atomic_write, strip_module_prefix


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "sub" / "table.csv"
    with atomic_write(target, "w", newline="") as handle:
        handle.write("a,b\n1,2\n")
    assert target.read_text() == "a,b\n1,2\n"
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target, "w") as handle:
            handle.write("partial")
            raise KeyboardInterrupt  # as if killed mid-write
    assert target.read_text() == "a,b\n1,2\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.csv"]  # no temp file left


def test_atomic_write_binary_with_torch_save(tmp_path):
    target = tmp_path / "w.pth"
    with atomic_write(target) as handle:
        torch.save({"w": torch.arange(3)}, handle)
    assert torch.equal(torch.load(target, weights_only=True)["w"], torch.arange(3))
    with pytest.raises(ValueError):
        with atomic_write(target, "a"):
            pass


def test_atomic_path_for_name_only_writers(tmp_path):
    target = tmp_path / "model.onnx"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_bytes(b"graph")
        assert not target.exists()  # invisible until the block ends
    assert target.read_bytes() == b"graph"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("exporter failed")
    assert target.read_bytes() == b"graph"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_strip_module_prefix():
    wrapped = {"module.conv.weight": 1, "module.conv.bias": 2}
    assert strip_module_prefix(wrapped) == {"conv.weight": 1, "conv.bias": 2}
    mixed = {"module.conv.weight": 1, "conv.bias": 2}
    assert strip_module_prefix(mixed) == mixed
    assert strip_module_prefix({}) == {}


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_get_the_umask_mode_of_a_plain_open(tmp_path, umask):
    previous = os.umask(umask)
    try:
        with open(tmp_path / "plain.txt", "w") as handle:  # what the project's files must look like
            handle.write("x")
        with atomic_write(tmp_path / "atomic.txt", "w") as handle:
            handle.write("x")
        with atomic_path(tmp_path / "named.onnx") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(previous)
    expected = 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == expected
    assert stat.S_IMODE((tmp_path / "atomic.txt").stat().st_mode) == expected
    assert stat.S_IMODE((tmp_path / "named.onnx").stat().st_mode) == expected
