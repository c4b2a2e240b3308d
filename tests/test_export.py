"""Mobile export (needs requirements-export.txt): TFLite submission shapes and ONNX, with parity."""
import numpy as np
import pytest
import torch

from tools import export

pytest.importorskip("litert_torch", reason="optional export packages: pip install -r requirements-export.txt")


@pytest.fixture(scope="module", autouse=True)
def _generated_cache(generated_checkpoints):
    """Registry names resolve to generated stand-ins in the published layout: export and its parity check do not
    depend on the authors' weights, so these tests run without ../shared."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ISP_CHECKPOINTS", str(generated_checkpoints))
        yield


def tflite_io(path):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    return list(inp["shape_signature"]), list(out["shape_signature"])


@pytest.fixture(scope="module")
def efficient_tflite(tmp_path_factory):
    out = tmp_path_factory.mktemp("eff_tflite")
    assert export.main(["--checkpoint", "fujifilm_efficient_isp_paired", "--format", "tflite", "--out", str(out)]) == 0
    return out


def test_efficient_isp_tflite_submission_shapes(efficient_tflite):
    assert tflite_io(efficient_tflite / "model_none.tflite") == ([1, -1, -1, 4], [1, -1, -1, 3])
    assert tflite_io(efficient_tflite / "model.tflite") == ([1, 544, 960, 4], [1, 1088, 1920, 3])


def test_efficient_isp_tflite_output_is_the_network_nhwc(efficient_tflite):
    net = export.load_network("fujifilm_efficient_isp_paired", None)[0]
    x = export.photo_like(4, 30, 46, seed=5)
    got = export.run_tflite(efficient_tflite / "model_none.tflite", x.permute(0, 2, 3, 1).numpy())
    with torch.no_grad():
        expected = net(x).permute(0, 2, 3, 1).numpy()
    assert got.shape == (1, 60, 92, 3)
    assert np.abs(got - expected).max() <= 1e-4


def test_rmfa_tiny_tflite_fixed(tmp_path):
    assert export.main(["--checkpoint", "fujifilm_rmfa_tiny_paired", "--format", "tflite", "--out", str(tmp_path),
                        "--fixed-size", "32", "48"]) == 0
    assert tflite_io(tmp_path / "model.tflite") == ([1, 32, 48, 3], [1, 32, 48, 3])
    assert not (tmp_path / "model_none.tflite").exists()


@pytest.fixture(scope="module")
def efficient_onnx(tmp_path_factory):
    out = tmp_path_factory.mktemp("eff_onnx")
    assert export.main(["--checkpoint", "fujifilm_efficient_isp_unpaired", "--format", "onnx", "--out", str(out)]) == 0
    return out / "model.onnx"


def _check_onnx(path, c_in, scale):
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    shape = sess.get_inputs()[0].shape
    assert shape[:2] == [1, c_in] and all(isinstance(d, str) for d in shape[2:])  # dynamic H, W
    y = export.run_onnx(path, np.random.rand(1, c_in, 22, 34).astype(np.float32))
    assert y.shape == (1, 3, 22 * scale, 34 * scale)


def test_onnx_efficient_isp_dynamic(efficient_onnx):
    _check_onnx(efficient_onnx, 4, 2)


def test_onnx_rmfa_tiny_dynamic(tmp_path):
    assert export.main(["--checkpoint", "fujifilm_rmfa_tiny_unpaired", "--format", "onnx", "--out", str(tmp_path)]) == 0
    _check_onnx(tmp_path / "model.onnx", 3, 1)


def test_parity_failure_is_detected_and_exits_nonzero(efficient_onnx, tmp_path, monkeypatch):
    net = export.load_network("fujifilm_efficient_isp_unpaired", None)[0]
    wrong_runtime = lambda path, x: export.run_onnx(path, x) + 1e-3  # noqa: E731  a subtly wrong runtime
    with pytest.raises(export.ParityError, match="tolerance"):
        export.check_parity(net, efficient_onnx, wrong_runtime, False, [(12, 16)], 1e-4)

    def failing_export(*args, **kwargs):
        raise export.ParityError("model.onnx: max abs diff 1e-3 > tolerance 1e-4")

    monkeypatch.setattr(export, "export_onnx", failing_export)
    assert export.main(["--backbone", "efficient_isp", "--random", "--format", "onnx", "--out", str(tmp_path)]) == 1


def test_shuffle_as_transposed_conv_is_exact():
    x = torch.rand(2, 12, 5, 7)
    assert torch.equal(export.ShuffleAsTransposedConv(3, 2)(x), torch.nn.functional.pixel_shuffle(x, 2))
