"""recipes/: one config per published result (docs/method.md §8), loaded over config.py; the published
numbers come from the registry entry a recipe names, reach the run's config.json and are printed beside the
best checkpoint by tools.best / inference."""
import csv
import json
import re
from pathlib import Path

import pytest

import fit
import inference
from tools import best
from training.config_loader import ConfigError, load_config, recipe_table_markdown

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

# docs/method.md §8, written out: (data, stage, backbone) -> (PSNR, SSIM, MS-SSIM, LPIPS).
PAPER_TABLE = {
    ("fujifilm", "paired_no_adv", "efficient_isp"): (23.2692, 0.8273, 0.9374, 0.1851),
    ("fujifilm", "paired", "efficient_isp"): (23.6477, 0.8401, 0.9498, 0.1465),
    ("fujifilm", "unpaired", "efficient_isp"): (23.0711, 0.8300, 0.9449, 0.1614),
    ("fujifilm", "paired_no_adv", "rmfa_tiny"): (23.7468, 0.8321, 0.9360, 0.1545),
    ("fujifilm", "paired", "rmfa_tiny"): (24.5764, 0.8698, 0.9572, 0.1121),
    ("fujifilm", "unpaired", "rmfa_tiny"): (22.7739, 0.8451, 0.9452, 0.1586),
    ("fujifilm", "unpaired", "robust_isp"): (22.9401, 0.8309, 0.9445, 0.1751),
    ("zrr", "paired_no_adv", "efficient_isp"): (19.667, 0.699, 0.831, 0.240),
    ("zrr", "paired", "efficient_isp"): (19.692, 0.699, 0.837, 0.198),
    ("zrr", "unpaired", "efficient_isp"): (19.448, 0.700, 0.832, 0.239),
}
# docs/method.md §6: (g_lr, d_lr, generator steps per D step).
PRESETS = {"efficient_isp": (5e-4, 1e-5, 10), "robust_isp": (5e-4, 1e-5, 10), "rmfa_tiny": (1e-4, 5e-5, 4)}
METRICS = ("psnr", "ssim", "ms_ssim", "lpips")


def recipe_files():
    """The recipes of the paper's published results (the NTIRE 2026 baseline recipe has its own tests)."""
    return sorted(p for p in (REPO / "recipes").glob("*.py") if p.stem.startswith(("fujifilm_", "zrr_")))


def published_step(registry_name: str) -> int:
    """The pick's step from the published checkpoint's file name (e.g. ..._step_27220.pth)."""
    from pretrained.published import PUBLISHED
    return int(re.search(r"step_(\d+)\.pth$", PUBLISHED[registry_name].file).group(1))


def test_one_recipe_per_published_row():
    rows = {}
    for path in recipe_files():
        cfg = load_config(path)
        rows[(cfg["dataset"], cfg["stage"], cfg["backbone"])] = path
    assert sorted(rows) == sorted(PAPER_TABLE)
    assert len(recipe_files()) == len(PAPER_TABLE)


@pytest.mark.parametrize("path", recipe_files(), ids=lambda p: p.stem)
def test_recipe_settings(path):
    cfg = load_config(path)
    key = (cfg["dataset"], cfg["stage"], cfg["backbone"])
    published = cfg["published"]
    assert [published[m] for m in METRICS] == list(PAPER_TABLE[key])
    assert cfg["recipe"] == path.stem
    pick = published_step(cfg["recipe"])
    assert published["step"] == pick and pick <= cfg["max_steps"] <= pick + 20000
    assert cfg["batch_size"] == 32
    assert (cfg["g_lr"], cfg["d_lr"], cfg["d_every"]) == PRESETS[cfg["backbone"]]
    expected_start = "efficient_isp_pretrain" if cfg["backbone"] == "efficient_isp" else ""
    assert cfg["pretrained_generator"] == expected_start
    assert cfg["data_root"] == f"datasets/{cfg['dataset']}"  # the documented placeholder users edit
    assert "EDIT" in path.read_text()
    # The numbers live in the registry only: the recipe file repeats neither metrics, pick nor budget.
    text = path.read_text()
    assert not re.search(r"^(published|max_steps)\s*=", text, re.M)
    assert not any(f"{value}" in text for value in PAPER_TABLE[key]) and f"{pick}" not in text.replace(",", "")
    # Everything the recipe does not set is config.py's release default.
    defaults = load_config(REPO / "config.py")
    assert cfg["g_betas"] == defaults["g_betas"] == (0.5, 0.9)
    assert cfg["demosaic"] == "menon" and cfg["save_every"] == defaults["save_every"]
    assert cfg["checkpoint_schedule"] == "release" and defaults["checkpoint_schedule"] == "updates"


def test_default_config_reaches_the_published_pick():
    cfg = load_config(REPO / "config.py")
    assert (cfg["dataset"], cfg["stage"], cfg["backbone"]) == ("fujifilm", "unpaired", "efficient_isp")
    assert cfg["max_steps"] >= 195100  # every published pick, 27,220 for this run
    assert cfg["recipe"] == "" and cfg["published"] == {}


