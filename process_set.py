"""Parallel checkpoint sweep: one inference.py worker per remainder, each in its own tmux session.

Worker b (b = 0, S, 2S, ... < N) scores the checkpoints whose step % N == b, so with checkpoints
saved every S steps the N/S workers split the run evenly (the release's contract). Each worker
loads the validation split once and skips checkpoints that already have a CSV, so re-running the
same command resumes an interrupted sweep. GPUs are assigned round-robin when several are visible.

  python process_set.py --n 40 --step 10 --run runs/fuji_unpaired           # 4 tmux sessions
  python process_set.py --n 40 --step 10 --run runs/x --dry-run             # print the plan
  python process_set.py --n 20 --step 10 --run runs/x --no-tmux             # plain subprocesses, wait
  python process_set.py --n 40 --step 10 --run runs/x -- --batch-size 32    # extra inference.py flags
Logs: <out>/logs/<session>.log (default out: <run>/eval_<split>).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from data import DATASET_PRESETS
from evaluation import QUANTIZE_CHOICES, SWEEP_SPLIT

REPO_ROOT = Path(__file__).resolve().parent
INFERENCE = REPO_ROOT / "inference.py"


@dataclass
class Worker:
    remainder: int
    session: str
    argv: list
    env: dict = field(default_factory=dict)
    log: Path | None = None


def remainders(n: int, step: int) -> list[int]:
    if n <= 0 or step <= 0:
        raise SystemExit(f"process_set.py: --n and --step must be positive (got n={n}, step={step})")
    if n % step:
        print(f"warning: --n {n} is not a multiple of --step {step}; some remainders may hold no checkpoints",
              file=sys.stderr)
    return list(range(0, n, step))


def visible_gpus() -> list[str]:
    """Ids to put in CUDA_VISIBLE_DEVICES, honouring an existing restriction."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    import torch
    return [str(i) for i in range(torch.cuda.device_count())]  # 0 without a usable driver


def session_prefix(target: str, n: int, step: int, split: str) -> str:
    """Readable and unique per run: the run name plus a hash of its absolute path and the split."""
    key = f"{Path(target).resolve()}|{n}|{step}|{split}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    name = re.sub(r"[^A-Za-z0-9_-]", "_", Path(target).resolve().name)[:24]
    return f"eval_{name}_{digest}"


