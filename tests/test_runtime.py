"""Runtime selection for inference (runtime/select.py; test_model.py and inference.py --runtime).

Only the last test builds the fused kernel, and only where tests/test_fast_inference.py builds it too
(an AVX2+FMA CPU): torch caches the build, so the suite compiles it once."""
import numpy as np
import pytest
import torch

import runtime.fused_efficient_isp as fused_efficient_isp
import test_model
from models import build_generator
from runtime import PARITY_BOUND, CheckedRuntime, RuntimeUnavailable, fused_kernel_available, select_runtime


def _efficient_isp():
    torch.manual_seed(0)
    return build_generator("efficient_isp").eval()


def test_torch_runtime_is_the_model_itself():
    model = _efficient_isp()
    assert select_runtime(model, "torch") is model


def test_other_generators_and_devices_use_pytorch_silently_or_fail_when_forced():
    notes = []
    robust = build_generator("robust_isp").eval()
    assert select_runtime(robust, "auto", "cpu", note=notes.append) is robust
    assert select_runtime(_efficient_isp(), "auto", "cuda", note=notes.append) is not None
    assert notes == []  # not applicable is not worth a note
    with pytest.raises(RuntimeUnavailable, match="Efficient ISP only"):
        select_runtime(robust, "fused")
    with pytest.raises(ValueError, match="runtime must be one of"):
        select_runtime(robust, "onnx")


def test_build_failure_falls_back_with_one_note(monkeypatch):
    def no_compiler(*args, **kwargs):
        raise RuntimeError("Error building extension 'three_conv_isp'\nlong compiler log")

    monkeypatch.setattr(fused_efficient_isp, "_load_extension", no_compiler)
    model, notes = _efficient_isp(), []
    assert select_runtime(model, "auto", note=notes.append) is model
    assert len(notes) == 1 and "using PyTorch" in notes[0] and "\n" not in notes[0]
    with pytest.raises(RuntimeUnavailable, match="did not build"):
        select_runtime(model, "fused")


def test_first_call_parity_check():
    model, notes = _efficient_isp(), []
    x = torch.rand(1, 4, 6, 10)
    with torch.no_grad():
        expected = model(x)
    close = CheckedRuntime(lambda t: model(t) + 0.5 * PARITY_BOUND, model, strict=True, note=notes.append)
    assert torch.equal(close(x), expected + 0.5 * PARITY_BOUND) and close.checked_diff <= PARITY_BOUND
    off = CheckedRuntime(lambda t: model(t) + 1e-2, model, strict=False, note=notes.append)
    assert torch.equal(off(x), expected) and off(x).sub(expected).abs().max() == 0  # PyTorch from then on
    assert len(notes) == 1 and "differs from PyTorch by 0.01" in notes[0]
    strict = CheckedRuntime(lambda t: model(t) + 1e-2, model, strict=True, note=notes.append)
    with pytest.raises(RuntimeUnavailable, match="use --runtime torch"):
        strict(x)


@pytest.mark.skipif(not fused_kernel_available(), reason="fused kernel needs an AVX2+FMA x86 CPU")
def test_test_model_fused_runtime_matches_torch(tiny_fujifilm_root, tmp_path):
    torch.save(_efficient_isp().state_dict(), tmp_path / "G.pth")
    outputs = {}
    for name in ("torch", "fused"):
        argv = ["--checkpoint", str(tmp_path / "G.pth"), "--backbone", "efficient_isp", "--dataset", "fujifilm",
                "--input", str(tiny_fujifilm_root / "test"), "--output", str(tmp_path / name), "--no-lpips",
                "--runtime", name]
        assert test_model.main(argv) == 0
        outputs[name] = np.loadtxt(tmp_path / name / "metrics.csv", delimiter=",", skiprows=1, usecols=(1, 2))
    np.testing.assert_allclose(outputs["fused"], outputs["torch"], rtol=1e-6, atol=1e-6)
