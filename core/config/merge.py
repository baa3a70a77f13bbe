"""Laying one layer of config over another: only known keys, values of the default's type.

The shipped config.json defines every key and its type; an override (the home's config.json,
the environment) may only set known keys with values of the same type. Every error names the
key path and the problem; a secret in a config file is refused.
"""

from __future__ import annotations

import difflib
import re

from core.errors import ConfigError
from core.json_types import JsonObject, JsonValue

SECRET_KEY = re.compile(r"(token|api_?key|password|secret)$", re.IGNORECASE)
OPEN_MAPS = ("vram_profiles", "cloud.runcomfy.rates_usd_h")  # the user may add keys here
SERVER_DEFAULTS: JsonObject = {
    "name": "",
    "url": "",
    "token_env": None,
    "verify_tls": True,
    "preview_method": "auto",
    "keep_history": True,
}
URL_DEFAULTS: JsonObject = {"name": "", "url": "", "token_env": None}
COMMAND_DEFAULTS: JsonObject = {
    "name": "",
    "command": [],
    "python": None,
    "cwd": None,
    "output_dir": None,
    "timeout_s": 600.0,
    "env": {},
}
ROUTE_DEFAULTS: JsonObject = {"name": "", "when": {}, "use": []}
LIST_ITEMS = {  # the item shape of each list in config.json
    "comfyui.servers": SERVER_DEFAULTS,
    "backends.wangp": URL_DEFAULTS,
    "backends.gradio": URL_DEFAULTS,
    "backends.command": COMMAND_DEFAULTS,
    "routing": ROUTE_DEFAULTS,
}
FREE_FORM = ("env", "when")  # objects of any keys (checked where they are used)


def merge(base: JsonValue, override: JsonValue, path: str) -> JsonValue:
    """`override` laid over `base`, refusing unknown keys and values of another type."""
    if path.rsplit(".", 1)[-1] in FREE_FORM:
        return _free_form(override, path)
    if isinstance(base, dict):
        return _merge_dict(base, override, path)
    if isinstance(base, list):
        return _merge_list(override, path)
    _check_type(base, override, path)
    return override


def _merge_dict(base: JsonObject, override: JsonValue, path: str) -> JsonObject:
    if not isinstance(override, dict):
        raise ConfigError(f"{path or 'config'}: expected an object, got {override!r}")
    out = dict(base)
    for key, value in override.items():
        where = f"{path}.{key}" if path else key
        _refuse_secret(key, value, where)
        if key not in base and path in OPEN_MAPS:
            _check_type(0.0, value, where)
            out[key] = value
            continue
        if key not in base:
            close = difflib.get_close_matches(key, list(base), n=1)
            hint = f" — did you mean {close[0]!r}?" if close else f" — known: {', '.join(base)}"
            raise ConfigError(f"{where}: unknown key{hint}")
        out[key] = merge(base[key], value, where)
    return out


def _merge_list(override: JsonValue, path: str) -> list[JsonValue]:
    if not isinstance(override, list):
        raise ConfigError(f"{path}: expected a list, got {override!r}")
    item = LIST_ITEMS.get(path)
    if item is None:
        _check_words(override, path)
        return list(override)
    return [merge(item, entry, f"{path}[{n}]") for n, entry in enumerate(override)]


def _check_words(words: list[JsonValue], path: str) -> None:
    for n, word in enumerate(words):
        if not isinstance(word, str):
            raise ConfigError(f"{path}[{n}]: expected a text, got {word!r}")


def _free_form(override: JsonValue, path: str) -> JsonObject:
    if not isinstance(override, dict):
        raise ConfigError(f"{path}: expected an object, got {override!r}")
    for key, value in override.items():
        _refuse_secret(key, value, f"{path}.{key}")
    return dict(override)


def _refuse_secret(key: str, value: JsonValue, where: str) -> None:
    if SECRET_KEY.search(key) and value:
        raise ConfigError(
            f"{where}: secrets do not belong in config files — put the value in an "
            "environment variable and name it with 'token_env'"
        )


def _check_type(default: JsonValue, value: JsonValue, path: str) -> None:
    if default is None:
        ok = value is None or isinstance(value, str)
        wanted = "a text or null"
    elif isinstance(default, bool):
        ok, wanted = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, wanted = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        wanted = "a number"
    else:
        ok, wanted = isinstance(value, type(default)), f"a {type(default).__name__}"
    if not ok:
        raise ConfigError(f"{path}: expected {wanted}, got {value!r}")
