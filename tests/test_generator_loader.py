"""One generator loader (wiring.load_model / resolve_generator) behind every script: a backbone that contradicts
the registry is the same one-line error in each, and a checkpoint without a stated backbone is recognised by
its parameters. Expected weights are read back with torch.load."""
import numpy as np
import pytest
import torch

import fit
import inference
import test_model
import wiring
from models import CheckpointError, build_generator
from tools import export, submit

PUBLISHED_FILE = "Efficient_ISP_paired_step_37580.pth"  # a published file name: the registry says efficient_isp


@pytest.fixture
def published_named(tmp_path):
    path = tmp_path / PUBLISHED_FILE
    torch.manual_seed(0)
    torch.save(build_generator("efficient_isp").state_dict(), path)
    return path


def test_loaded_weights_are_the_files(published_named):
    path, backbone, model, info = wiring.load_model(published_named)
    assert (path, backbone, info["input_kind"]) == (published_named, "efficient_isp", "packed4")
    saved = torch.load(published_named, weights_only=True)
    assert not model.training and set(model.state_dict()) == set(saved)
    for name, tensor in model.state_dict().items():
        np.testing.assert_array_equal(tensor.numpy(), saved[name].numpy())


def test_a_backbone_contradicting_the_registry_is_one_error_in_every_script(published_named, tiny_fujifilm_root,
                                                                           tmp_path):
    npy_dir = tmp_path / "raws"
    npy_dir.mkdir()
    np.save(npy_dir / "0.npy", np.zeros((8, 8, 4), np.uint16))
    cfg = {"stage": "unpaired", "pretrained_generator": str(published_named), "backbone": "rmfa_tiny",
           "checkpoint_dir": ""}
    callers = {
        "wiring": lambda: wiring.load_model(published_named, "rmfa_tiny"),
        "fit.py": lambda: fit.initial_generator(cfg, tmp_path / "run", None, "cpu"),
        "inference.py": lambda: inference.score_checkpoint(published_named, "rmfa_tiny", None, tmp_path / "x.csv"),
        "test_model.py": lambda: test_model.main(["--checkpoint", str(published_named), "--backbone", "rmfa_tiny",
                                                  "--dataset", "fujifilm", "--input", str(tiny_fujifilm_root / "val"),
                                                  "--output", str(tmp_path / "out")]),
        "tools.submit": lambda: submit.main(["--checkpoint", str(published_named), "--backbone", "rmfa_tiny",
                                             "--input", str(npy_dir), "--output", str(tmp_path / "sub"),
                                             "--device", "cpu"]),
        "tools.export": lambda: export.load_network(str(published_named), "rmfa_tiny"),
    }
    for script, call in callers.items():
        with pytest.raises(CheckpointError) as info:
            call()
        message = str(info.value)
        assert "efficient_isp" in message and "rmfa_tiny" in message and "\n" not in message, script


def test_a_checkpoint_without_a_stated_backbone_is_recognised_by_its_parameters(tmp_path):
    path = tmp_path / "G_step_10.pth"
    torch.save(build_generator("srcnn").state_dict(), path)
    net, backbone = export.load_network(str(path), None)
    assert backbone == "srcnn" and type(net).__name__ == type(build_generator("srcnn")).__name__
    odd = tmp_path / "odd.pth"
    torch.save({"weight": torch.zeros(3)}, odd)
    with pytest.raises(CheckpointError, match="cannot tell the backbone.*pass --backbone"):
        wiring.load_model(odd)
