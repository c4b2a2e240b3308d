"""Load config.py-style files and apply typed `key=value` overrides (nanoGPT style)."""
from __future__ import annotations

import ast
import difflib
import json
import runpy
from pathlib import Path

_PLAIN_TYPES = (bool, int, float, str, tuple, list, dict, type(None))


class ConfigError(ValueError):
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


def load_config(path: str | Path = "config.py", overrides: list[str] | None = None) -> dict:
    """Defaults from the file, then the backbone preset, then command-line overrides (last wins)."""
    config = read_config_file(path)
    overrides = list(overrides or [])
    explicit = apply_overrides(config, overrides)
    preset = config.get("backbone_presets", {}).get(explicit.get("backbone"), {})
    return apply_overrides(apply_overrides(config, preset), overrides)


def save_config(config: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(config, indent=2, sort_keys=True, default=list) + "\n")
