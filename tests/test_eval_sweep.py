"""inference.py / process_set.py / tools.best on a tiny synthetic run with generated checkpoints."""
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import evaluation
import inference
import process_set
from tools import best

REPO = Path(__file__).resolve().parents[1]
STEPS = (10, 20, 30, 40)


@pytest.fixture()
def tiny_run(tmp_path, tiny_fujifilm_root):
    """A run folder (with a space and a quote in its name, to exercise shell quoting)."""
    from models import build_generator
    run = tmp_path / "run it's"
    (run / "checkpoints").mkdir(parents=True)
    for step in STEPS:
        torch.manual_seed(step)
        torch.save(build_generator("efficient_isp").state_dict(), run / "checkpoints" / f"G_step_{step}.pth")
    (run / "config.json").write_text(json.dumps(
        {"backbone": "efficient_isp", "dataset": "fujifilm", "data_root": str(tiny_fujifilm_root)}))
    return run


def _summary(csv_path):
    rows = list(csv.DictReader(open(csv_path)))
    assert rows[-1]["file"] == "mean"
    return rows


def test_checkpoint_step_and_remainder_selection():
    paths = [Path(f"G_step_{s}.pth") for s in (0, 10, 20, 30, 40, 50)]
    assert evaluation.checkpoint_step("x/Efficient_ISP_unpaired_step_27220.pth") == 27220
    chosen = evaluation.select_by_remainder(paths, 20, 10)
    assert [p.name for p in chosen] == ["G_step_10.pth", "G_step_30.pth", "G_step_50.pth"]
    with pytest.raises(ValueError):
        evaluation.select_by_remainder(paths, 20, 20)


def test_inference_values_remainder_and_resume(tiny_run, tiny_fujifilm_root, capsys):
    from data import ISPDataset
    from evaluation import psnr, ssim_tf
    from models import load_generator
    assert inference.main(["--run", str(tiny_run), "--mod", "20", "--rem", "0", "--quiet", "--no-lpips"]) == 0
    out = tiny_run / "eval_val"
    assert sorted(p.name for p in out.glob("*.csv")) == ["G_step_20.csv", "G_step_40.csv"]
    rows = _summary(out / "G_step_20.csv")
    assert len(rows) == 4 and {r["step"] for r in rows} == {"20"}
    # Independent recomputation of one image's scores.
    ds = ISPDataset(tiny_fujifilm_root, "fujifilm", "val", input_kind="packed4")
    sample = ds[1]
    model = load_generator(tiny_run / "checkpoints" / "G_step_20.pth", "efficient_isp")
    with torch.no_grad():
        pred = model(sample["raw"][None]).clamp(0.0, 1.0)  # the release's sweeps: clamped float output
    row = next(r for r in rows if r["file"] == sample["name"])
    assert float(row["psnr"]) == pytest.approx(psnr(pred, sample["target"][None]).item(), rel=1e-6)
    assert float(row["ssim"]) == pytest.approx(ssim_tf(pred, sample["target"][None]).item(), rel=1e-6)
    per_image = [float(r["psnr"]) for r in rows[:-1]]
    assert float(rows[-1]["psnr"]) == pytest.approx(sum(per_image) / 3)
    # Interrupted sweep: one CSV lost; the rerun scores only the missing one and the rest of the run.
    (out / "G_step_40.csv").unlink()
    kept = (out / "G_step_20.csv").stat().st_mtime_ns
    capsys.readouterr()
    assert inference.main(["--run", str(tiny_run), "--quiet", "--no-lpips"]) == 0
    assert "1 already scored, 3 to score" in capsys.readouterr().out
    assert (out / "G_step_20.csv").stat().st_mtime_ns == kept
    assert len(list(out.glob("G_step_*.csv"))) == 4


def test_broken_checkpoint_reported_and_skipped(tiny_run, capsys):
    (tiny_run / "checkpoints" / "G_step_50.pth").write_bytes(b"truncated")
    code = inference.main(["--run", str(tiny_run), "--quiet", "--no-lpips"])
    assert code == 1
    out = tiny_run / "eval_val"
    assert len(list(out.glob("G_step_*.csv"))) == 4
    assert "G_step_50.pth" in (out / "failed.csv").read_text()
    assert "FAILED" in capsys.readouterr().err


