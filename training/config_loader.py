"""Load config.py-style files and apply typed `key=value` overrides (nanoGPT style).

A config file may start from another one: `base_config = "../config.py"` (a path relative to the
file) reads that file first and lays this file's keys over it, so a recipe holds only what it changes.
Its keys must exist in the base and are type-checked like command-line overrides. Order of layers:
base defaults, the backbone preset, each file laid over its base, then `--set` overrides (last wins).

A reproduction recipe (recipes/<name>.py) names its published result by `recipe = "<registry name>"`; the
published numbers live only in the registry (pretrained.published) and are filled in here: `published` (paper
metrics and pick step) and, unless a file or `--set` gives one, `max_steps` (recipe_step_budget of the pick).
Recipe files renamed with their registry entries load under their old names too.
"""
from __future__ import annotations

import ast
import difflib
import json
import runpy
from pathlib import Path

from common import atomic_write
from common.errors import UserError
from pretrained import OLD_NAMES, PUBLISHED, paper_figures

_PLAIN_TYPES = (bool, int, float, str, tuple, list, dict, type(None))
BASE_KEY = "base_config"  # in a config file: the file it extends (relative path); not a config key itself
BUDGET_ROUND = 10000  # a recipe's step budget: its published pick rounded up to this, plus this


class ConfigError(UserError, ValueError):
    pass


def read_config_file(path: str | Path) -> dict:
    """Every public plain-valued name defined at the top level of a config file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    namespace = runpy.run_path(str(path))
    return {k: v for k, v in namespace.items()
            if not k.startswith("_") and isinstance(v, _PLAIN_TYPES)}


def _parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # bare words are strings: --set backbone=rmfa_tiny


def _coerce(key: str, value, default):
    if default is None or isinstance(value, type(default)) and not (
            isinstance(value, bool) and not isinstance(default, bool)):
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(value)
    if isinstance(default, str) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # e.g. run_name=2024
    raise ConfigError(f"config key '{key}' expects {type(default).__name__} (default {default!r}), "
                      f"got {type(value).__name__} {value!r}")


# Keys that were renamed: old name -> (new name, old value -> new value), so a saved run's config.json and an
# old command line keep working.
RENAMED_KEYS = {"frozen_bf16": ("frozen_autocast", lambda on: "bf16" if on in (True, "True", "true", "1") else "")}


def apply_overrides(config: dict, overrides: list[str] | dict) -> dict:
    """Return a copy of config with overrides applied; unknown keys and wrong types are errors."""
    config = dict(config)
    items = overrides.items() if isinstance(overrides, dict) else (_split(o) for o in overrides)
    for key, value in items:
        if key in RENAMED_KEYS and key not in config:
            key, value = RENAMED_KEYS[key][0], RENAMED_KEYS[key][1](value)
        if key not in config:
            close = difflib.get_close_matches(key, list(config), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"unknown config key '{key}'{hint}")
        if isinstance(value, str) and not isinstance(overrides, dict):
            value = _parse_value(value)
        config[key] = _coerce(key, value, config[key])
    return config


def _split(override: str) -> tuple[str, str]:
    if "=" not in override:
        raise ConfigError(f"override '{override}' is not of the form key=value")
    key, value = override.split("=", 1)
    return key.strip(), value


def current_recipe_path(path: Path) -> Path:
    """A missing recipe file under its old name (recipes/<old registry name>.py) -> the renamed file beside it."""
    if path.is_file() or path.stem not in OLD_NAMES:
        return path
    renamed = path.with_name(OLD_NAMES[path.stem] + path.suffix)
    return renamed if renamed.is_file() else path


def config_layers(path: str | Path) -> list[tuple[Path, dict]]:
    """(file, its values) from the root defaults file up to `path`, following base_config links."""
    layers, path = [], Path(path)
    while True:
        path = current_recipe_path(path)
        values = read_config_file(path)
        layers.insert(0, (path, values))
        base = values.pop(BASE_KEY, "")
        if not base:
            return layers
        path = path.parent / base
        if any(path.resolve() == seen.resolve() for seen, _ in layers):
            raise ConfigError(f"{layers[0][0]}: base_config loops back to {path}")


def _lay_over(config: dict, layers: list[tuple[Path, dict]]) -> dict:
    for path, values in layers:
        try:
            config = apply_overrides(config, values)
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None
    return config


def recipe_step_budget(pick: int) -> int:
    """max_steps of a recipe: the published pick rounded up to BUDGET_ROUND, plus BUDGET_ROUND (room past it)."""
    return -(-pick // BUDGET_ROUND) * BUDGET_ROUND + BUDGET_ROUND


def fill_recipe(config: dict, given: set[str]) -> dict:
    """A recipe run's published numbers from the registry entry `recipe` names (an old name resolves to the
    current one); `published` and `max_steps` only where no file or override in `given` set them."""
    if not config.get("recipe"):
        return config
    name = OLD_NAMES.get(config["recipe"], config["recipe"])
    if name not in PUBLISHED:
        raise ConfigError(f"recipe {config['recipe']!r} is not a published checkpoint name; set recipe to one of "
                          f"{', '.join(sorted(PUBLISHED))}, or to \"\" for a run that reproduces none")
    entry, config = PUBLISHED[name], dict(config)
    config["recipe"] = name
    if "published" not in given:
        config["published"] = {**(entry.paper or {}), "step": entry.step}
    if "max_steps" not in given:
        config["max_steps"] = recipe_step_budget(entry.step)
    return config


def load_config(path: str | Path = "config.py", overrides: list[str] | None = None) -> dict:
    """Root defaults, then the backbone preset, then each extending file, then overrides (last wins); then a
    recipe's published numbers from the registry."""
    (_, defaults), *files = config_layers(path)
    overrides = list(overrides or [])
    explicit = apply_overrides(_lay_over(defaults, files), overrides)
    preset = explicit.get("backbone_presets", {}).get(explicit.get("backbone"), {})
    config = apply_overrides(_lay_over(apply_overrides(defaults, preset), files), overrides)
    given = {key for _, values in files for key in values} | {_split(o)[0] for o in overrides}
    return fill_recipe(config, given)


def recipe_table_markdown(recipe_dir: str | Path) -> str:
    """The README's table of reproduction recipes, in registry order: each recipe's start and step budget beside
    its registry entry's pick and paper metrics (tests/test_recipes.py keeps the README in step)."""
    rows = ["| recipe | start | `max_steps` | published pick | PSNR | SSIM | MS-SSIM | LPIPS |",
            "|---|---|---|---|---|---|---|---|"]
    for entry in PUBLISHED.values():
        path = Path(recipe_dir) / f"{entry.name}.py"
        if path.is_file():
            cfg = load_config(path)
            start = "authors' pretraining" if cfg["pretrained_generator"] else "pretrain stage"
            rows.append(f"| `{entry.name}` | {start} | {cfg['max_steps']:,} | {entry.step:,} | "
                        + " | ".join(paper_figures(entry)) + " |")
    return "\n".join(rows)


def save_config(config: dict, path: str | Path) -> None:
    with atomic_write(path, "w") as handle:
        handle.write(json.dumps(config, indent=2, sort_keys=True, default=list) + "\n")