def test_base_config_layers_and_checks(tmp_path):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "zrr_efficient_isp_unpaired.py").write_text(
        (REPO / "recipes" / "zrr_efficient_isp_unpaired.py").read_text().replace(
            'base_config = "../config.py"', f'base_config = "{REPO / "config.py"}"'))
    nested = tmp_path / "sub"
    nested.mkdir()
    (nested / "mine.py").write_text('base_config = "../recipes/zrr_efficient_isp_unpaired.py"\nmax_steps = 7\n')
    cfg = load_config(nested / "mine.py", ["seed=3"])  # chain: mine -> recipe -> config.py
    assert (cfg["max_steps"], cfg["dataset"], cfg["seed"], cfg["published"]["psnr"]) == (7, "zrr", 3, 19.448)
    # The preset of the final backbone applies beneath the files; explicit file keys win over it.
    (tmp_path / "rmfa.py").write_text(f'base_config = "{REPO / "config.py"}"\nbackbone = "rmfa_tiny"\n')
    assert load_config(tmp_path / "rmfa.py")["g_lr"] == 1e-4
    (tmp_path / "rmfa_lr.py").write_text(f'base_config = "{REPO / "config.py"}"\nbackbone = "rmfa_tiny"\ng_lr = 3e-4\n')
    assert load_config(tmp_path / "rmfa_lr.py")["g_lr"] == 3e-4
    (tmp_path / "typo.py").write_text(f'base_config = "{REPO / "config.py"}"\nmax_step = 7\n')
    with pytest.raises(ConfigError, match=r"typo\.py: unknown config key 'max_step'; did you mean max_steps"):
        load_config(tmp_path / "typo.py")
    (tmp_path / "a.py").write_text('base_config = "b.py"\n')
    (tmp_path / "b.py").write_text('base_config = "a.py"\n')
    with pytest.raises(ConfigError, match="loops"):
        load_config(tmp_path / "a.py")


def test_published_numbers_and_budget_come_from_the_registry(tmp_path):
    (tmp_path / "mine.py").write_text(f'base_config = "{REPO / "config.py"}"\nrecipe = "zrr_efficient_isp_paired"\n')
    cfg = load_config(tmp_path / "mine.py")
    assert cfg["published"] == {"psnr": 19.692, "ssim": 0.699, "ms_ssim": 0.837, "lpips": 0.198, "step": 195100}
    assert cfg["max_steps"] == 210000  # 195,100 rounded up to 10,000 is 200,000, plus 10,000
    assert load_config(tmp_path / "mine.py", ["max_steps=5"])["max_steps"] == 5  # --set wins
    (tmp_path / "old.py").write_text(f'base_config = "{REPO / "config.py"}"\n'
                                     'recipe = "zrr_efficient_isp_paired_wo_adv"\n')
    cfg = load_config(tmp_path / "old.py")  # an old registry name: the entry's current name
    assert cfg["recipe"] == "zrr_efficient_isp_paired_no_adv" and cfg["published"]["step"] == 57200
    assert (cfg["max_steps"], cfg["published"]["lpips"]) == (70000, 0.240)
    (tmp_path / "typo.py").write_text(f'base_config = "{REPO / "config.py"}"\nrecipe = "zrr_efficient_isp"\n')
    with pytest.raises(ConfigError, match="zrr_efficient_isp.*not a published checkpoint name"):
        load_config(tmp_path / "typo.py")


def test_old_recipe_file_names_still_load(tmp_path):
    for old, new in (("fujifilm_efficient_isp_paired_wo_adv", "fujifilm_efficient_isp_paired_no_adv"),
                     ("fujifilm_rmfa_tiny_paired_wo_adv", "fujifilm_rmfa_tiny_paired_no_adv"),
                     ("zrr_efficient_isp_paired_wo_adv", "zrr_efficient_isp_paired_no_adv")):
        assert not (REPO / "recipes" / f"{old}.py").exists()
        cfg = load_config(REPO / "recipes" / f"{old}.py")
        assert cfg == load_config(REPO / "recipes" / f"{new}.py") and cfg["stage"] == "paired_no_adv"
    mine = tmp_path / "mine.py"  # as the base of a user's own file too
    mine.write_text(f'base_config = "{REPO / "recipes" / "zrr_efficient_isp_paired_wo_adv.py"}"\nseed = 3\n')
    assert load_config(mine)["recipe"] == "zrr_efficient_isp_paired_no_adv"


def test_readme_recipe_table_is_the_registry():
    table = recipe_table_markdown(REPO / "recipes")
    assert table in README.read_text(), "README recipe table is stale: paste recipe_table_markdown('recipes')"
    rows = {row.split(" | ")[0].strip("| `"): row.split(" | ")[1:] for row in table.splitlines()[2:]}
    assert set(rows) == {p.stem for p in recipe_files() if load_config(p)["recipe"]}  # each published-result recipe
    for name, (start, budget, pick, *figures) in rows.items():
        cfg = load_config(REPO / "recipes" / f"{name}.py")
        assert start == ("authors' pretraining" if cfg["pretrained_generator"] == "efficient_isp_pretrain"
                         else "pretrain stage")
        assert int(pick.replace(",", "")) == published_step(name) and int(budget.replace(",", "")) == cfg["max_steps"]
        paper = PAPER_TABLE[(cfg["dataset"], cfg["stage"], cfg["backbone"])]
        assert [float(f.strip(" |")) for f in figures] == list(paper)


