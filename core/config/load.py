"""Reading and saving configuration: shipped config.json < <home>/config.json < environment.

One loader: the three layers are merged by `merge` (known keys, same types) and built by `build`
(values checked), for loading and for saving the home's file alike.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

from core import atomic, jsontext
from core.config.build import build
from core.config.env import ENV_HOME, env_overrides
from core.config.merge import merge
from core.config.records import Config
from core.errors import ConfigError
from core.json_types import JsonObject
from core.shipped import shipped_config

SHIPPED_CONFIG = shipped_config()
HOME_DIRS = ("artifacts", "workflows", "logs")  # thumbnails/ is made by the first preview


def load_config(
    home: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    shipped: Path = SHIPPED_CONFIG,
    platform_home: str | Path | None = None,
) -> Config:
    """Layer the three sources and validate; creates the data home. `platform_home` is the
    platform's folder for app data (main.py asks platformdirs), used when neither `home`,
    TAKEBOARD_HOME nor the shipped "data_home" names one."""
    env = dict(os.environ if env is None else env)
    defaults = _read_json(shipped, "shipped config")
    home_path = resolve_home(
        home or env.get(ENV_HOME) or defaults.get("data_home") or platform_home
    )
    ensure_home(home_path)
    warnings: list[str] = []
    overrides = _home_overrides(home_path / "config.json", warnings)
    return _layered(defaults, overrides, env, home_path, tuple(warnings))


def _layered(
    defaults: JsonObject,
    overrides: JsonObject,
    env: Mapping[str, str],
    home: Path,
    warnings: tuple[str, ...],
) -> Config:
    """The one way to validate: merge the home overrides, then the environment, and build."""
    merged = merge(defaults, overrides, "")
    merged = merge(merged, env_overrides(env, merged), "")
    return build(merged, home, warnings)


def shipped_defaults(shipped: Path = SHIPPED_CONFIG) -> JsonObject:
    """The shipped config.json as a dict (every key, with its default)."""
    return _read_json(shipped, "shipped config")


def read_home_overrides(home: str | Path) -> JsonObject:
    """The home's config.json as a dict; {} when there is none."""
    path = Path(home).expanduser() / "config.json"
    return _read_json(path, "home config") if path.exists() else {}


def save_home_config(
    home: str | Path,
    overrides: JsonObject,
    env: Mapping[str, str] | None = None,
    shipped: Path = SHIPPED_CONFIG,
) -> Config:
    """Validate `overrides` as load_config would, then write <home>/config.json atomically.

    Raises ConfigError naming the key path, and writes nothing, when they are not valid. The
    overrides are checked on their own too, so a server list that the environment replaces
    is still validated before it is saved.
    """
    env = dict(os.environ if env is None else env)
    defaults = _read_json(shipped, "shipped config")
    home_path = resolve_home(home)
    ensure_home(home_path)
    _layered(defaults, overrides, {}, home_path, ())
    config = _layered(defaults, overrides, env, home_path, ())
    path = home_path / "config.json"
    try:
        atomic.write_text(path, json.dumps(overrides, indent=2) + "\n")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot save it ({exc.strerror or exc})") from exc
    return config


def resolve_home(home: str | Path | None) -> Path:
    if not home:
        raise ConfigError("no data home: choose a folder with --home or TAKEBOARD_HOME")
    return Path(home).expanduser().resolve()


def ensure_home(home: Path) -> None:
    try:
        for name in HOME_DIRS:
            (home / name).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"data home {home}: cannot create it ({exc.strerror}) — "
            "choose a writable folder with --home or TAKEBOARD_HOME"
        ) from exc


def _read_json(path: Path, what: str) -> JsonObject:
    try:
        data = jsontext.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{what} {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path}: expected a JSON object at the top")
    return data


def _home_overrides(path: Path, warnings: list[str]) -> JsonObject:
    """The home's config.json; one that is not JSON is moved aside and ignored, with a warning."""
    if not path.exists():
        return {}
    try:
        data = jsontext.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return data
        problem = "is not a JSON object"
    except ValueError as exc:
        problem = f"is not valid JSON ({exc})"
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read it ({exc.strerror}) — make it a readable file"
        ) from None
    aside = path.with_name(f"config.json.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        path.replace(aside)
    except OSError as exc:
        raise ConfigError(
            f"{path} {problem}, and it cannot be moved aside ({exc.strerror}) — fix or remove it"
        ) from None
    warnings.append(
        f"{path} {problem}: moved it to {aside.name} and used the defaults — "
        "fix it and move it back, or edit settings again"
    )
    return {}
