"""Train a learned ISP: demosaic pretraining, then unpaired / paired training (docs/method.md §6).

examples:
  python fit.py                                         # config.py as it is
  python fit.py --set backbone=rmfa_tiny stage=paired   # typed overrides of config.py keys
  python fit.py --config my_config.py --set max_steps=500
  python fit.py --config recipes/fujifilm_efficient_isp_unpaired.py   # a published result (README)
  python fit.py --resume runs/NAME                      # continue exactly where the run stopped
  torchrun --nproc_per_node=4 fit.py --set batch_size=64  # several GPUs (gloo on CPU)

A run folder holds one sub-folder per stage (pretrain/, unpaired/, ...), each with config.json,
checkpoints/G_step_<N>.pth (generator weights, what inference.py sweeps; G_step_0.pth is the starting
generator of a main stage), checkpoints/last.pth (the full state for --resume), tb/ (TensorBoard)
and samples/ (PNG grids).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from models import build_generator
from training import checkpoints as ckpt
from training.acceleration import configure_acceleration
from training.config_loader import ConfigError, apply_overrides, load_config, save_config
from training.distributed import (
    DistInfo,
    average_gradients,
    average_param_grads,
    broadcast_module,
    cleanup,
    init_distributed,
)
from training.feature_fill import attach_feature_cache
from training.monitor import Monitor, write_nonfinite_report
from training.pairing_run import resolve_pairing, target_pairing_rule
from training.sampling import make_loader, random_crop_batch
from training.stages import (
    STAGE_TABLE,
    STAGES,
    add_residues,
    build_loss_kit,
    discriminator_step,
    generator_gradients,
    generator_terms,
    is_discriminator_step,
    residue_inputs,
    residue_parameters,
)
from wiring import build_dataset, load_model, resolve_generator


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config.py", help="config file of commented defaults, or one extending it "
                        "(base_config = ...), e.g. recipes/<name>.py")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override config keys")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the run in this folder")
    return parser.parse_args(argv)


def effective_config(args) -> dict:
    cfg = load_config(args.config, args.set)
    if args.resume:  # the run's own saved configuration wins over config.py; --set still applies
        saved = json.loads((Path(args.resume) / "config.json").read_text())
        cfg = apply_overrides(apply_overrides(cfg, saved), args.set)
        cfg["out_dir"], cfg["run_name"] = str(Path(args.resume).parent), Path(args.resume).name
    if cfg["stage"] not in STAGES:
        raise ConfigError(f"stage '{cfg['stage']}' is not one of {', '.join(STAGES)}")
    wrong = [s for s in cfg["prior_stages"] if s not in STAGES or s == "pretrain"]
    if wrong:
        raise ConfigError(f"prior_stages: {wrong[0]!r} is not one of {', '.join(STAGES[1:])} (pretrain runs first "
                          "by itself when pretrained_generator is empty)")
    if cfg["checkpoint_schedule"] not in ckpt.CHECKPOINT_SCHEDULES:
        raise ConfigError(f"checkpoint_schedule '{cfg['checkpoint_schedule']}' is not one of "
                          f"{', '.join(ckpt.CHECKPOINT_SCHEDULES)}")
    return cfg


def pick_device(cfg: dict, info: DistInfo) -> torch.device:
    name = cfg["device"]
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and info.enabled:
        name = f"cuda:{info.local_rank}"
    device = torch.device(name)
    if device.type == "cuda":
        torch.cuda.set_device(device)  # nccl collectives run on the current device
    return device


def run_folder(cfg: dict, info: DistInfo) -> Path:
    name = cfg["run_name"] or time.strftime("%Y%m%d-%H%M%S")
    if info.enabled:  # all ranks must agree on a timestamped name
        holder = [name]
        torch.distributed.broadcast_object_list(holder, src=0)
        name = holder[0]
    return Path(cfg["out_dir"]) / name


def make_dataset(stage: str, cfg: dict, input_kind: str):
    """The training split (only train_indices' stems, for inputs and unpaired targets alike, when set)."""
    spec = STAGE_TABLE[stage]
    return build_dataset(cfg, cfg["train_split"], input_kind, paired=spec.paired, reference=spec.reads_reference,
                         indices=cfg["train_indices"] or None, require_targets=spec.needs_targets,
                         target_pairing=target_pairing_rule(stage, cfg))


class Trainer:
    """One stage of training: its networks, optimizers, data and the step loop."""

    def __init__(self, stage: str, cfg: dict, stage_dir: Path, init_weights: Path | None,
                 info: DistInfo, device: torch.device):
        self.stage, self.cfg, self.stage_dir = stage, dict(cfg, stage=stage), stage_dir
        self.info, self.device = info, device
        self.total = cfg[STAGE_TABLE[stage].step_budget_key]
        torch.manual_seed(cfg["seed"])  # same random init (and random backbones) on every rank
        self.generator = (build_generator(cfg["backbone"]).to(device) if init_weights is None
                          else load_model(init_weights, cfg["backbone"], device)[2]).train()
        self.dataset = make_dataset(stage, self.cfg, self.generator.input_kind)
        output_size = cfg["patch_size"] or self.dataset[0]["raw"].shape[-1] * self.generator.output_scale
        self.kit = build_loss_kit(stage, self.cfg, output_size, device)
        configure_acceleration(self.cfg, device, self.generator, self.kit)  # before the cache: same extractors
        self.dataset = attach_feature_cache(self.dataset, self.kit, self.cfg, device, info)
        self.g_opt = torch.optim.Adam(self.generator.parameters(), lr=cfg["g_lr"], betas=tuple(cfg["g_betas"]))
        self.d_opts = {name: torch.optim.Adam(d.trained_parameters(), lr=cfg["d_lr"], betas=tuple(cfg["d_betas"]))
                       for name, d in self.kit.discriminators.items()}
        self.step, self.skipped = 0, 0
        for module in [self.generator, *self.kit.discriminators.values()]:
            broadcast_module(module, info)

    # --- state ---------------------------------------------------------------------------------
    def state(self) -> dict:
        return {"generator": self.generator.state_dict(),
                "discriminators": {k: d.state_dict() for k, d in self.kit.discriminators.items()},
                "optimizers": {"generator": self.g_opt.state_dict(),
                               **{k: o.state_dict() for k, o in self.d_opts.items()}},
                "residues": self._residues(),
                "step": self.step, "skipped": self.skipped, "stage": self.stage,
                "config": json.loads(json.dumps(self.cfg, default=list)), "rng": ckpt.rng_state()}

    def restore(self, state: dict) -> None:
        if state.get("stage") != self.stage:
            raise RuntimeError(f"{ckpt.state_path(self.stage_dir)} holds stage {state.get('stage')!r}, "
                               f"expected {self.stage!r}")
        self.generator.load_state_dict(state["generator"])
        for name, disc in self.kit.discriminators.items():
            disc.load_state_dict(state["discriminators"][name])
            self.d_opts[name].load_state_dict(state["optimizers"][name])
        self.g_opt.load_state_dict(state["optimizers"]["generator"])
        for name, grads in state.get("residues", {}).items():
            for param, grad in zip(residue_parameters(self.kit.discriminators[name]), grads):
                param.grad = grad.to(param.device)
        self.step, self.skipped = state["step"], state["skipped"]
        ckpt.set_rng_state(state["rng"])

    def _residues(self) -> dict:
        """The emulated gradient residue of each texture discriminator (part of the training state)."""
        return {name: [p.grad.detach().cpu() for p in params]
                for name, disc in self.kit.discriminators.items()
                if (params := residue_parameters(disc)) and all(p.grad is not None for p in params)}

    def save_generator(self) -> None:
        """G_step_<step>.pth: the generator weights alone, what inference.py sweeps."""
        if self.info.is_main:
            weights = {k: v.detach().cpu() for k, v in self.generator.state_dict().items()}
            ckpt.atomic_save(weights, self._generator_path(self.step))

    def _generator_path(self, step: int) -> Path:
        return ckpt.generator_checkpoint_path(self.stage_dir, step, self.cfg["checkpoint_schedule"])

    def save(self) -> None:
        self.save_generator()
        if self.info.is_main:
            ckpt.atomic_save(self.state(), ckpt.state_path(self.stage_dir))

    # --- loop ----------------------------------------------------------------------------------
    def run(self) -> Path:
        if self.step == 0 and STAGE_TABLE[self.stage].starts_from_pretrain:
            # The starting generator as G_step_0.pth, so a sweep shows what training changed
            # (a pretraining stage starts from random weights: nothing worth scoring).
            self.save_generator()
        if self.step < self.total:
            self._loop()
        return self._generator_path(self.total)

    def _loop(self) -> None:
        cfg, info = self.cfg, self.info
        monitor = Monitor(self.stage_dir, info.is_main)
        params = [p for p in self.generator.parameters()]
        loader = make_loader(self.dataset, cfg, self.step, self.total, info.rank, info.world_size,
                             pin_memory=self.device.type == "cuda" and cfg["pin_memory"])
        bar = tqdm(total=self.total, initial=self.step, desc=self.stage, disable=not info.is_main,
                   dynamic_ncols=True)
        try:
            for batch in loader:
                self.step += 1
                logs = self._train_step(batch, params, monitor)
                bar.update(1)
                if logs:
                    bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in logs.items() if k.startswith("raw/")})
                if ckpt.is_save_step(self.step, cfg["save_every"], cfg["checkpoint_schedule"], self.total):
                    self.save()
        finally:
            bar.close()
            monitor.close()

    def _train_step(self, batch: dict, params: list, monitor: Monitor) -> dict:
        cfg = self.cfg
        batch = to_device(batch, self.device)
        batch = random_crop_batch(batch, cfg["patch_size"], self.generator.output_scale, cfg["seed"], self.step)
        fake = self.generator(batch["raw"])
        terms, real, fakes = generator_terms(self.kit, fake, batch, cfg["paired_content_space"])
        values = self._reduced_values(terms)
        grads, scales, norms = None, {}, {}
        if all(map(math.isfinite, values.values())):
            grads, scales, norms, residues = generator_gradients(
                terms, params, self._reduce, residue_inputs(self.kit), lambdas=cfg["lambdas"], dla=cfg["dla"],
                dla_eps=cfg["dla_eps"])
        bad = [k for k, v in {**values, **norms}.items() if not math.isfinite(v)]
        if bad:
            self._non_finite(bad, values, batch)
            return {}
        if cfg["dla"]:
            monitor.warn_low_gradient_norms(self.step, norms, cfg["dla_eps"])
        for p, g in zip(params, grads):
            p.grad = g
        self.g_opt.step()
        add_residues(self.kit, residues)
        logs = {f"raw/{k}": v for k, v in values.items()}
        logs.update({f"weighted/{k}": cfg["lambdas"].get(k, 1.0) * scales[k] * values[k] for k in values})
        logs.update({f"dla_scale/{k}": float(s) for k, s in scales.items()})
        logs.update({f"grad_norm/{k}": float(n) for k, n in norms.items()})
        if self.kit.active_discriminators and is_discriminator_step(self.step, cfg["d_every"]):
            d_logs, d_bad = discriminator_step(
                self.kit, self.d_opts, real, fakes, lambda m: average_param_grads(m, self.info),
                r1_gamma=cfg["r1_gamma"], penalty_scale=cfg["penalty_scale"], d_grad_clip=cfg["d_grad_clip"])
            logs.update(d_logs)
            if d_bad:  # the generator step stands; the discriminators with a bad loss were not updated
                self._non_finite(list(d_bad), d_bad, batch)
        if self.step % cfg["log_every"] == 0 or self.step == self.total:
            logs["lr/generator"] = self.g_opt.param_groups[0]["lr"]
            logs.update({f"lr/D_{k}": o.param_groups[0]["lr"] for k, o in self.d_opts.items()})
            logs["skipped_steps"] = self.skipped
            monitor.scalars(self.step, logs)
        if self.step % cfg["sample_every"] == 0 or self.step == self.total:
            monitor.sample_grid(self.step, batch, fake)
        return logs

    def _reduce(self, grads: list) -> list:
        return average_gradients(grads, self.info)

    def _reduced_values(self, terms: dict) -> dict:
        """Loss values averaged over ranks, so every rank takes the same non-finite decision."""
        stacked = torch.stack([v.detach().float() for v in terms.values()])
        if self.info.enabled:
            torch.distributed.all_reduce(stacked)
            stacked /= self.info.world_size
        return dict(zip(terms, stacked.tolist()))

    def _non_finite(self, bad: list, values: dict, batch: dict) -> None:
        report = None
        if self.info.is_main:
            report = write_nonfinite_report(self.stage_dir, self.step, values, list(batch.get("name", [])),
                                            self.generator.state_dict())
        self.skipped += 1
        message = (f"non-finite loss at step {self.step} in term(s) {', '.join(bad)} "
                   f"(values {', '.join(f'{k}={values.get(k)}' for k in bad if k in values)}); "
                   f"diagnostic in {report}; last good state {ckpt.state_path(self.stage_dir)}")
        if self.cfg["nan_policy"] == "stop" or self.skipped > self.cfg["max_skipped_steps"]:
            raise FloatingPointError(message)
        tqdm.write(f"skipping: {message}")


