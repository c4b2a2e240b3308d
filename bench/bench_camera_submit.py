"""Throughput of the new-data tools: `tools.data ingest` on synthetic DNGs (files/s) and `tools.submit` (images/s).

  python -m bench.bench_camera_submit                          # 16 DNGs of 1024x1536 + 4 photos; 16 .npy 256x256x4
  python -m bench.bench_camera_submit --dngs 48 --workers 4
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_inputs(folder: Path, dngs: int, photos: int, npys: int, size: tuple) -> None:
    from PIL import Image

    from data.synth.dng_writer import BAYER_CFA, write_dng

    rng = np.random.default_rng(0)
    for kind in ("dng", "photos", "npy"):
        (folder / kind).mkdir(parents=True)
    phases = sorted(BAYER_CFA)
    for i in range(dngs):
        mosaic = rng.integers(200, 4095, size).astype(np.uint16)
        write_dng(folder / "dng" / f"cam_{i:03d}", mosaic, BAYER_CFA[phases[i % 4]], [256, 257, 258, 259], 4095)
    for i in range(photos):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / "photos" / f"p{i}.jpg")
    for i in range(npys):
        np.save(folder / "npy" / f"{i:04d}.npy", rng.integers(0, 1024, (256, 256, 4)).astype(np.uint16))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dngs", type=int, default=16)
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--npys", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    import torch

    from models import build_generator
    from tools import data as data_tool
    from tools import submit

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_inputs(folder, args.dngs, args.photos, args.npys, (1024, 1536))
        start = time.perf_counter()
        data_tool.main(["ingest", "--raw", str(folder / "dng"), "--photos", str(folder / "photos"),
                        "--out", str(folder / "set"), "--patch", "256", "--workers", str(args.workers)])
        seconds = time.perf_counter() - start
        files = args.dngs + args.photos
        print(f"ingest: {files} files (1024x1536 DNG 12-bit / JPEG, 256 px tiles) in {seconds:.2f} s = "
              f"{files / seconds:.1f} files/s with {args.workers} worker(s)")
        torch.save(build_generator("efficient_isp").state_dict(), folder / "G.pth")
        torch.set_num_threads(os.cpu_count() or 1)
        start = time.perf_counter()
        submit.main(["--checkpoint", str(folder / "G.pth"), "--backbone", "efficient_isp", "--input",
                     str(folder / "npy"), "--output", str(folder / "sub"), "--device", "cpu"])
        seconds = time.perf_counter() - start
        print(f"submit: {args.npys} inputs of 256x256x4 -> 512x512 JPEG in {seconds:.2f} s = "
              f"{args.npys / seconds:.1f} images/s on CPU (model load and zip included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
