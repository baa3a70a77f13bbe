"""The Settings dialog's state without Tk: the form ↔ home-override mapping, field errors
from ConfigError messages, and the text of a "test connection" result.

Field keys are the config key paths the form edits: "retry.attempts", "timeouts.job_s",
"default_quality", "allow_online", the "cloud.runcomfy.*" keys (RunComfy cloud machines), and
"servers[N].url" (or name, token_env, verify_tls) for row N of the ComfyUI server list.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import ConfigError

NUMBER_FIELDS: dict[str, type] = {
    "retry.attempts": int,
    "retry.initial_s": float,
    "retry.max_s": float,
    "timeouts.connect_s": float,
    "timeouts.read_s": float,
    "timeouts.job_s": float,
    "cloud.runcomfy.budget_session_usd": float,
    "cloud.runcomfy.budget_month_usd": float,
    "cloud.runcomfy.idle_stop_s": float,
}
# A number the form shows in a larger unit than its key: the key's value = the text × factor.
NUMBER_UNITS: dict[str, float] = {"cloud.runcomfy.idle_stop_s": 60.0}  # minutes on the form
TEXT_FIELDS = (
    "cloud.runcomfy.user_id",
    "cloud.runcomfy.token_env",
    "cloud.runcomfy.machine_type",
    "cloud.runcomfy.workflow_version",
)
FLAG_FIELDS = ("cloud.runcomfy.auto_stop_at_quit",)
RATES = "cloud.runcomfy.rates_usd_h"
SERVER_FIELDS = ("name", "url", "token_env", "verify_tls")
GENERAL = ""  # the field key of an error that names no field on the form
_ERROR = re.compile(r"^(?P<path>[A-Za-z_][\w.\[\]]*): (?P<text>.*)$", re.DOTALL)
_SERVER_PATH = re.compile(r"^comfyui\.servers\[(?P<row>\d+)\](?:\.(?P<field>\w+))?")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class ServerRow:
    name: str = ""
    url: str = ""
    token_env: str = ""
    verify_tls: bool = True
    preview_method: str = "auto"  # kept as config.json has it (not on the form yet)
    keep_history: bool = True


@dataclass
class SettingsForm:
    """What the dialog shows; numbers stay text, as typed, until they are saved. `rates_usd_h`
    (machine type → $/h, shipped defaults merged with the home's) is shown, not edited."""

    servers: list[ServerRow] = field(default_factory=list)
    numbers: dict[str, str] = field(default_factory=dict)
    default_quality: str = "standard"
    allow_online: bool = False
    texts: dict[str, str] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)
    rates_usd_h: dict[str, float] = field(default_factory=dict)


def form_from(defaults: dict, overrides: dict) -> SettingsForm:
    """The form for the shipped defaults with the home's overrides laid over them."""

    def value(path: str) -> Any:
        return _get(overrides, path, _get(defaults, path, None))

    servers = value("comfyui.servers") or []
    return SettingsForm(
        servers=[
            ServerRow(
                name=str(s.get("name") or ""),
                url=str(s.get("url") or ""),
                token_env=str(s.get("token_env") or ""),
                verify_tls=bool(s.get("verify_tls", True)),
                preview_method=str(s.get("preview_method") or "auto"),
                keep_history=bool(s.get("keep_history", True)),
            )
            for s in servers
            if isinstance(s, dict)
        ],
        numbers={
            path: _number_text(value(path), NUMBER_UNITS.get(path, 1)) for path in NUMBER_FIELDS
        },
        default_quality=str(value("default_quality")),
        allow_online=bool(value("allow_online")),
        texts={path: str(value(path) or "") for path in TEXT_FIELDS},
        flags={path: bool(value(path)) for path in FLAG_FIELDS},
        rates_usd_h={**_mapping(_get(defaults, RATES, {})), **_mapping(_get(overrides, RATES, {}))},
    )


