"""Every command line answers a user's mistake with one line on stderr and exit code 2 (no traceback),
and test_model.py / inference.py go on past bad input files: good outputs are written, bad files listed.

One real subprocess per script (a few at a time; each costs seconds of imports) checks the wiring of
`python script` to cli.run_main; the other mistakes go through the same run_main in-process.
"""
import importlib
import os
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cli import run_main
from data import write_raw
from models import build_generator

REPO = Path(__file__).resolve().parents[1]


def _closed_port_url() -> str:
    """A local URL nobody listens on: downloads fail at once, as offline."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _inputs(root: Path, fujifilm: Path) -> dict:
    """Checkpoints, a RAW folder with good and bad files, an empty folder, a split with bad pairs."""
    rng = np.random.default_rng(0)
    raw = root / "raw"
    raw.mkdir()
    for stem in ("good_a", "good_b"):
        write_raw(raw / f"{stem}.png", rng.integers(0, 1023, (16, 20), dtype=np.uint16))
    png = (raw / "good_a.png").read_bytes()
    (raw / "truncated.png").write_bytes(png[: len(png) // 2])
    cv2.imwrite(str(raw / "eight_bit.png"), rng.integers(0, 255, (16, 20), dtype=np.uint8))
    cv2.imwrite(str(raw / "odd_size.png"), rng.integers(0, 1023, (15, 20)).astype(np.uint16))
    (root / "empty").mkdir()
    torch.manual_seed(0)
    torch.save(build_generator("efficient_isp").state_dict(), root / "G.pth")
    (root / "garbage.pth").write_bytes(b"not a torch file")
    split = root / "split"
    shutil.copytree(fujifilm / "val", split / "val")
    names = sorted(p.stem for p in (split / "val" / "mediatek_raw").glob("*.png"))
    (split / "val" / "fujifilm" / f"{names[1]}.png").unlink()  # missing target pair
    truncated = split / "val" / "mediatek_raw" / f"{names[2]}.png"
    truncated.write_bytes(truncated.read_bytes()[:100])
    return {"names": names}


def _cases(root: Path, fujifilm: Path) -> dict:
    model = ["test_model.py", "--dataset", "fujifilm", "--output", str(root / "out"), "--no-lpips"]
    offline = {"ISP_CHECKPOINTS": str(root / "cache"), "ISP_CHECKPOINT_URL": _closed_port_url()}
    no_weights = {k: str(root / "homes" / k) for k in ("TORCH_HOME", "HF_HOME", "XDG_CACHE_HOME")}
    fit = ["fit.py", "--set", f"data_root={fujifilm}", f"out_dir={root / 'runs'}", "num_workers=0", "cache_dir=''"]
    g = str(root / "G.pth")
    return {  # name -> (argv after the interpreter, environment)
        "bad_files": (model + ["--checkpoint", g, "--input", str(root / "raw")], {}),
        "split_bad_pairs": (["inference.py", "--checkpoints", g, "--backbone", "efficient_isp", "--dataset",
                             "fujifilm", "--data-root", str(root / "split"), "--out", str(root / "eval"),
                             "--metrics", "psnr", "--quiet"], {}),
        "missing_backbone_weights": (fit + ["run_name=w", f"pretrained_generator={g}", "max_steps=1",
                                            "batch_size=2"], no_weights),
        "weights_download_offline": (["-m", "tools.weights", "download", "--only", "fujifilm_rmfa_tiny_paired"],
                                     offline),
        "best_empty_folder": (["-m", "tools.best", str(root / "empty"), "--no-plot"], {}),
        "process_set_bad_n": (["process_set.py", "--n", "0", "--step", "10", "--run", str(root)], {}),
    }


def _in_process_cases(root: Path, fujifilm: Path) -> dict:
    """name -> (script module, argv, environment)."""
    model = ["--dataset", "fujifilm", "--output", str(root / "out"), "--no-lpips", "--input", str(root / "raw")]
    fit = ["--set", f"data_root={fujifilm}", f"out_dir={root / 'runs'}", "num_workers=0", "cache_dir=''"]
    offline = {"ISP_CHECKPOINTS": str(root / "cache"), "ISP_CHECKPOINT_URL": _closed_port_url()}
    g = str(root / "G.pth")
    return {
        "empty_folder": ("test_model", model + ["--checkpoint", g, "--input", str(root / "empty")], {}),
        "wrong_backbone_for_checkpoint": ("test_model", model + ["--checkpoint", g, "--backbone", "rmfa_tiny"], {}),
        "unknown_backbone": ("test_model", model + ["--checkpoint", g, "--backbone", "efficient"], {}),
        "corrupt_checkpoint": ("test_model", model + ["--checkpoint", str(root / "garbage.pth")], {}),
        "missing_checkpoint": ("test_model", model + ["--checkpoint", str(root / "nothere.pth")], {}),
        "published_offline": ("test_model", model + ["--checkpoint", "zrr_efficient_isp_paired"], offline),
        "config_key": ("fit", fit + ["max_stepz=3"], {}),
        "config_value": ("fit", fit + ["max_steps=many"], {}),
    }


def _run(args, extra_env):
    env = {**os.environ, "OMP_NUM_THREADS": "1", **extra_env}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, tiny_fujifilm_root):
    root = tmp_path_factory.mktemp("cli_errors")
    facts = _inputs(root, tiny_fujifilm_root)
    cases = _cases(root, tiny_fujifilm_root)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_run, *case) for name, case in cases.items()}
        results = {name: future.result() for name, future in futures.items()}
    return root, facts, results


def _one_line(result, *fragments) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_test_model_goes_on_past_bad_files(outcomes):
    root, _, results = outcomes
    result = results["bad_files"]
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert sorted(p.name for p in (root / "out").glob("*.png")) == ["good_a.png", "good_b.png"]
    listed = result.stderr[result.stderr.index("3 of 5 input file(s) skipped"):].splitlines()[1:]
    assert len(listed) == 3
    assert any("truncated.png: cannot decode" in line for line in listed)
    assert any("eight_bit.png: is 8-bit" in line for line in listed)
    assert any("odd_size.png: has odd size 15x20" in line for line in listed)


@pytest.mark.parametrize("case,fragments", [
    ("missing_backbone_weights", ("fit.py: error: missing pretrained weights", "imagenet-vgg-verydeep-19.mat",
                                  "python -m tools.weights download --only vgg19_matconvnet")),
    ("weights_download_offline", ("RMFA_TINY_paired_step_31690.pth", "cache", "--only fujifilm_rmfa_tiny_paired")),
    ("best_empty_folder", ("python -m tools.best: error: no checkpoint summaries",)),
    ("process_set_bad_n", ("process_set.py: --n and --step must be positive",)),
])
def test_script_mistake_is_one_line_and_exit_2(outcomes, case, fragments):
    _one_line(outcomes[2][case], *fragments)


@pytest.mark.parametrize("case,fragments", [
    ("empty_folder", ("test_model.py: no RAW files", "empty")),
    ("wrong_backbone_for_checkpoint", ("G.pth", "expected a 'rmfa_tiny' checkpoint", "'efficient_isp'")),
    ("unknown_backbone", ("unknown generator backbone 'efficient'", "efficient_isp")),
    ("corrupt_checkpoint", ("garbage.pth", "cannot read the checkpoint")),
    ("missing_checkpoint", ("nothere.pth", "neither an existing checkpoint file nor a published")),
    ("published_offline", ("Efficient_ISP_paired_step_195100.pth", "cache",
                           "python -m tools.weights download --only zrr_efficient_isp_paired")),
    ("config_key", ("fit.py:", "unknown config key 'max_stepz'", "max_steps")),
    ("config_value", ("fit.py:", "max_steps", "expects int", "many")),
])
def test_mistake_through_run_main_is_one_line_and_exit_2(outcomes, tiny_fujifilm_root, case, fragments, capsys,
                                                         monkeypatch):
    script, argv, env = _in_process_cases(outcomes[0], tiny_fujifilm_root)[case]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code = run_main(importlib.import_module(script).main, f"{script}.py", argv)
    result = subprocess.CompletedProcess(argv, code, "", capsys.readouterr().err)
    _one_line(result, *fragments)
    assert not list((outcomes[0] / "cache").rglob("*.pth")) if (outcomes[0] / "cache").exists() else True


def test_inference_scores_the_good_files_and_lists_the_bad(outcomes):
    root, facts, results = outcomes
    result = results["split_bad_pairs"]
    assert result.returncode == 2 and "Traceback" not in result.stderr
    rows = (root / "eval" / "G.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == [facts["names"][0], "mean"]
    listed = result.stderr[result.stderr.index("2 of 3 input file(s) skipped"):].splitlines()[1:]
    assert any(f"{facts['names'][1]}.png: RAW has no target" in line for line in listed)
    assert any(f"{facts['names'][2]}.png: cannot decode" in line for line in listed)
