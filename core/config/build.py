"""From the merged config.json document to the `Config` records, checking every value.

Every error names the key path and says what to write instead.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from core.config.records import (
    CommandConfig,
    Config,
    DownloadConfig,
    LlmConfig,
    RetryConfig,
    Route,
    RunComfyConfig,
    ServerConfig,
    TimeoutConfig,
    UrlBackendConfig,
)
from core.config.urls import parse_url, printable
from core.errors import ConfigError
from core.json_types import JsonObject, JsonValue
from core.models import AUDIO_TASKS, QUALITY_TIERS, SCHEMAS, MediaKind

PREVIEW_METHODS = ("auto", "latent2rgb", "taesd", "none")  # ComfyUI's extra_data.preview_method
ROUTE_CONDITIONS: dict[str, tuple[str, ...]] = {  # each condition and the values it may name
    "kind": tuple(MediaKind),
    "quality": QUALITY_TIERS,
    "task": AUDIO_TASKS,
    "has": tuple(sorted({name for fields in SCHEMAS.values() for name in fields})),
    "tags": (),  # any texts
}


def build(raw: JsonObject, home: Path, warnings: tuple[str, ...]) -> Config:
    servers = tuple(
        _server(item, f"comfyui.servers[{n}]") for n, item in enumerate(raw["comfyui"]["servers"])
    )
    config = Config(
        home=home,
        allow_online=raw["allow_online"],
        default_quality=raw["default_quality"],
        comfyui_servers=servers,
        timeouts=TimeoutConfig(**raw["timeouts"]),
        retry=RetryConfig(**raw["retry"]),
        quality_tiers=raw["quality_tiers"],
        vram_profiles=raw["vram_profiles"],
        log_level=raw["log_level"],
        wangp_servers=_url_backends(raw["backends"]["wangp"], "backends.wangp"),
        gradio_apps=_url_backends(raw["backends"]["gradio"], "backends.gradio"),
        commands=tuple(
            _command(item, f"backends.command[{n}]")
            for n, item in enumerate(raw["backends"]["command"])
        ),
        routing=tuple(_route(item, f"routing[{n}]") for n, item in enumerate(raw["routing"])),
        health_interval_s=raw["health"]["interval_s"],
        llm=LlmConfig(**raw["llm"]),
        runcomfy=RunComfyConfig(**raw["cloud"]["runcomfy"]),
        downloads=DownloadConfig(**raw["downloads"]),
        warnings=warnings,
    )
    _check_values(config)
    _check_service_urls(config)
    _check_unique_names(config)
    return config


def _check_service_urls(config: Config) -> None:
    """The URLs of services that are not pool members are server addresses too."""
    if config.runcomfy.api_url:
        parse_url(config.runcomfy.api_url, "cloud.runcomfy.api_url")
    if config.llm is not None and config.llm.api_base:
        parse_url(config.llm.api_base, "llm.api_base")


def _name(given: str, fallback: str, where: str) -> str:
    """A backend's name: the given one (trimmed), or `fallback` when none is given."""
    name = given.strip()
    if given and not name or not printable(given.replace(" ", "")):
        raise ConfigError(
            f"{where}.name: {given!r} is not a usable name — give a short printable name, "
            "or leave it out to use the server's host:port"
        )
    return name or fallback


def _url_backends(items: list[JsonObject], path: str) -> tuple[UrlBackendConfig, ...]:
    out = []
    for n, item in enumerate(items):
        where = f"{path}[{n}]"
        url, netloc = parse_url(item["url"], f"{where}.url")
        out.append(
            UrlBackendConfig(_name(item["name"], netloc, where), url, item["token_env"] or None)
        )
    return tuple(out)


def _command(item: JsonObject, path: str) -> CommandConfig:
    if not item["name"] or not item["command"]:
        raise ConfigError(
            f"{path}: needs a 'name' and a 'command' list, e.g. "
            '["{python}", "run.py", "--prompt", "{prompt}", "--output", "{output_dir}"]'
        )
    if item["timeout_s"] <= 0:
        raise ConfigError(f"{path}.timeout_s: must be above 0, got {item['timeout_s']}")
    for key, value in item["env"].items():
        if not isinstance(value, str):
            raise ConfigError(f"{path}.env.{key}: expected a text, got {value!r}")
    return CommandConfig(
        name=_name(item["name"], "", path),
        command=tuple(item["command"]),
        python=item["python"],
        cwd=item["cwd"],
        output_dir=item["output_dir"],
        timeout_s=float(item["timeout_s"]),
        env=dict(item["env"]),
    )


