"""Time fit.py's own unpaired training step (fit.Trainer._train_step on a batch from fit's loader) against
the authors' release schedule, on CPU with random backbones (256x256 output, ViT-B by default).

Schedules, each in its own child process (so peak memory is measured separately):
- cached:   fit.py with feature_cache=True and all three cacheable features (content, color, texture): the
            real images' D features and the reference's VGG features come from the frozen-feature cache
            (filled first; fill time and disk per image are reported);
- no_residue: as cached, with emulate_first_linear_residue=False: the cost of emulating the release's
            gradient residue on the texture discriminators' first linear layer (cached vs no_residue);
- computed: fit.py with feature_cache=False: every feature computed in the step;
- release:  the release schedule on the same networks and batch: a backward per term for the DLA scales,
            another per term for logging, then a backward of the total; one AlexNet pass per layer and image;
            ViT parameters requiring grad; real features with autograd; the D step recomputes G and features.
The D step is timed by wrapping fit.discriminator_step (fit's G step = the rest of _train_step). The
parent asserts identical training: the three schedules' loss values and generator weights after the first
step agree to float tolerance (the D update is the lead's: its phase and residue are compared elsewhere).

    python -m bench.bench_train_step [--batch 4] [--size 256] [--steps 1] [--vit vit_base_patch16_224]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import torch

import fit
from data import make_synthetic_dataset
from losses import content_loss, gradient_penalty, relativistic_d_loss, relativistic_g_loss, tv_loss
from training.config_loader import load_config
from training.distributed import DistInfo
from training.monitor import Monitor
from training.sampling import make_loader

REPO = Path(__file__).resolve().parents[1]
SCHEDULES = ("cached", "no_residue", "computed", "release")


class PeakRSS:
    """Samples the resident set size in a thread: peak increase over the RSS at start, in MB."""

    def __init__(self, interval=0.005):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    @staticmethod
    def rss_bytes():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss_bytes())
            time.sleep(self.interval)

    def __enter__(self):
        self.start = self.peak = self.rss_bytes()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.increase_mb = (max(self.peak, self.rss_bytes()) - self.start) / 2**20


def make_trainer(args, work: Path, mode: str):
    """fit.Trainer for the unpaired stage on the synthetic dataset in work/data (shared by all schedules)."""
    feature_cache = mode in ("cached", "no_residue")
    settings = dict(data_root=str(work / "data"), out_dir=str(work / mode / "runs"), allow_random_backbones=True,
                    vit_model=args.vit, backbone=args.generator, batch_size=args.batch, num_workers=0,
                    cache_dir=str(work / mode / "demosaic"), d_every=1, log_every=10**9, sample_every=10**9,
                    feature_cache=feature_cache, feature_cache_dir=str(work / mode / "features"),
                    feature_cache_features=("content", "color", "texture"),  # all three (default: no texture)
                    emulate_first_linear_residue=mode != "no_residue")
    cfg = load_config(REPO / "config.py", [f"{k}={v}" for k, v in settings.items()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random backbones are the point of this benchmark
        return fit.Trainer("unpaired", cfg, work / mode / "runs" / "unpaired", None, DistInfo(), torch.device("cpu"))


def first_batch(trainer) -> dict:
    return next(iter(make_loader(trainer.dataset, trainer.cfg, 0, 1, 0, 1, pin_memory=False)))


class DiscriminatorTimer:
    """Wraps fit.discriminator_step so one _train_step call splits into G and D wall / CPU seconds."""

    def __init__(self):
        self.wall = self.cpu = 0.0
        self.inner = fit.discriminator_step

    def __call__(self, *args, **kwargs):
        w, c = time.perf_counter(), time.process_time()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.wall, self.cpu = time.perf_counter() - w, time.process_time() - c


def fit_step(trainer, batch, monitor, timer):
    """One fit.py step; returns (logs, (g_wall, d_wall), (g_cpu, d_cpu))."""
    trainer.step += 1
    w, c = time.perf_counter(), time.process_time()
    logs = trainer._train_step(batch, list(trainer.generator.parameters()), monitor)
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    return logs, (wall - timer.wall, timer.wall), (cpu - timer.cpu, timer.cpu)


# ---------------------------------------------------------------- release
def release_networks(trainer) -> dict:
    """The trainer's own networks and optimizers (same initial weights), used the release's way."""
    kit = trainer.kit
    kit.color.vit.requires_grad_(True)  # as in the release
    return {"G": trainer.generator, "vgg": kit.vgg, "tex": kit.texture, "vit": kit.color,
            "D0": kit.discriminators["lin0"], "D3": kit.discriminators["lin3"], "Dc": kit.discriminators["color"],
            "opt_G": trainer.g_opt, "opt_D": {"D0": trainer.d_opts["lin0"], "D3": trainer.d_opts["lin3"],
                                              "Dc": trainer.d_opts["color"]}}


def _release_texture(nets, image, layer):
    return nets["tex"](image)[0 if layer == 0 else 1]  # a full trunk pass per layer


def release_generator_step(nets, batch):
    G = nets["G"]
    params = list(G.parameters())
    out = G(batch["raw"])
    fake0, fake3 = _release_texture(nets, out, 0), _release_texture(nets, out, 3)
    real0, real3 = _release_texture(nets, batch["target"], 0), _release_texture(nets, batch["target"], 3)
    fake_tokens, real_tokens = nets["vit"](out), nets["vit"](batch["target"])
    terms = {"content": content_loss(nets["vgg"], out, batch["reference"], "lab_l"),
             "adv_color": relativistic_g_loss(nets["Dc"](real_tokens), nets["Dc"](fake_tokens)),
             "adv_lin0": relativistic_g_loss(nets["D0"](real0), nets["D0"](fake0)),
             "adv_lin3": relativistic_g_loss(nets["D3"](real3), nets["D3"](fake3)),
             "tv": tv_loss(out)}
    scales, logged = {}, {}
    for name, term in terms.items():  # backward per term for the scales
        G.zero_grad(set_to_none=True)
        term.backward(retain_graph=True)
        scales[name] = 1.0 / (_grad_norm(params) + 1e-8)
    for name, term in terms.items():  # again per term for logging
        G.zero_grad(set_to_none=True)
        term.backward(retain_graph=True)
        logged[name] = _grad_norm(params)
    nets["opt_G"].zero_grad(set_to_none=True)
    sum(scales[k] * terms[k] for k in terms).backward()
    nets["opt_G"].step()
    for k in ("D0", "D3", "Dc", "vit"):
        nets[k].zero_grad(set_to_none=True)
    return {f"raw/{k}": v.item() for k, v in terms.items()}


def _grad_norm(params):
    return torch.cat([p.grad.flatten() for p in params if p.grad is not None]).norm().item()


def release_discriminator_step(nets, batch):
    out = nets["G"](batch["raw"])
    pairs = (("D0", _release_texture(nets, batch["target"], 0), _release_texture(nets, out, 0)),
             ("D3", _release_texture(nets, batch["target"], 3), _release_texture(nets, out, 3)),
             ("Dc", nets["vit"](batch["target"]), nets["vit"](out)))
    for d, real, fake in pairs:
        real, fake = real.detach(), fake.detach()
        r1, r2 = gradient_penalty(nets[d], real), gradient_penalty(nets[d], fake)
        loss = relativistic_d_loss(nets[d](real), nets[d](fake)) + 5.0 * 100.0 * (r1 + r2)
        nets["opt_D"][d].zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(nets[d].parameters(), 1.0)
        nets["opt_D"][d].step()
    nets["vit"].zero_grad(set_to_none=True)


def release_step(nets, batch):
    w, c = time.perf_counter(), time.process_time()
    logs = release_generator_step(nets, batch)
    w1, c1 = time.perf_counter(), time.process_time()
    release_discriminator_step(nets, batch)
    return logs, (w1 - w, time.perf_counter() - w1), (c1 - c, time.process_time() - c1)


# ---------------------------------------------------------------- one schedule per child process
def run_schedule(mode, args):
    work = Path(args.work)
    start = time.perf_counter()
    trainer = make_trainer(args, work, mode)
    extra = {"build_s": time.perf_counter() - start}
    if mode == "cached":
        files = list((work / mode / "features").rglob("*.npy"))
        extra["cache_mb_per_image"] = sum(f.stat().st_size for f in files) / 2**20 / len(trainer.dataset)
    batch = first_batch(trainer)
    if mode == "release":
        nets = release_networks(trainer)
        step = lambda: release_step(nets, batch)  # noqa: E731
    else:
        timer, monitor = DiscriminatorTimer(), Monitor(work / mode, False)
        fit.discriminator_step = timer
        step = lambda: fit_step(trainer, batch, monitor, timer)  # noqa: E731
    first_logs = step()[0]  # the first step (from the shared initial weights) is the identity check
    torch.save(trainer.generator.state_dict(), work / f"{mode}_G_after_first_step.pt")
    for _ in range(args.warmup - 1):
        step()
    wall, cpu = {"g": [], "d": []}, {"g": [], "d": []}
    with PeakRSS() as memory:
        for _ in range(args.steps):
            _, (g_wall, d_wall), (g_cpu, d_cpu) = step()
            wall["g"].append(g_wall), wall["d"].append(d_wall), cpu["g"].append(g_cpu), cpu["d"].append(d_cpu)
    return {"mode": mode, "g_step_s": min(wall["g"]), "d_step_s": min(wall["d"]),
            "g_step_cpu_s": min(cpu["g"]), "d_step_cpu_s": min(cpu["d"]),
            "step_peak_increase_mb": memory.increase_mb,
            "process_max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "terms": {k: v for k, v in first_logs.items() if k.startswith("raw/")}, **extra}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=256, help="generator output size (square)")
    parser.add_argument("--steps", type=int, default=1, help="timed steps per schedule (best is reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (>= 1: the identity check)")
    parser.add_argument("--generator", default="efficient_isp")
    parser.add_argument("--vit", help="timm ViT name, random weights (default: config.py's vit_model)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--child", choices=SCHEDULES, help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.vit = args.vit or load_config(REPO / "config.py")["vit_model"]
    return args


def check_identical_training(work: Path, results: dict, tolerance: float = 1e-4) -> str:
    """The schedules start from the same weights and batch: same loss values and generator update."""
    states = {mode: torch.load(work / f"{mode}_G_after_first_step.pt", weights_only=True) for mode in results}
    lines = []
    for mode in ("cached", "no_residue", "computed"):
        weight_gap = max((states[mode][k] - v).abs().max().item() / max(v.abs().max().item(), 1e-12)
                         for k, v in states["release"].items())
        loss_gap = max(abs(results[mode]["terms"][k] - v) / max(abs(v), 1e-12)
                       for k, v in results["release"]["terms"].items())
        if weight_gap > tolerance or loss_gap > tolerance:
            raise SystemExit(f"fit.py '{mode}' does not train like the release: generator weights rel. gap "
                             f"{weight_gap:.2e}, loss values rel. gap {loss_gap:.2e} (tolerance {tolerance:g})")
        lines.append(f"identical training, {mode} vs release (first step, same start): max rel. gap "
                     f"generator weights {weight_gap:.1e}, loss values {loss_gap:.1e} (tolerance {tolerance:g})")
    return "\n".join(lines)


def run_children(args, argv, work: Path) -> dict:
    results = {}
    for mode in SCHEDULES:
        print(f"running '{mode}' (batch {args.batch}, {args.size}x{args.size}, {args.vit}) ...", flush=True)
        proc = subprocess.run([sys.executable, "-m", "bench.bench_train_step", *argv, "--child", mode,
                               "--work", str(work)], capture_output=True, text=True, cwd=REPO)
        line = next((out for out in proc.stdout.splitlines() if out.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            print(proc.stdout + proc.stderr, file=sys.stderr)
            raise SystemExit(f"'{mode}' schedule failed (exit {proc.returncode})")
        results[mode] = json.loads(line[len("RESULT "):])
    return results


def report(args, results: dict) -> None:
    print(f"\n{'schedule':<11}{'G wall s':>10}{'D wall s':>10}{'G cpu s':>10}{'D cpu s':>10}"
          f"{'step peak +MB':>15}{'max RSS MB':>12}")
    for mode, r in results.items():
        print(f"{mode:<11}{r['g_step_s']:>10.2f}{r['d_step_s']:>10.2f}{r['g_step_cpu_s']:>10.2f}"
              f"{r['d_step_cpu_s']:>10.2f}{r['step_peak_increase_mb']:>15.0f}{r['process_max_rss_mb']:>12.0f}")
    rel = results["release"]
    total = lambda r, kind: r[f"g_step{kind}_s"] + r[f"d_step{kind}_s"]  # noqa: E731
    for mode in ("cached", "computed"):
        ours = results[mode]
        for label, kind in (("wall", ""), ("CPU", "_cpu")):
            print(f"release / fit.py {mode:<8} by {label:<4} time: "
                  f"G {rel[f'g_step{kind}_s'] / ours[f'g_step{kind}_s']:.2f}x, "
                  f"D {rel[f'd_step{kind}_s'] / ours[f'd_step{kind}_s']:.2f}x, "
                  f"G+D {total(rel, kind) / total(ours, kind):.2f}x (goal >= 4x)")
    cached, computed, plain = results["cached"], results["computed"], results["no_residue"]
    print(f"residue emulation cost (cached / no_residue): G wall {cached['g_step_s'] / plain['g_step_s']:.3f}x, "
          f"CPU {cached['g_step_cpu_s'] / plain['g_step_cpu_s']:.3f}x; "
          f"D wall {cached['d_step_s'] / plain['d_step_s']:.3f}x, "
          f"CPU {cached['d_step_cpu_s'] / plain['d_step_cpu_s']:.3f}x")
    print(f"feature cache speed-up (computed / cached, G+D): wall {total(computed, '') / total(cached, ''):.2f}x, "
          f"CPU {total(computed, '_cpu') / total(cached, '_cpu'):.2f}x; disk {cached['cache_mb_per_image']:.2f} MB "
          f"per image ({args.size}x{args.size}, float32); filling it took about "
          f"{cached['build_s'] - computed['build_s']:.1f} s for {args.batch} images (trainer build difference)")


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        print("RESULT " + json.dumps(run_schedule(args.child, args)), flush=True)
        return 0
    argv = list(argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_synthetic_dataset(work / "data", "fujifilm", counts={"train": args.batch}, size=args.size, seed=0)
        results = run_children(args, argv, work)
        identity = check_identical_training(work, results)
    report(args, results)
    print(identity)
    return 0


if __name__ == "__main__":
    sys.exit(main())
