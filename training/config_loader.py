"""Load config.py-style files and apply typed `key=value` overrides (nanoGPT style).

A config file may start from another one: `base_config = "../config.py"` (a path relative to the
file) reads that file first and lays this file's keys over it, so a recipe holds only what it changes.
Its keys must exist in the base and are type-checked like command-line overrides. Order of layers:
base defaults, the backbone preset, each file laid over its base, then `--set` overrides (last wins).
"""
from __future__ import annotations

import ast
import difflib
import json
import runpy
from pathlib import Path

from common import atomic_write
from common.errors import UserError

_PLAIN_TYPES = (bool, int, float, str, tuple, list, dict, type(None))
BASE_KEY = "base_config"  # in a config file: the file it extends (relative path); not a config key itself


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


def apply_overrides(config: dict, overrides: list[str] | dict) -> dict:
    """Return a copy of config with overrides applied; unknown keys and wrong types are errors."""
    config = dict(config)
    items = overrides.items() if isinstance(overrides, dict) else (_split(o) for o in overrides)
    for key, value in items:
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


def config_layers(path: str | Path) -> list[tuple[Path, dict]]:
    """(file, its values) from the root defaults file up to `path`, following base_config links."""
    layers, path = [], Path(path)
    while True:
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


def load_config(path: str | Path = "config.py", overrides: list[str] | None = None) -> dict:
    """Root defaults, then the backbone preset, then each extending file, then overrides (last wins)."""
    (_, defaults), *files = config_layers(path)
    overrides = list(overrides or [])
    explicit = apply_overrides(_lay_over(defaults, files), overrides)
    preset = explicit.get("backbone_presets", {}).get(explicit.get("backbone"), {})
    return apply_overrides(_lay_over(apply_overrides(defaults, preset), files), overrides)


def save_config(config: dict, path: str | Path) -> None:
    with atomic_write(path, "w") as handle:
        handle.write(json.dumps(config, indent=2, sort_keys=True, default=list) + "\n")