def _route(item: JsonObject, path: str) -> Route:
    for key, want in item["when"].items():
        if key not in ROUTE_CONDITIONS:
            raise ConfigError(
                f"{path}.when.{key}: unknown condition — use: {', '.join(ROUTE_CONDITIONS)}"
            )
        _check_condition(want, ROUTE_CONDITIONS[key], f"{path}.when.{key}")
    if not item["use"]:
        raise ConfigError(f"{path}.use: list the functions to try, best first")
    return Route(item["name"] or f"rule {path}", dict(item["when"]), tuple(item["use"]))


def _check_condition(want: JsonValue, allowed: tuple[str, ...], where: str) -> None:
    """A condition names one text or a list of texts, each one of `allowed` (if given)."""
    for value in want if isinstance(want, list) else [want]:
        if not isinstance(value, str) or (allowed and value not in allowed):
            choices = f"one of: {', '.join(allowed)}" if allowed else "texts"
            raise ConfigError(f"{where}: {value!r} is not a value it can match — use {choices}")


def check_route_functions(routes: tuple[Route, ...], functions: list[str]) -> None:
    """ConfigError for a routing rule naming a function no template defines. The function
    list comes from the templates, which the composition root loads."""
    for rule in routes:
        for name in rule.use:
            if name not in functions:
                close = difflib.get_close_matches(name, functions, n=1)
                hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(functions)
                raise ConfigError(
                    f"routing: rule {rule.name!r} uses {name!r}, which no template defines — "
                    f"{hint} (a template that fails to load is skipped: see 'functions')"
                )


def _check_unique_names(config: Config) -> None:
    seen: set[str] = set()
    names = [s.name for s in config.comfyui_servers]
    names += [b.name for b in (*config.wangp_servers, *config.gradio_apps)]
    for name in names + [c.name for c in config.commands]:
        if name in seen:
            raise ConfigError(
                f"backends: the name {name!r} is used twice — give each server its own name"
            )
        seen.add(name)


def _server(item: JsonObject, path: str) -> ServerConfig:
    url, netloc = parse_url(item["url"], f"{path}.url")
    return ServerConfig(
        name=_name(item["name"], netloc, path),
        url=url,
        token_env=item["token_env"] or None,
        verify_tls=item["verify_tls"],
        preview_method=_preview_method(item["preview_method"], path),
        keep_history=item["keep_history"],
    )


def _preview_method(value: str, path: str) -> str:
    if value not in PREVIEW_METHODS:
        raise ConfigError(
            f"{path}.preview_method: {value!r} is not a preview method — use one of: "
            + ", ".join(PREVIEW_METHODS)
        )
    return value


def _check_values(config: Config) -> None:
    if config.default_quality not in QUALITY_TIERS:
        raise ConfigError(
            f"default_quality: {config.default_quality!r} is not a tier — use one "
            f"of: {', '.join(QUALITY_TIERS)}"
        )
    for name in config.quality_tiers:
        if name not in QUALITY_TIERS:
            raise ConfigError(
                f"quality_tiers.{name}: not a tier — tiers are {', '.join(QUALITY_TIERS)}"
            )
    _check_cloud_budgets(config.runcomfy)
    _check_positive(_numbers(config))
    if config.retry.jitter_s < 0:
        raise ConfigError(f"retry.jitter_s: must be 0 or more, got {config.retry.jitter_s}")
    if config.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"log_level: {config.log_level!r} — use DEBUG, INFO, WARNING or ERROR")


def _numbers(config: Config) -> dict[str, float]:
    """Every number that must be above 0, by key path."""
    numbers = {f"timeouts.{k}": v for k, v in vars(config.timeouts).items()}
    numbers |= {f"retry.{k}": v for k, v in vars(config.retry).items() if k != "jitter_s"}
    numbers |= {f"vram_profiles.{k}": v for k, v in config.vram_profiles.items()}
    numbers["health.interval_s"] = config.health_interval_s
    numbers |= {f"downloads.{k}": v for k, v in vars(config.downloads).items()}
    runcomfy = config.runcomfy
    numbers["cloud.runcomfy.ready_timeout_s"] = runcomfy.ready_timeout_s
    numbers |= {f"cloud.runcomfy.rates_usd_h.{k}": v for k, v in runcomfy.rates_usd_h.items()}
    if config.llm is not None:
        numbers["llm.timeout_s"] = config.llm.timeout_s
    return numbers


def _check_cloud_budgets(runcomfy: RunComfyConfig) -> None:
    for key in ("budget_session_usd", "budget_month_usd", "idle_stop_s"):
        if getattr(runcomfy, key) < 0:
            raise ConfigError(f"cloud.runcomfy.{key}: must be 0 (none) or more")


def _check_positive(numbers: dict[str, float]) -> None:
    for where, value in numbers.items():
        if value <= 0:
            raise ConfigError(f"{where}: must be above 0, got {value}")