def test_process_set_plan_quotes_paths(tiny_run, capsys):
    assert process_set.main(["--n", "40", "--step", "10", "--run", str(tiny_run), "--dry-run",
                             "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    sessions = [line.split()[2] for line in text.splitlines() if line.startswith("[tmux]")]
    assert len(sessions) == 4 and len(set(sessions)) == 4
    assert all(s.endswith(f"_r{r}") for s, r in zip(sessions, (0, 10, 20, 30)))
    assert "'\"'\"'" in text  # the quote in the run name went through shlex.quote
    other = process_set.session_prefix(str(tiny_run.parent / "other"), 40, 10, "val")
    assert not sessions[0].startswith(other)


def _run_process_set(run, *extra):
    cmd = [sys.executable, str(REPO / "process_set.py"), "--n", "20", "--step", "10", "--run", str(run),
           "--device", "cpu", *extra, "--", "--no-lpips"]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=240)


def _assert_all_scored(run):
    csvs = sorted((run / "eval_val").glob("G_step_*.csv"))
    assert [p.stem for p in csvs] == [f"G_step_{s}" for s in STEPS]
    for path in csvs:
        assert float(_summary(path)[-1]["psnr"]) > 0


def test_process_set_subprocess_workers(tiny_run):
    result = _run_process_set(tiny_run, "--no-tmux")
    assert result.returncode == 0, result.stdout + result.stderr
    _assert_all_scored(tiny_run)
    assert len(list((tiny_run / "eval_val" / "logs").glob("*.log"))) == 2


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_process_set_tmux_workers(tiny_run):
    result = _run_process_set(tiny_run, "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("started tmux session") == 2
    _assert_all_scored(tiny_run)


def _fake_csv(folder, step, psnr_value, lpips_value):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"G_step_{step}.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "step", "psnr", "ssim", "lpips", "checkpoint"])
        writer.writerow(["0", step, psnr_value + 1, 0.5, lpips_value, f"ck{step}"])
        writer.writerow(["mean", step, psnr_value, 0.4, lpips_value, f"ck{step}"])


def test_best_selection_and_plot(tmp_path, capsys):
    for step, p, lp in ((10, 20.0, 0.30), (20, 22.5, 0.25), (30, 21.0, 0.10), (40, 19.0, 0.40)):
        _fake_csv(tmp_path / ("a" if step < 30 else "b"), step, p, lp)
    rows = evaluation.merge([tmp_path])
    assert [r["step"] for r in rows] == [10, 20, 30, 40]
    assert [r["step"] for r in evaluation.top_k(rows, "psnr", 2)] == [20, 30]
    assert evaluation.top_k(rows, "lpips", 1)[0]["step"] == 30  # lower is better
    plot = tmp_path / "curves.png"
    assert best.main([str(tmp_path), "--top", "2", "--plot", str(plot), "--merged", str(tmp_path / "m.csv")]) == 0
    text = capsys.readouterr().out
    assert text.index("ck20") < text.index("ck30") and "ck10" not in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 2000
    merged = list(csv.DictReader(open(tmp_path / "m.csv")))
    assert [m["psnr"] for m in merged] == ["20.0", "22.5", "21.0", "19.0"]
    with pytest.raises(SystemExit):
        evaluation.top_k(rows, "ms_ssim", 1)


def test_indices_list_metric_subset_and_dedup(tiny_run, tmp_path, capsys):
    names = sorted(p.stem for p in (Path(json.loads((tiny_run / "config.json").read_text())["data_root"])
                                    / "val" / "mediatek_raw").glob("*.png"))
    (tmp_path / "val.txt").write_text(f"# held out\n{names[-1]}\n")
    ckpt = tiny_run / "checkpoints" / "G_step_30.pth"
    assert inference.main(["--run", str(tiny_run), "--checkpoints", str(ckpt), "--mod", "40", "--rem", "30",
                           "--indices", str(tmp_path / "val.txt"), "--metrics", "psnr",
                           "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert "1 checkpoint(s) selected" in capsys.readouterr().out  # --run and --checkpoints overlap
    rows = _summary(tmp_path / "o" / "G_step_30.csv")
    assert [r["file"] for r in rows] == [names[-1], "mean"]
    assert list(rows[0]) == ["file", "step", "psnr", "checkpoint", "quantize"]
    with pytest.raises(SystemExit):
        inference.main(["--run", str(tiny_run), "--metrics", "psnr,niqe", "--rescore", "--quiet"])


def test_psnr_only_csv_is_completed_by_full_sweep(tiny_run, capsys):
    args = ["--run", str(tiny_run), "--mod", "40", "--rem", "10", "--quiet", "--no-lpips"]
    assert inference.main(args + ["--metrics", "psnr"]) == 0
    assert "ssim" not in _summary(tiny_run / "eval_val" / "G_step_10.csv")[0]
    capsys.readouterr()
    assert inference.main(args) == 0  # default metrics: the PSNR-only CSV does not count as scored
    assert "0 already scored, 1 to score" in capsys.readouterr().out
    assert "ssim" in _summary(tiny_run / "eval_val" / "G_step_10.csv")[0]
    assert inference.main(args) == 0
    assert "1 already scored, 0 to score" in capsys.readouterr().out


def test_process_set_gpus_round_robin(tiny_run, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5,6")
    args = process_set.build_parser().parse_args(["--n", "40", "--step", "10", "--run", str(tiny_run)])
    workers = process_set.plan_workers(args, ["--batch-size", "8"])
    assert [w.env["CUDA_VISIBLE_DEVICES"] for w in workers] == ["3", "5", "6", "3"]
    assert all(w.argv[w.argv.index("--device") + 1] == "cuda" for w in workers)
    assert all(w.argv[-2:] == ["--batch-size", "8"] for w in workers)
    rems = [w.argv[w.argv.index("--rem") + 1] for w in workers]
    assert rems == ["0", "10", "20", "30"]
    cpu = process_set.plan_workers(process_set.build_parser().parse_args(
        ["--n", "20", "--step", "10", "--run", str(tiny_run), "--device", "cpu"]), [])
    assert all("CUDA_VISIBLE_DEVICES" not in w.env and "OMP_NUM_THREADS" in w.env for w in cpu)


def test_sweep_quantize_mode_is_recorded_and_rescored(tiny_run, capsys):
    args = ["--run", str(tiny_run), "--mod", "40", "--rem", "30", "--quiet", "--metrics", "psnr"]
    assert inference.main(args) == 0
    csv_file = tiny_run / "eval_val" / "G_step_30.csv"
    float_rows = _summary(csv_file)
    assert {r["quantize"] for r in float_rows} == {"none"}
    capsys.readouterr()
    assert inference.main(args + ["--quantize", "truncate"]) == 0  # a float CSV does not count for 8-bit
    assert "0 already scored, 1 to score" in capsys.readouterr().out
    rows = _summary(csv_file)
    assert {r["quantize"] for r in rows} == {"png8"}  # 'truncate' is png8's earlier name; one spelling per mode
    assert float(rows[-1]["psnr"]) != pytest.approx(float(float_rows[-1]["psnr"]), abs=1e-9)
    assert inference.main(args + ["--quantize", "png8"]) == 0
    assert "1 already scored, 0 to score" in capsys.readouterr().out
    assert inference.main(args + ["--quantize", "jpeg75"]) == 0
    assert "0 already scored, 1 to score" in capsys.readouterr().out
    assert {r["quantize"] for r in _summary(csv_file)} == {"jpeg75"}


def test_step_zero_is_swept_ranked_and_plotted(tmp_path, monkeypatch):
    """G_step_0.pth (the starting generator fit.py writes) is a checkpoint like any other."""
    assert inference.checkpoint_step("G_step_0.pth") == 0
    assert [p.name for p in inference.select_by_remainder([Path("G_step_0.pth"), Path("G_step_10.pth")], 20, 0)] \
        == ["G_step_0.pth"]
    for step, p in ((0, 23.0), (10, 21.0), (20, 22.0)):  # training made it worse: the start wins
        _fake_csv(tmp_path / "eval", step, p, 0.2)
    rows = best.merge([tmp_path / "eval"])
    assert [r["step"] for r in rows] == [0, 10, 20]
    assert best.top_k(rows, "psnr", 1)[0]["step"] == 0
    import matplotlib.axes
    plotted = []
    original = matplotlib.axes.Axes.plot
    monkeypatch.setattr(matplotlib.axes.Axes, "plot",
                        lambda self, *args, **kw: plotted.append(list(args[0])) or original(self, *args, **kw))
    best.plot_metrics(rows, tmp_path / "plot.png", best.top_k(rows, "psnr", 1)[0])
    assert [0, 10, 20] in plotted and [0] in plotted  # the curve starts at step 0; the star marks it
    assert best.format_table(rows[:1], ["psnr"]).splitlines()[1].split()[1] == "0"
