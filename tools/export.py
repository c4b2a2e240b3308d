"""Export a generator for phones: TFLite (LiteRT, Mobile AI submission shapes) or ONNX, with a parity check.

  python -m tools.export --checkpoint fujifilm_efficient_isp_paired --format tflite --out export/
  python -m tools.export --checkpoint run/checkpoints/G_step_1000.pth --backbone rmfa_tiny --format onnx --out export/

TFLite (NHWC, the network is wrapped with permutes): model_none.tflite [1, None, None, C] -> [1, None, None, 3]
and model.tflite fixed at [1, 544, 960, 4] -> [1, 1088, 1920, 3] for packed backbones (RMFA-Net: fixed
[1, 1088, 1920, 3] -> [1, 1088, 1920, 3] only; litert-torch 0.10 bakes its bilinear resize sizes into the graph,
so a dynamic-shape RMFA TFLite would be wrong; use ONNX for any size). --fp16 adds model*_fp16.tflite
(weights stored as float16, computed in fp32). ONNX (NCHW): model.onnx with dynamic height and width.
Every exported fp32 model is run (LiteRT interpreter / onnxruntime) on a random and a photo-like input and
compared with PyTorch; a max abs difference above --tolerance (1e-4) fails the command (exit code 1).
Needs requirements-export.txt.
"""
import argparse
import copy
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from common import atomic_path, atomic_write
from models import build_generator, generator_info
from wiring import load_model

SUBMISSION_PACKED_HW = (544, 960)  # Mobile AI: [1, 544, 960, 4] -> [1, 1088, 1920, 3]


class ParityError(RuntimeError):
    """The exported model computes a different image than PyTorch."""


class ShuffleAsTransposedConv(nn.Module):
    """pixel_shuffle(r) as a stride-r transposed conv with one-hot weights: the same numbers, but it
    lowers to TFLite with dynamic height/width (a dynamic reshape does not)."""

    def __init__(self, channels_out: int = 3, factor: int = 2):
        super().__init__()
        r = factor
        weight = torch.zeros(channels_out * r * r, channels_out, r, r)
        for c in range(channels_out):
            for i in range(r):
                for j in range(r):
                    weight[c * r * r + i * r + j, c, i, j] = 1.0
        self.register_buffer("weight", weight)
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(x, self.weight, stride=self.factor)


class NHWC(nn.Module):
    """Channels-last I/O around an NCHW network, as TFLite and the challenge expect."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def tflite_ready(net: nn.Module) -> nn.Module:
    """A copy with every PixelShuffle replaced by its transposed-conv equivalent."""
    net = copy.deepcopy(net).eval()
    for parent in list(net.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, nn.PixelShuffle):
                setattr(parent, child_name, ShuffleAsTransposedConv(3, child.upscale_factor))
    return net


def load_network(checkpoint: str | None, backbone: str | None, allow_random: bool = False) -> tuple[nn.Module, str]:
    if checkpoint is None:
        if not (allow_random and backbone):
            raise SystemExit("--checkpoint is required (or --random with --backbone for a smoke test)")
        torch.manual_seed(0)
        return build_generator(backbone).eval(), backbone
    _, backbone, net, _ = load_model(checkpoint, backbone)
    return net, backbone


def photo_like(channels: int, h: int, w: int, seed: int = 1) -> torch.Tensor:
    """A smooth, edge-bearing image in [0, 1] (stands in for a real RAW: gradients, flat areas, edges)."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, channels, max(2, h // 16), max(2, w // 16), generator=gen)
    smooth = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    edges = ((xx * 7).floor() % 2) * 0.3 + yy * 0.2
    img = (0.6 * smooth + edges + 0.02 * torch.randn(1, channels, h, w, generator=gen)).clamp(0, 1)
    return img.float()


