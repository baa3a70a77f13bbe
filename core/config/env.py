"""The environment layer: variables laid over config.json, the last of the three sources.

Each variable maps onto config.json keys and goes through the same merge and checks as the
home's config.json; a value that cannot be used is refused naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.config.urls import parse_url
from core.errors import ConfigError
from core.json_types import JsonObject

ENV_HOME = "TAKEBOARD_HOME"
ENV_COMFYUI = "TAKEBOARD_COMFYUI_URL"
ENV_ONLINE = "TAKEBOARD_ALLOW_ONLINE"
ENV_RUNCOMFY_USER = "TAKEBOARD_RUNCOMFY_USER_ID"
ENV_RUNCOMFY_API = "TAKEBOARD_RUNCOMFY_API"
ENV_RUNCOMFY_MACHINE = "TAKEBOARD_RUNCOMFY_MACHINE"
ENV_RUNCOMFY_VERSION = "TAKEBOARD_RUNCOMFY_VERSION"
ENV_RUNCOMFY_RATE = "TAKEBOARD_RUNCOMFY_RATE_USD_H"  # the chosen machine type's rate
ENV_RUNCOMFY_BUDGET_SESSION = "TAKEBOARD_RUNCOMFY_BUDGET_SESSION_USD"
ENV_RUNCOMFY_BUDGET_MONTH = "TAKEBOARD_RUNCOMFY_BUDGET_MONTH_USD"
ENV_RUNCOMFY_IDLE = "TAKEBOARD_RUNCOMFY_IDLE_STOP_S"
ENV_RUNCOMFY_READY_TIMEOUT = "TAKEBOARD_RUNCOMFY_READY_TIMEOUT_S"
ENV_RUNCOMFY_AUTO_STOP = "TAKEBOARD_RUNCOMFY_AUTO_STOP"
RUNCOMFY_TEXTS = {  # variable → cloud.runcomfy key
    ENV_RUNCOMFY_USER: "user_id",
    ENV_RUNCOMFY_API: "api_url",
    ENV_RUNCOMFY_MACHINE: "machine_type",
    ENV_RUNCOMFY_VERSION: "workflow_version",
}
RUNCOMFY_NUMBERS = {  # variable → (cloud.runcomfy key, 0 allowed: it means none)
    ENV_RUNCOMFY_BUDGET_SESSION: ("budget_session_usd", True),
    ENV_RUNCOMFY_BUDGET_MONTH: ("budget_month_usd", True),
    ENV_RUNCOMFY_IDLE: ("idle_stop_s", True),
    ENV_RUNCOMFY_READY_TIMEOUT: ("ready_timeout_s", False),
}


def env_overrides(env: Mapping[str, str], base: JsonObject) -> JsonObject:
    """The variables that are set, as a layer to merge over `base` (the config so far)."""
    out: JsonObject = {}
    if env.get(ENV_COMFYUI, "").strip():
        urls = [parse_url(u, ENV_COMFYUI) for u in env[ENV_COMFYUI].split(",") if u.strip()]
        out["comfyui"] = {"servers": [{"name": netloc, "url": url} for url, netloc in urls]}
    if ENV_ONLINE in env:
        out["allow_online"] = _flag(env[ENV_ONLINE])
    runcomfy = _runcomfy(env, base["cloud"]["runcomfy"]["machine_type"])
    if runcomfy:
        out["cloud"] = {"runcomfy": runcomfy}
    return out


def _runcomfy(env: Mapping[str, str], configured_machine: str) -> JsonObject:
    out: JsonObject = {}
    for name, key in RUNCOMFY_TEXTS.items():
        if text := env.get(name, "").strip():
            out[key] = text
    if "api_url" in out:
        parse_url(out["api_url"], ENV_RUNCOMFY_API)
    for name, (key, zero_allowed) in RUNCOMFY_NUMBERS.items():
        if (value := _number(env, name, zero_allowed)) is not None:
            out[key] = value
    if (rate := _number(env, ENV_RUNCOMFY_RATE, zero_allowed=False)) is not None:
        out["rates_usd_h"] = {out.get("machine_type", configured_machine): rate}
    if flag := env.get(ENV_RUNCOMFY_AUTO_STOP, "").strip():
        out["auto_stop_at_quit"] = _flag(flag)
    return out


def _flag(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


def _number(env: Mapping[str, str], name: str, zero_allowed: bool) -> float | None:
    text = env.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {text!r}") from None
    if value < 0 or (value == 0 and not zero_allowed):
        least = "0 or more" if zero_allowed else "above 0"
        raise ConfigError(f"{name}: must be {least}, got {value}")
    return value