def plan_workers(args, passthrough: list) -> list[Worker]:
    gpus = [] if args.device == "cpu" else visible_gpus()
    rems = remainders(args.n, args.step)
    target = args.run or (args.checkpoints[0] if args.checkpoints else ".")
    prefix = args.session_prefix or session_prefix(target, args.n, args.step, args.split)
    log_dir = Path(args.out) if args.out else (Path(args.run) / f"eval_{args.split}" if args.run else Path("."))
    threads = max(1, (os.cpu_count() or 1) // len(rems))
    workers = []
    for i, rem in enumerate(rems):
        argv = [args.python, str(INFERENCE), "--mod", str(args.n), "--rem", str(rem), "--split", args.split,
                "--quiet"]
        for flag, value in (("--run", args.run), ("--backbone", args.backbone), ("--dataset", args.dataset),
                            ("--data-root", args.data_root), ("--out", args.out), ("--quantize", args.quantize)):
            if value:
                argv += [flag, str(value)]
        if args.checkpoints:
            argv += ["--checkpoints", *map(str, args.checkpoints)]
        env = {}
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = gpus[i % len(gpus)]
            argv += ["--device", "cuda"]
        else:
            env["OMP_NUM_THREADS"] = str(threads)  # CPU workers share the cores instead of oversubscribing
            argv += ["--device", "cpu"]
        session = f"{prefix}_r{rem}"
        workers.append(Worker(rem, session, argv + list(passthrough), env, log_dir / "logs" / f"{session}.log"))
    return workers


def shell_command(worker: Worker) -> str:
    """The one string tmux hands to the shell; every path and value is shlex-quoted."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in worker.env.items())
    cmd = " ".join(shlex.quote(a) for a in worker.argv)
    log = shlex.quote(str(worker.log))
    return (f"cd {shlex.quote(str(REPO_ROOT))} && env {env} {cmd} >> {log} 2>&1; "
            f"echo \"worker exit code $?\" >> {log}")


def tmux_has_session(name: str) -> bool:
    return subprocess.run(["tmux", "has-session", "-t", f"={name}"], capture_output=True).returncode == 0


def start_tmux(workers: list[Worker]) -> list[Worker]:
    if shutil.which("tmux") is None:
        raise SystemExit("process_set.py: tmux not found; use --no-tmux")
    started = []
    for w in workers:
        if tmux_has_session(w.session):
            print(f"session {w.session} is still running; not starting it twice", file=sys.stderr)
            continue
        w.log.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tmux", "new-session", "-d", "-s", w.session, shell_command(w)], check=True)
        print(f"started tmux session {w.session} (remainder {w.remainder}); log {w.log}")
        started.append(w)
    return started


def wait_tmux(workers: list[Worker], poll: float = 0.5) -> int:
    while any(tmux_has_session(w.session) for w in workers):
        time.sleep(poll)
    return _report_from_logs(workers)


def _report_from_logs(workers: list[Worker]) -> int:
    failed = 0
    for w in workers:
        text = w.log.read_text() if w.log.is_file() else ""
        codes = re.findall(r"worker exit code (\d+)", text)
        code = int(codes[-1]) if codes else -1
        failed += code != 0
        print(f"remainder {w.remainder}: exit {code}" + ("" if code == 0 else f" (see {w.log})"))
    return 1 if failed else 0


def run_subprocesses(workers: list[Worker]) -> int:
    """Same workers as plain child processes (CI has no tmux); waits for all of them."""
    procs = []
    for w in workers:
        w.log.parent.mkdir(parents=True, exist_ok=True)
        handle = open(w.log, "a")
        proc = subprocess.Popen(w.argv, cwd=REPO_ROOT, env={**os.environ, **w.env}, stdout=handle,
                                stderr=subprocess.STDOUT)
        procs.append((w, proc, handle))
        print(f"started worker pid {proc.pid} (remainder {w.remainder}); log {w.log}")
    failed = 0
    for w, proc, handle in procs:
        code = proc.wait()
        handle.close()
        failed += code != 0
        print(f"remainder {w.remainder}: exit {code}" + ("" if code == 0 else f" (see {w.log})"))
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, required=True, help="modulus: worker b scores steps with step %% N == b")
    p.add_argument("--step", type=int, required=True, help="checkpoint cadence; remainders 0, S, 2S, ... < N")
    p.add_argument("--run", help="run folder (checkpoints/ and config.json)")
    p.add_argument("--checkpoints", nargs="*", help="checkpoint files or folders instead of/besides --run")
    p.add_argument("--backbone")
    p.add_argument("--dataset", choices=sorted(DATASET_PRESETS), help="passed to inference.py")
    p.add_argument("--data-root")
    p.add_argument("--split", default=SWEEP_SPLIT, help="split to score (default %(default)s)")
    p.add_argument("--out", help="CSV folder for every worker (default <run>/eval_<split>)")
    p.add_argument("--quantize", choices=QUANTIZE_CHOICES,
                   help="passed to inference.py: none (its default, the release's sweeps) scores the clamped "
                        "float output; png8 (alias truncate) / round score the 8-bit image; jpeg75 the decoded "
                        "NTIRE submission JPEG")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto: round-robin over visible GPUs, else CPU")
    p.add_argument("--python", default=sys.executable, help="interpreter for the workers")
    p.add_argument("--session-prefix", help="tmux session name prefix (default from the run path)")
    p.add_argument("--dry-run", action="store_true", help="print the plan (commands, sessions) and exit")
    p.add_argument("--no-tmux", action="store_true", help="run workers as subprocesses and wait")
    p.add_argument("--wait", action="store_true", help="with tmux: wait until every session has ended")
    return p


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    args = build_parser().parse_args(own)
    if not args.run and not args.checkpoints:
        raise SystemExit("process_set.py: give --run and/or --checkpoints")
    workers = plan_workers(args, passthrough)
    if args.dry_run:
        mode = "subprocess" if args.no_tmux else "tmux"
        for w in workers:
            print(f"[{mode}] session {w.session}  remainder {w.remainder}\n  {shell_command(w)}")
        return 0
    if args.no_tmux:
        return run_subprocesses(workers)
    started = start_tmux(workers)
    if args.wait:
        return wait_tmux(started)
    print("attach with: tmux attach -t <session>; re-run the same command to resume")
    return 0


if __name__ == "__main__":
    from cli import run_main
    sys.exit(run_main(main, "process_set.py"))