def parity_inputs(channels: int, h: int, w: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return {"random": torch.rand(1, channels, h, w, generator=gen), "photo-like": photo_like(channels, h, w)}


def run_tflite(path: Path, x_nhwc: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=2)
    inp = interp.get_input_details()[0]
    if tuple(inp["shape"]) != x_nhwc.shape:
        interp.resize_tensor_input(inp["index"], list(x_nhwc.shape))
    interp.allocate_tensors()
    interp.set_tensor(inp["index"], x_nhwc.astype(np.float32))
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


def run_onnx(path: Path, x_nchw: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x_nchw.astype(np.float32)})[0]


def check_parity(net: nn.Module, path: Path, run, nhwc: bool, sizes, tolerance: float) -> float:
    """Max abs difference over the parity inputs of every size; raises ParityError above tolerance."""
    worst = 0.0
    c_in = 4 if net.input_kind == "packed4" else 3
    for h, w in sizes:
        for label, x in parity_inputs(c_in, h, w).items():
            with torch.inference_mode():
                expected = net(x)
            feed = x.permute(0, 2, 3, 1) if nhwc else x
            got = torch.from_numpy(np.asarray(run(path, feed.contiguous().numpy())))
            got = got.permute(0, 3, 1, 2) if nhwc else got
            if got.shape != expected.shape:
                raise ParityError(f"{path.name}: output shape {tuple(got.shape)} != PyTorch {tuple(expected.shape)} "
                                  f"for {label} input {h}x{w}")
            diff = (got - expected).abs().max().item()
            print(f"  parity {path.name} {label:10s} {h}x{w}: max abs diff {diff:.2e}")
            if not diff <= tolerance:
                raise ParityError(f"{path.name}: max abs diff {diff:.3e} > tolerance {tolerance:g} "
                                  f"({label} input {h}x{w})")
            worst = max(worst, diff)
    return worst


def _quiet_convert(fn):
    """litert-torch prints a progress tree; keep the command's own output readable."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def convert_tflite(module: nn.Module, sample: torch.Tensor, out_path: Path, dynamic: bool) -> Path:
    import litert_torch

    shapes = None
    if dynamic:
        shapes = ({1: torch.export.Dim("height", min=2, max=8192), 2: torch.export.Dim("width", min=2, max=8192)},)
    model = _quiet_convert(lambda: litert_torch.convert(module.eval(), (sample,), dynamic_shapes=shapes))
    with atomic_path(out_path) as tmp:
        _quiet_convert(lambda: model.export(str(tmp)))
    return out_path


def mark_dynamic_output(path: Path) -> None:
    """litert-torch records the sample's output size as the output shape signature even though the graph
    resizes with its input; declare height/width dynamic ([1, -1, -1, C]) as the submission contract asks."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(path.read_bytes(), 0))
    graph = model.subgraphs[0]
    for index in graph.outputs:
        tensor = graph.tensors[index]
        tensor.shapeSignature = np.array([1, -1, -1, int(tensor.shape[-1])], dtype=np.int32)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    with atomic_write(path) as handle:
        handle.write(builder.Output())


def fp16_weights(src: Path) -> Path:
    """Copy of a TFLite model with float16-stored weights (dequantised to fp32 at load)."""
    from ai_edge_quantizer import qtyping, quantizer

    q = quantizer.Quantizer(str(src))
    q.add_weight_only_config(regex=".*", operation_name=qtyping.TFLOperationName.ALL_SUPPORTED, num_bits=16,
                             algorithm_key=quantizer.AlgorithmName.FLOAT_CASTING)
    dst = src.with_name(src.stem + "_fp16.tflite")
    _quiet_convert(lambda: q.quantize().export_model(str(dst), overwrite=True))
    return dst


def default_fixed_hw(input_kind: str) -> tuple[int, int]:
    h, w = SUBMISSION_PACKED_HW
    return (h, w) if input_kind == "packed4" else (2 * h, 2 * w)