def overrides_from(form: SettingsForm, defaults: dict, base: dict) -> dict:
    """The home overrides after this form: `base` (the current home file) with the form's
    keys set. A value equal to the shipped default is only written when `base` already has
    the key, so untouched settings keep following the defaults.

    Raises ConfigError naming the key path for a number that does not parse, or a token
    variable that is not an environment variable name.
    """
    out = copy.deepcopy(base)
    values: dict[str, Any] = {path: _parse(path, text) for path, text in form.numbers.items()}
    values |= {path: text.strip() for path, text in form.texts.items()}
    values |= form.flags
    values["default_quality"] = form.default_quality
    values["allow_online"] = form.allow_online
    _check_env_name("cloud.runcomfy.token_env", values.get("cloud.runcomfy.token_env", ""))
    values["comfyui.servers"] = [_server_dict(row) for row in form.servers]
    for path, new in values.items():
        if new != _get(defaults, path, _MISSING) or _get(base, path, _MISSING) is not _MISSING:
            _set(out, path, new)
    return out


def field_error(message: str) -> tuple[str, str]:
    """(field key, text) for a ConfigError message "key.path: text"; the key is GENERAL when
    the path names nothing on the form (the whole message is then kept as the text)."""
    match = _ERROR.match(message)
    if not match:
        return GENERAL, message
    path, text = match["path"], match["text"]
    server = _SERVER_PATH.match(path)
    if server:
        name = server["field"] if server["field"] in SERVER_FIELDS else "url"
        return f"servers[{server['row']}].{name}", text
    if path in (*NUMBER_FIELDS, *TEXT_FIELDS, *FLAG_FIELDS, "default_quality", "allow_online"):
        return path, text
    return GENERAL, message


def connection_text(state: Any) -> tuple[bool, str]:
    """(ok, text) for a ServerState-like result: online, vram_total_mb/vram_free_mb,
    last_error (or error)."""
    online = getattr(state, "online", None)
    error = getattr(state, "last_error", None) or getattr(state, "error", None)
    if online is None:
        return False, "not checked yet"
    if not online:
        return False, str(error) if error else "not answering"  # errors are whole sentences
    total = getattr(state, "vram_total_mb", None)
    free = getattr(state, "vram_free_mb", None)
    memory = getattr(state, "memory", "VRAM")  # "RAM" for a server computing on its CPU
    if total and free is not None:
        return True, f"online — {free / 1024:.1f} of {total / 1024:.1f} GB {memory} free"
    return True, "online"


def rate_text(rates_usd_h: Mapping[str, float], machine_type: str) -> str:
    """The hourly rate shown next to the machine type."""
    rate = rates_usd_h.get(machine_type)
    if isinstance(rate, int | float) and not isinstance(rate, bool):
        return f"${rate:.2f} an hour"
    return f"no rate set ({RATES})"


def token_text(token_env: str, env: Mapping[str, str] | None = None) -> str:
    """Whether the token variable is set — never the token itself."""
    name = token_env.strip()
    if not name:
        return "name the variable that holds the token"
    env = os.environ if env is None else env
    return f"{name} is set" if env.get(name) else f"{name} is not set"


# --- helpers ---------------------------------------------------------------------------------

_MISSING = object()


def _get(data: dict, path: str, default: Any) -> Any:
    node: Any = data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _set(data: dict, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = data
    for key in parents:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[last] = value


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _number_text(value: Any, unit: float = 1) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and unit != 1:
        value = value / unit
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return "" if value is None else str(value)


def _parse(path: str, text: str) -> int | float:
    kind = NUMBER_FIELDS[path]
    try:
        number = kind(text.strip())
    except ValueError:
        wanted = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{path}: expected {wanted}, got {text.strip()!r}") from None
    unit = NUMBER_UNITS.get(path)
    return round(number * unit, 6) if unit else number


def _check_env_name(path: str, name: str) -> None:
    if name and not _ENV_NAME.match(name):
        raise ConfigError(
            f"{path}: {name!r} is not an environment variable name — use letters, digits and _"
        )


def _server_dict(row: ServerRow) -> dict[str, Any]:
    return {
        "name": row.name.strip(),
        "url": row.url.strip(),
        "token_env": row.token_env.strip() or None,
        "verify_tls": row.verify_tls,
        "preview_method": row.preview_method,
        "keep_history": row.keep_history,
    }
