"""Semantic pseudo-pairing (docs/pairing.md): top-1 accuracy of each embedder and matcher on a synthetic set
whose true pairs are known (data.synth.synthetic_pairs: RAW and photo rendered from the same place of the same
source photo with different crops, tones and noise; photos under shuffled names), embedding throughput per
image, and the time and memory of matching N x N embeddings at scale (Sinkhorn).

  python -m bench.bench_pairing                       # 200 pairs of 128 px, 10,000 x 10,000 Sinkhorn (~3 min)
  python -m bench.bench_pairing --pairs 100 --scale 2000
DINOv2 accuracy needs its weights (python -m tools.weights download --only dinov2_small dinov2_base); without
them the bench says so and times the network with random weights (same compute).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RANDOM_TIMING_IMAGES = 32  # DINOv2 without its weights: timed on this many photos, no accuracy


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux


def scale(n: int, dim: int, reg: float) -> None:
    """n x n Sinkhorn on dim-sized embeddings: noisy copies, so the pairing is checkable too."""
    from pairing import cosine_cost, ranked_matches, transport_plan

    rng = np.random.default_rng(0)
    raw = rng.normal(size=(n, dim)).astype(np.float32)
    photo = raw + 1.5 * rng.normal(size=raw.shape).astype(np.float32)
    before = peak_rss_gib()
    start = time.perf_counter()
    cost = cosine_cost(raw, photo)
    built = time.perf_counter()
    plan = transport_plan(cost, "sinkhorn", reg=reg)
    solved = time.perf_counter()
    best = ranked_matches(plan, cost)[:, 0]
    done = time.perf_counter()
    print(f"{n} x {n} sinkhorn (reg {reg}, dim {dim}): {done - start:.1f} s in all (cost {built - start:.1f} s, "
          f"Sinkhorn {solved - built:.1f} s, ranking {done - solved:.1f} s); top-1 of the noisy copies "
          f"{np.mean(best == np.arange(n)):.1%}; process peak RSS {peak_rss_gib():.2f} GiB "
          f"(before {before:.2f} GiB; cost matrix alone {cost.nbytes / 2**30:.2f} GiB)")


def embedders_to_run(allow_random: bool) -> list:
    """(name, weights path or None, note) for colour_lab and each DINOv2 model."""
    from pretrained import MissingWeightsError, resolve_weight

    found = [("colour_lab", None, "weight-free")]
    for name in ("dinov2_small", "dinov2_base"):
        try:
            found.append((name, resolve_weight(name), "pretrained"))
        except MissingWeightsError:
            print(f"{name}: weights not present (python -m tools.weights download --only {name}); "
                  + ("timed with random weights, accuracy not meaningful" if allow_random else "skipped"))
            if allow_random:
                found.append((name, None, "RANDOM weights"))
    return found


def load_set(root: Path):
    from data import get_preset, read_mosaic, read_rgb
    from data.reference.demosaic import demosaic_reference
    from data.synth.synthetic_pairs import true_pairs

    preset = get_preset("ntire2026")
    raws = sorted((root / "train" / preset.raw_dir).glob("*.npy"), key=lambda p: int(p.stem))
    photos = sorted((root / "train" / preset.target_dir).glob("*.jpg"))
    start = time.perf_counter()
    references = []
    for path in raws:
        mosaic = read_mosaic(path, preset)
        references.append(demosaic_reference(mosaic, method="menon", white_level=preset.white_level,
                                              out_size=mosaic.shape))
    render_ms = (time.perf_counter() - start) / len(raws) * 1e3
    truth = true_pairs(root)
    expected = np.array([[p.stem for p in photos].index(truth[r.stem]) for r in raws])
    return references, [read_rgb(p) for p in photos], expected, render_ms


def accuracy(args) -> None:
    import ot  # noqa: F401  (imported before any timing: the import is not the matching's cost)

    import pairing
    from data.synth.synthetic_pairs import make_pairing_set

    with tempfile.TemporaryDirectory(prefix="bench_pairing_") as scratch:
        root = make_pairing_set(Path(scratch) / "set", args.pairs, size=args.size, seed=0)
        references, photos, expected, render_ms = load_set(root)
    print(f"{args.pairs} known pairs of {args.size} px (crop jitter 10%, tone and white balance per photo, "
          f"noise 0.02); RAW rendering (menon reference) {render_ms:.1f} ms per RAW")
    for name, weights, note in embedders_to_run(args.random_dinov2):
        embedder = pairing.build_embedder(name, weights, image_level=args.image_level)
        if weights is None and name != "colour_lab":  # random weights: throughput only, on a few images
            start = time.perf_counter()
            embedder.embed(photos[:RANDOM_TIMING_IMAGES])
            per_image = (time.perf_counter() - start) / RANDOM_TIMING_IMAGES * 1e3
            print(f"  {name:<12} [{note}] {per_image:6.1f} ms/image embedding ({RANDOM_TIMING_IMAGES} images)")
            continue
        start = time.perf_counter()
        raw_rows, photo_rows = embedder.embed(references), embedder.embed(photos)
        per_image = (time.perf_counter() - start) / (2 * args.pairs) * 1e3
        cost = pairing.cosine_cost(raw_rows, photo_rows)
        scores = {"nearest (no OT)": np.mean(cost.argmin(axis=1) == expected)}
        for matcher in ("emd", "sinkhorn", "fgw"):
            start = time.perf_counter()
            best, _ = pairing.match_sets(raw_rows, photo_rows, matcher, reg=args.reg, alpha=args.alpha)
            scores[f"{matcher} ({(time.perf_counter() - start) * 1e3:.0f} ms)"] = np.mean(best[:, 0] == expected)
        print(f"  {name:<12} [{note}] {per_image:6.1f} ms/image embedding, top-1: "
              + ", ".join(f"{k} {v:.1%}" for k, v in scores.items()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_pairing", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=200, help="known pairs in the accuracy set")
    parser.add_argument("--size", type=int, default=128, help="RAW mosaic and photo side (pixels)")
    parser.add_argument("--scale", type=int, default=10_000, help="N of the N x N Sinkhorn timing (0 = skip)")
    parser.add_argument("--dim", type=int, default=384, help="embedding size of the timing (384 = DINOv2 ViT-S)")
    parser.add_argument("--reg", type=float, default=0.05, help="Sinkhorn regularisation")
    parser.add_argument("--alpha", type=float, default=0.5, help="fgw alpha")
    parser.add_argument("--image-level", default="cls", choices=["cls", "mean"], help="DINOv2 image embedding")
    parser.add_argument("--random-dinov2", action="store_true", help="time DINOv2 with random weights when absent")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    print(f"threads={torch.get_num_threads()} load_avg={os.getloadavg()[0]:.2f}")
    if args.scale:
        scale(args.scale, args.dim, args.reg)  # first: the process peak RSS is then the matching's own
    accuracy(args)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from cli import run_main
    sys.exit(run_main(main, "python -m bench.bench_pairing"))