def export_tflite(net: nn.Module, out_dir: Path, fixed_hw, dynamic: bool, fp16: bool, tolerance: float,
                  parity_sizes) -> list[Path]:
    c_in = 4 if net.input_kind == "packed4" else 3
    wrapped = NHWC(tflite_ready(net))
    written = {}  # path -> sizes its parity is checked at
    if dynamic and net.input_kind == "packed4":
        path = convert_tflite(wrapped, torch.rand(1, 64, 96, c_in), out_dir / "model_none.tflite", dynamic=True)
        mark_dynamic_output(path)
        check_parity(net, path, run_tflite, True, parity_sizes, tolerance)
        written[path] = parity_sizes[:1]
    elif dynamic:
        print("  model_none.tflite skipped: dynamic-shape TFLite is not exact for RMFA-Net (resize sizes are "
              "baked in by litert-torch); use model.tflite at a fixed size or ONNX")
    path = convert_tflite(wrapped, torch.rand(1, *fixed_hw, c_in), out_dir / "model.tflite", dynamic=False)
    check_parity(net, path, run_tflite, True, [fixed_hw], tolerance)
    written[path] = [fixed_hw]
    if fp16:
        for fp32_path, sizes in list(written.items()):
            half = fp16_weights(fp32_path)
            # fp16 weights round to ~1e-3 relative, so its parity bound is looser than fp32's.
            check_parity(net, half, run_tflite, True, sizes, max(tolerance, 2e-2))
            written[half] = sizes
    return list(written)


def export_onnx(net: nn.Module, out_dir: Path, tolerance: float, parity_sizes) -> list[Path]:
    c_in = 4 if net.input_kind == "packed4" else 3
    dims = {2: torch.export.Dim("height", min=2, max=8192), 3: torch.export.Dim("width", min=2, max=8192)}
    path = out_dir / "model.onnx"
    with atomic_path(path) as tmp:
        _quiet_convert(lambda: torch.onnx.export(net.eval(), (torch.rand(1, c_in, 64, 96),), str(tmp),
                                                 input_names=["input"], output_names=["output"],
                                                 dynamic_shapes={"x": dims}, dynamo=True, external_data=False))
    check_parity(net, path, run_onnx, False, parity_sizes, tolerance)
    return [path]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="checkpoint path or published name (see pretrained/README.md)")
    p.add_argument("--backbone", help="generator name; optional for published checkpoints")
    p.add_argument("--format", required=True, choices=["tflite", "onnx"])
    p.add_argument("--out", required=True, type=Path, help="output directory")
    p.add_argument("--fp16", action="store_true", help="TFLite: also write float16-weight copies")
    p.add_argument("--fixed-size", nargs=2, type=int, metavar=("H", "W"),
                   help="input H W of model.tflite (default 544 960 packed, 1088 1920 for RMFA)")
    p.add_argument("--no-dynamic", action="store_true", help="TFLite: skip model_none.tflite")
    p.add_argument("--parity-size", nargs=2, type=int, default=(36, 52), metavar=("H", "W"),
                   help="input size of the dynamic-shape parity check (a second size is derived)")
    p.add_argument("--tolerance", type=float, default=1e-4, help="max abs difference allowed (fp32)")
    p.add_argument("--random", action="store_true", help="export a randomly initialised --backbone (smoke test)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    net, backbone = load_network(args.checkpoint, args.backbone, allow_random=args.random)
    fixed_hw = tuple(args.fixed_size) if args.fixed_size else default_fixed_hw(generator_info(backbone)["input_kind"])
    ph, pw = args.parity_size
    parity_sizes = [(ph, pw), (ph + 28, pw + 44)]
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"exporting {backbone} ({args.checkpoint or 'random init'}) to {args.format} in {args.out}")
    try:
        if args.format == "tflite":
            written = export_tflite(net, args.out, fixed_hw, not args.no_dynamic, args.fp16, args.tolerance,
                                    parity_sizes)
        else:
            written = export_onnx(net, args.out, args.tolerance, parity_sizes)
    except ParityError as err:
        print(f"export FAILED parity check: {err}", file=sys.stderr)
        return 1
    except ImportError as err:
        print(f"export needs the optional packages: pip install -r requirements-export.txt ({err})", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "python -m tools.export"))