def test_fit_with_recipe_keeps_published_in_config_json(tiny_fujifilm_root, tmp_path, generated_checkpoints):
    recipe = REPO / "recipes" / "fujifilm_efficient_isp_paired_no_adv.py"
    small = [f"data_root={tiny_fujifilm_root}", f"out_dir={tmp_path}", "run_name=r", "allow_random_backbones=True",
             "batch_size=2", "num_workers=0", "cache_dir=", "max_steps=1", "save_every=1", "sample_every=1",
             "log_every=1", f"checkpoint_dir={generated_checkpoints}"]  # its start: a generated stand-in
    assert fit.main(["--config", str(recipe), "--set", *small]) == 0
    expected = {"psnr": 23.2692, "ssim": 0.8273, "ms_ssim": 0.9374, "lpips": 0.1851, "step": 31190}
    for folder in (tmp_path / "r", tmp_path / "r" / "paired_no_adv"):
        saved = json.loads((folder / "config.json").read_text())
        assert saved["published"] == expected and saved["recipe"] == recipe.stem
        assert saved["batch_size"] == 2 and "base_config" not in saved
    from cli import run_main
    assert run_main(fit.main, "fit.py", ["--config", str(recipe), "--set", "max_step=1"]) == 2


# --- published numbers beside the measured best ------------------------------------------------------

MEASURED = {10: (22.10, 0.8100, 0.9300, 0.2000), 20: (22.85, 0.8250, 0.9420, 0.1700),
            30: (22.40, 0.8300, 0.9440, 0.1650)}


def fake_recipe_run(root: Path, published: dict | None) -> Path:
    """<root>/unpaired/{config.json, eval_val/G_step_N.csv} as fit.py + inference.py leave them."""
    stage = root / "unpaired"
    (stage / "eval_val").mkdir(parents=True)
    config = {"backbone": "efficient_isp", "dataset": "fujifilm", "recipe": "fujifilm_efficient_isp_unpaired",
              "published": published or {}}
    (stage / "config.json").write_text(json.dumps(config, sort_keys=True))  # sorted, as save_config writes
    for step, values in MEASURED.items():
        with open(stage / "eval_val" / f"G_step_{step}.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "step", *METRICS, "checkpoint", "quantize"])
            writer.writerow(["0", step, 1, 1, 1, 1, str(stage / "checkpoints" / f"G_step_{step}.pth"), "none"])
            writer.writerow(["mean", step, *values, str(stage / "checkpoints" / f"G_step_{step}.pth"), "none"])
    return stage


def comparison_rows(text: str) -> dict:
    """metric -> (published, measured, difference) from the printed comparison."""
    rows = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] in METRICS:
            rows[parts[0]] = tuple(float(p) for p in parts[1:4])
    return rows


def check_comparison(text: str, published: dict) -> None:
    best_values = dict(zip(METRICS, MEASURED[20]))  # step 20 has the best PSNR
    rows = comparison_rows(text)
    assert set(rows) == set(METRICS)
    for metric in METRICS:
        expected, measured, difference = rows[metric]
        assert expected == pytest.approx(published[metric], abs=1e-4)
        assert measured == pytest.approx(best_values[metric], abs=1e-4)
        assert difference == pytest.approx(best_values[metric] - published[metric], abs=1e-4)
    assert "step 20" in text and "27220" in text and "fujifilm_efficient_isp_unpaired" in text


def test_best_prints_published_beside_measured(tmp_path, capsys):
    published = {"psnr": 23.0711, "ssim": 0.8300, "ms_ssim": 0.9449, "lpips": 0.1614, "step": 27220}
    stage = fake_recipe_run(tmp_path / "run", published)
    assert best.main([str(stage / "eval_val"), "--no-plot"]) == 0
    check_comparison(capsys.readouterr().out, published)
    # A config given explicitly, and the sweep's own summary at the end of inference.py.
    assert best.main([str(stage / "eval_val" / "G_step_10.csv"), "--no-plot", "--config",
                      str(stage / "config.json")]) == 0
    assert comparison_rows(capsys.readouterr().out)["psnr"][1] == pytest.approx(MEASURED[10][0])
    inference.print_sweep_summary(sorted((stage / "eval_val").glob("*.csv")), json.loads(
        (stage / "config.json").read_text()))
    check_comparison(capsys.readouterr().out, published)


def test_best_without_recipe_prints_no_comparison(tmp_path, capsys):
    stage = fake_recipe_run(tmp_path / "run", None)
    assert best.main([str(stage / "eval_val"), "--no-plot"]) == 0
    text = capsys.readouterr().out
    assert "published" not in text and comparison_rows(text) == {}
    with pytest.raises(SystemExit) as exit_info:
        best.main([str(stage / "eval_val"), "--no-plot", "--config", str(tmp_path / "missing.json")])
    assert exit_info.value.code == 2