def to_device(batch: dict, device: torch.device) -> dict:
    """Tensors of a batch (and of its nested dicts, e.g. cached_features) on the training device."""
    return {k: to_device(v, device) if isinstance(v, dict) else
            v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def train_stage(stage: str, cfg: dict, run_dir: Path, init_weights, info: DistInfo, device) -> Path:
    stage_dir = run_dir / stage
    state_file = ckpt.state_path(stage_dir)
    if info.is_main:
        ckpt.remove_stale_temp_files(state_file.parent)
    state = ckpt.load_state(state_file) if state_file.exists() else None
    total = cfg[STAGE_TABLE[stage].step_budget_key]
    if state is not None and state["step"] >= total:  # finished earlier: nothing to build
        return ckpt.generator_checkpoint_path(stage_dir, state["step"], cfg["checkpoint_schedule"])
    trainer = Trainer(stage, cfg, stage_dir, init_weights, info, device)
    if state is not None:
        trainer.restore(state)
        if info.is_main:
            print(f"[fit] resuming {stage} from {state_file} at step {trainer.step}/{trainer.total}")
    elif info.is_main:
        stage_dir.mkdir(parents=True, exist_ok=True)
        save_config(trainer.cfg, stage_dir / "config.json")
    final = trainer.run()
    if info.enabled:  # rank 0 writes the final generator that the next stage (on every rank) loads
        torch.distributed.barrier()
    return final


SCRATCH = "scratch"  # pretrained_generator value: no pretraining, the generator keeps its default init


def initial_generator(cfg: dict, run_dir: Path, info: DistInfo, device) -> Path | None:
    """The pretrained generator the main stage starts from: given, trained here first, or None (scratch)."""
    if not STAGE_TABLE[cfg["stage"]].starts_from_pretrain:
        return None
    if cfg["pretrained_generator"] == SCRATCH:
        return None  # PyTorch's default initialisation (seeded), no pretraining
    if cfg["pretrained_generator"]:
        return resolve_generator(cfg["pretrained_generator"], cfg["backbone"], cfg["checkpoint_dir"] or None)[0]
    return train_stage("pretrain", cfg, run_dir, None, info, device)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = effective_config(args)
    device_kind = "cuda" if cfg["device"].startswith("cuda") or (
        cfg["device"] == "auto" and torch.cuda.is_available()) else "cpu"
    info = init_distributed(device_kind)
    try:
        device = pick_device(cfg, info)
        run_dir = run_folder(cfg, info)
        if info.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            save_config(cfg, run_dir / "config.json")
            if cfg["allow_random_backbones"]:
                print("[fit] WARNING: allow_random_backbones=True - VGG/AlexNet/ViT are RANDOM; "
                      "results are for demos and tests only", file=sys.stderr)
        cfg = resolve_pairing(cfg, run_dir, info, device)
        start = initial_generator(cfg, run_dir, info, device)
        for prior in cfg["prior_stages"]:  # e.g. pseudo_paired before unpaired (docs/pairing.md)
            start = train_stage(prior, cfg, run_dir, start, info, device)
        final = train_stage(cfg["stage"], cfg, run_dir, start, info, device)
        if info.is_main:
            print(f"[fit] done: {final}\n[fit] run folder: {run_dir}")
    finally:
        cleanup(info)
    return 0


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "fit.py"))
