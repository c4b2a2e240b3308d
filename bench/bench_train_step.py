"""Benchmark one unpaired training step (generator: content, adv color, adv lin0, adv lin3, TV + DLA;
then one discriminator step) on CPU with random backbones, scheduled two ways:

- ours: one torch.autograd.grad per term over the generator parameters, combined directly (DLA);
  one AlexNet pass serves both texture layers; real-image features without autograd; frozen ViT.
- release: a backward per term for the scales, another per term for logging, then a backward of the
  total; one AlexNet pass per layer and image; ViT parameters requiring grad; real features with autograd.

Each schedule runs in its own child process so peak memory is measured separately; the parent prints
time, peak memory and the speed ratio.

    python -m bench.bench_train_step [--batch 4] [--size 256] [--steps 1] [--vit vit_base_patch16_224]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
import warnings

import torch

from losses import (build_color_features, build_texture_features, build_vgg19_relu54, content_loss,
                    discriminator_step_loss, dla_backward, gradient_penalty, relativistic_d_loss,
                    relativistic_g_loss, tv_loss)
from models import build_discriminator, build_generator

TERMS = ("content", "adv_color", "adv_lin0", "adv_lin3", "tv")


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


def build_networks(args):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random backbones are the point of this benchmark
        nets = {"G": build_generator(args.generator),
                "vgg": build_vgg19_relu54("matconvnet", allow_random=True),
                "tex": build_texture_features(allow_random=True),
                "vit": build_color_features(args.vit, allow_random=True)}
    with torch.no_grad():
        map0, map3 = nets["tex"](torch.zeros(1, 3, args.size, args.size))
    nets["D0"] = build_discriminator("texture", in_channels=64, feature_size=map0.shape[-1])
    nets["D3"] = build_discriminator("texture", in_channels=256, feature_size=map3.shape[-1])
    nets["Dc"] = build_discriminator("color", token_dim=nets["vit"].token_dim)
    nets["opt_G"] = torch.optim.Adam(nets["G"].parameters(), lr=5e-4, betas=(0.5, 0.9))
    d_params = [p for k in ("D0", "D3", "Dc") for p in nets[k].parameters()]
    nets["opt_D"] = torch.optim.Adam(d_params, lr=1e-5, betas=(0.5, 0.9))
    return nets


def make_batch(args, generator):
    g = torch.Generator().manual_seed(1)
    scale = generator.output_scale
    if generator.input_kind == "packed4":
        raw = torch.rand(args.batch, 4, args.size // scale, args.size // scale, generator=g)
    else:
        raw = torch.rand(args.batch, 3, args.size, args.size, generator=g)
    return {"raw": raw, "reference": torch.rand(args.batch, 3, args.size, args.size, generator=g),
            "target": torch.rand(args.batch, 3, args.size, args.size, generator=g)}


# ---------------------------------------------------------------- ours
def ours_generator_step(nets, batch):
    G = nets["G"]
    out = G(batch["raw"])
    with torch.no_grad():  # real images only condition D(real): no graph needed
        real0, real3 = nets["tex"](batch["target"])
        real_tokens = nets["vit"](batch["target"])
        d_real = {"c": nets["Dc"](real_tokens), "0": nets["D0"](real0), "3": nets["D3"](real3)}
    fake0, fake3 = nets["tex"](out)  # one trunk pass for both layers
    fake_tokens = nets["vit"](out)
    terms = {"content": content_loss(nets["vgg"], out, batch["reference"], "lab_l"),
             "adv_color": relativistic_g_loss(d_real["c"], nets["Dc"](fake_tokens)),
             "adv_lin0": relativistic_g_loss(d_real["0"], nets["D0"](fake0)),
             "adv_lin3": relativistic_g_loss(d_real["3"], nets["D3"](fake3)),
             "tv": tv_loss(out)}
    nets["opt_G"].zero_grad(set_to_none=True)
    _, norms = dla_backward(terms, list(G.parameters()))  # norms are the logged values
    nets["opt_G"].step()
    return {"real": (real0, real3, real_tokens), "norms": norms}


def ours_discriminator_step(nets, batch, cache):
    with torch.no_grad():
        out = nets["G"](batch["raw"])
        fake0, fake3 = nets["tex"](out)
        fake_tokens = nets["vit"](out)
    real0, real3, real_tokens = cache["real"]
    loss = sum(discriminator_step_loss(nets[d], real, fake)[0]
               for d, real, fake in (("D0", real0, fake0), ("D3", real3, fake3), ("Dc", real_tokens, fake_tokens)))
    _d_update(nets, loss)


def _d_update(nets, loss):
    nets["opt_D"].zero_grad(set_to_none=True)
    loss.backward()
    params = [p for group in nets["opt_D"].param_groups for p in group["params"]]
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    nets["opt_D"].step()


# ---------------------------------------------------------------- release
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
    return {"norms": logged}


def _grad_norm(params):
    return torch.cat([p.grad.flatten() for p in params if p.grad is not None]).norm().item()


def release_discriminator_step(nets, batch, cache):
    out = nets["G"](batch["raw"])
    pairs = (("D0", _release_texture(nets, batch["target"], 0), _release_texture(nets, out, 0)),
             ("D3", _release_texture(nets, batch["target"], 3), _release_texture(nets, out, 3)),
             ("Dc", nets["vit"](batch["target"]), nets["vit"](out)))
    loss = 0
    for d, real, fake in pairs:
        real, fake = real.detach(), fake.detach()
        r1, r2 = gradient_penalty(nets[d], real), gradient_penalty(nets[d], fake)
        loss = loss + relativistic_d_loss(nets[d](real), nets[d](fake)) + 5.0 * 100.0 * (r1 + r2)
    _d_update(nets, loss)
    nets["vit"].zero_grad(set_to_none=True)


SCHEDULES = {"ours": (ours_generator_step, ours_discriminator_step),
             "release": (release_generator_step, release_discriminator_step)}


def run_schedule(mode, args):
    nets = build_networks(args)
    if mode == "release":
        nets["vit"].vit.requires_grad_(True)  # as in the release
    batch = make_batch(args, nets["G"])
    g_step, d_step = SCHEDULES[mode]
    for _ in range(args.warmup):
        d_step(nets, batch, g_step(nets, batch))
    wall = {"g": [], "d": []}
    cpu = {"g": [], "d": []}  # process CPU seconds (all threads): robust when other jobs share the cores
    with PeakRSS() as memory:
        for _ in range(args.steps):
            w0, c0 = time.perf_counter(), time.process_time()
            cache = g_step(nets, batch)
            w1, c1 = time.perf_counter(), time.process_time()
            d_step(nets, batch, cache)
            wall["g"].append(w1 - w0), cpu["g"].append(c1 - c0)
            wall["d"].append(time.perf_counter() - w1), cpu["d"].append(time.process_time() - c1)
    return {"mode": mode, "g_step_s": min(wall["g"]), "d_step_s": min(wall["d"]),
            "g_step_cpu_s": min(cpu["g"]), "d_step_cpu_s": min(cpu["d"]),
            "step_peak_increase_mb": memory.increase_mb,
            "process_max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "norms": cache["norms"]}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=256, help="generator output size (square)")
    parser.add_argument("--steps", type=int, default=1, help="timed steps per schedule (best is reported)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--generator", default="efficient_isp")
    parser.add_argument("--vit", default="vit_base_patch16_224", help="timm ViT name (random weights)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--child", choices=sorted(SCHEDULES), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        print("RESULT " + json.dumps(run_schedule(args.child, args)), flush=True)
        return 0
    results = {}
    child_args = [a for a in (argv if argv is not None else sys.argv[1:])]
    for mode in ("ours", "release"):
        print(f"running '{mode}' schedule (batch {args.batch}, {args.size}x{args.size}, {args.vit}) ...", flush=True)
        proc = subprocess.run([sys.executable, "-m", "bench.bench_train_step", *child_args, "--child", mode],
                              capture_output=True, text=True)
        line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            print(proc.stdout + proc.stderr, file=sys.stderr)
            raise SystemExit(f"'{mode}' schedule failed (exit {proc.returncode})")
        results[mode] = json.loads(line[len("RESULT "):])
    print(f"\n{'schedule':<10}{'G wall s':>10}{'D wall s':>10}{'G cpu s':>10}{'D cpu s':>10}"
          f"{'step peak +MB':>15}{'max RSS MB':>12}")
    for mode, r in results.items():
        print(f"{mode:<10}{r['g_step_s']:>10.2f}{r['d_step_s']:>10.2f}{r['g_step_cpu_s']:>10.2f}"
              f"{r['d_step_cpu_s']:>10.2f}{r['step_peak_increase_mb']:>15.0f}{r['process_max_rss_mb']:>12.0f}")
    ours, rel = results["ours"], results["release"]
    for label, g, d in (("wall", "g_step_s", "d_step_s"), ("CPU", "g_step_cpu_s", "d_step_cpu_s")):
        print(f"speed-up by {label} time (release / ours): generator step {rel[g] / ours[g]:.2f}x, "
              f"G+D {(rel[g] + rel[d]) / (ours[g] + ours[d]):.2f}x (goal >= 2.5x)")
    print(f"peak step memory (release / ours): {rel['step_peak_increase_mb'] / max(ours['step_peak_increase_mb'], 1):.2f}x")
    print("logged gradient norms (ours):", {k: f"{v:.3g}" for k, v in ours["norms"].items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
