"""Configuration: shipped config.json < <home>/config.json < environment variables.

The shipped file defines every key and its type; an override may only set known keys with
values of the same type. Every error names the key path and the problem. Secrets never live
in a config file: a server names the environment variable that holds its token (token_env).
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core import jsontext
from core.errors import ConfigError
from core.models import AUDIO_TASKS, QUALITY_TIERS, SCHEMAS, MediaKind
from core.shipped import shipped_config

SHIPPED_CONFIG = shipped_config()
HOME_DIRS = ("artifacts", "workflows", "logs")  # thumbnails/ is made by the first preview
SECRET_KEY = re.compile(r"(token|api_?key|password|secret)$", re.IGNORECASE)
OPEN_MAPS = ("vram_profiles", "cloud.runcomfy.rates_usd_h")  # the user may add keys here
SERVER_DEFAULTS = {
    "name": "",
    "url": "",
    "token_env": None,
    "verify_tls": True,
    "preview_method": "auto",
    "keep_history": True,
}
PREVIEW_METHODS = ("auto", "latent2rgb", "taesd", "none")  # ComfyUI's extra_data.preview_method
URL_DEFAULTS = {"name": "", "url": "", "token_env": None}
COMMAND_DEFAULTS = {
    "name": "",
    "command": [],
    "python": None,
    "cwd": None,
    "output_dir": None,
    "timeout_s": 600.0,
    "env": {},
}
ROUTE_DEFAULTS = {"name": "", "when": {}, "use": []}
LIST_ITEMS = {  # the item shape of each list in config.json
    "comfyui.servers": SERVER_DEFAULTS,
    "backends.wangp": URL_DEFAULTS,
    "backends.gradio": URL_DEFAULTS,
    "backends.command": COMMAND_DEFAULTS,
    "routing": ROUTE_DEFAULTS,
}
FREE_FORM = ("env", "when")  # objects of any keys (checked where they are used)
ENV_HOME, ENV_COMFYUI, ENV_ONLINE = (
    "TAKEBOARD_HOME",
    "TAKEBOARD_COMFYUI_URL",
    "TAKEBOARD_ALLOW_ONLINE",
)


@dataclass(frozen=True)
class ServerConfig:
    name: str
    url: str
    token_env: str | None = None
    verify_tls: bool = True
    secret_url: bool = False  # the URL is the credential (a cloud machine): shown masked
    preview_method: str = "auto"  # live previews per prompt; "none" turns them off
    keep_history: bool = True  # False: delete a prompt from the server's history once harvested

    def token(self) -> str | None:
        """The bearer token from the named environment variable, if any."""
        return os.environ.get(self.token_env) if self.token_env else None

    def shown_url(self) -> str:
        """The URL for messages, logs, the status bar and stored records."""
        return mask_url(self.url) if self.secret_url else self.url


def mask_url(url: str | None) -> str:
    """`https://abc-comfyui.runcomfy.com/x?y` → `https://****.runcomfy.com`: no host or path."""
    if not url:
        return "-"
    parts = urlsplit(url)
    host = parts.hostname or ""
    labels = host.split(".")
    domain = ".".join(labels[-2:]) if len(labels) > 2 and _ip_address(host) is None else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or 'https'}://****{'.' + domain if domain else ''}{port}"


LOCAL_SUFFIXES = (".local", ".lan", ".home.arpa", ".localhost")


def is_local_url(url: str) -> bool:
    """Loopback, private LAN or link-local address, localhost or a .local/.lan name."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(LOCAL_SUFFIXES):
        return True
    address = _ip_address(host)
    return address is not None and (
        address.is_loopback or address.is_private or address.is_link_local
    )


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@dataclass(frozen=True)
class UrlBackendConfig:
    """A WanGP MCP server (url ends in /mcp) or a Gradio app."""

    name: str
    url: str
    token_env: str | None = None

    def token(self) -> str | None:
        return os.environ.get(self.token_env) if self.token_env else None


@dataclass(frozen=True)
class CommandConfig:
    """A command line as a backend. `command` is a list of words with {placeholders}: any
    request input, {python}, {output_dir}, {workdir} and {request_file} (the inputs as JSON)."""

    name: str
    command: tuple[str, ...]
    python: str | None = None  # None: the Python running Takeboard
    cwd: str | None = None
    output_dir: str | None = None  # None: a fresh folder per job ({output_dir})
    timeout_s: float = 600.0
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """A routing rule: prompts matching `when` run the first available function of `use`."""

    name: str
    when: dict[str, Any]
    use: tuple[str, ...]


@dataclass(frozen=True)
class RunComfyConfig:
    """RunComfy cloud machines; 0 for a budget or idle_stop_s means none. The token itself
    lives in the environment variable `token_env` names."""

    user_id: str = ""
    token_env: str = "RUNCOMFY_API_TOKEN"
    api_url: str = "https://api.runcomfy.net"
    machine_type: str = "medium"
    workflow_version: str = ""
    rates_usd_h: dict[str, float] = field(default_factory=dict)
    budget_session_usd: float = 0.0
    budget_month_usd: float = 0.0
    idle_stop_s: float = 0.0
    ready_timeout_s: float = 900.0
    auto_stop_at_quit: bool = False


@dataclass(frozen=True)
class LlmConfig:
    model: str
    api_base: str | None
    api_key_env: str | None
    timeout_s: float


@dataclass(frozen=True)
class RetryConfig:
    attempts: int
    initial_s: float
    max_s: float
    jitter_s: float


@dataclass(frozen=True)
class TimeoutConfig:
    connect_s: float
    read_s: float
    job_s: float


@dataclass(frozen=True)
class DownloadConfig:
    """Limits on one downloaded or copied take file: its size, and how long it may stall."""

    max_bytes: int = 4 * 1024**3
    stall_s: float = 60.0


@dataclass(frozen=True)
class Config:
    home: Path
    allow_online: bool
    default_quality: str
    comfyui_servers: tuple[ServerConfig, ...]
    timeouts: TimeoutConfig
    retry: RetryConfig
    quality_tiers: dict[str, str]
    vram_profiles: dict[str, float]
    log_level: str
    wangp_servers: tuple[UrlBackendConfig, ...] = ()
    gradio_apps: tuple[UrlBackendConfig, ...] = ()
    commands: tuple[CommandConfig, ...] = ()
    routing: tuple[Route, ...] = ()
    health_interval_s: float = 30.0
    llm: LlmConfig | None = None
    runcomfy: RunComfyConfig = field(default_factory=RunComfyConfig)
    downloads: DownloadConfig = field(default_factory=DownloadConfig)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def database_path(self) -> Path:
        return self.home / "takeboard.db"


def load_config(
    home: str | Path | None = None,
    env: dict[str, str] | None = None,
    shipped: Path = SHIPPED_CONFIG,
) -> Config:
    """Layer the three sources and validate; creates the data home."""
    env = dict(os.environ if env is None else env)
    defaults = _read_json(shipped, "shipped config")
    home_path = resolve_home(home, env, defaults)
    ensure_home(home_path)
    warnings: list[str] = []
    overrides = _home_overrides(home_path / "config.json", warnings)
    return _layered(defaults, overrides, env, home_path, tuple(warnings))


def _layered(
    defaults: dict, overrides: dict, env: dict[str, str], home: Path, warnings: tuple[str, ...]
) -> Config:
    """The one way to validate: merge the home overrides, then the environment, and build."""
    merged = merge(defaults, overrides, "")
    merged = merge(merged, _env_overrides(env), "")
    return _build(merged, home, warnings)


def shipped_defaults(shipped: Path = SHIPPED_CONFIG) -> dict:
    """The shipped config.json as a dict (every key, with its default)."""
    return _read_json(shipped, "shipped config")


def read_home_overrides(home: str | Path) -> dict:
    """The home's config.json as a dict; {} when there is none."""
    path = Path(home).expanduser() / "config.json"
    return _read_json(path, "home config") if path.exists() else {}


def save_home_config(
    home: str | Path,
    overrides: dict,
    env: dict[str, str] | None = None,
    shipped: Path = SHIPPED_CONFIG,
) -> Config:
    """Validate `overrides` as load_config would, then write <home>/config.json atomically.

    Raises ConfigError naming the key path, and writes nothing, when they are not valid. The
    overrides are checked on their own too, so a server list that the environment replaces
    is still validated before it is saved.
    """
    env = dict(os.environ if env is None else env)
    defaults = _read_json(shipped, "shipped config")
    home_path = resolve_home(home, env, defaults)
    ensure_home(home_path)
    _layered(defaults, overrides, {}, home_path, ())
    config = _layered(defaults, overrides, env, home_path, ())
    _write_atomically(home_path / "config.json", json.dumps(overrides, indent=2) + "\n")
    return config


def _write_atomically(path: Path, text: str) -> None:
    """Write a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"{path}: cannot save it ({exc.strerror or exc})") from exc


def resolve_home(home: str | Path | None, env: dict[str, str], defaults: dict) -> Path:
    chosen = home or env.get(ENV_HOME) or defaults.get("data_home")
    if not chosen:
        from platformdirs import user_data_dir

        chosen = user_data_dir("Takeboard", appauthor=False)
    return Path(chosen).expanduser().resolve()


def ensure_home(home: Path) -> None:
    try:
        for name in HOME_DIRS:
            (home / name).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"data home {home}: cannot create it ({exc.strerror}) — "
            "choose a writable folder with --home or TAKEBOARD_HOME"
        ) from exc


def _read_json(path: Path, what: str) -> dict:
    try:
        data = jsontext.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{what} {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path}: expected a JSON object at the top")
    return data


def _home_overrides(path: Path, warnings: list[str]) -> dict:
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


def _env_overrides(env: dict[str, str]) -> dict:
    out: dict[str, Any] = {}
    if env.get(ENV_COMFYUI, "").strip():
        urls = [_url(u, ENV_COMFYUI) for u in env[ENV_COMFYUI].split(",") if u.strip()]
        out["comfyui"] = {"servers": [{"name": netloc, "url": url} for url, netloc in urls]}
    if ENV_ONLINE in env:
        out["allow_online"] = env[ENV_ONLINE].strip().lower() in ("1", "true", "yes", "on")
    return out


def merge(base: Any, override: Any, path: str) -> Any:
    """`override` laid over `base`, refusing unknown keys and values of another type."""
    if path.rsplit(".", 1)[-1] in FREE_FORM:
        return _free_form(override, path)
    if isinstance(base, dict):
        return _merge_dict(base, override, path)
    if isinstance(base, list):
        return _merge_list(override, path)
    _check_type(base, override, path)
    return override


def _merge_dict(base: dict, override: Any, path: str) -> dict:
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


def _merge_list(override: Any, path: str) -> list:
    if not isinstance(override, list):
        raise ConfigError(f"{path}: expected a list, got {override!r}")
    item = LIST_ITEMS.get(path)
    if item is None:
        _check_words(override, path)
        return list(override)
    return [merge(item, entry, f"{path}[{n}]") for n, entry in enumerate(override)]


def _check_words(words: list, path: str) -> None:
    for n, word in enumerate(words):
        if not isinstance(word, str):
            raise ConfigError(f"{path}[{n}]: expected a text, got {word!r}")


def _free_form(override: Any, path: str) -> dict:
    if not isinstance(override, dict):
        raise ConfigError(f"{path}: expected an object, got {override!r}")
    for key, value in override.items():
        _refuse_secret(key, value, f"{path}.{key}")
    return dict(override)


def _refuse_secret(key: str, value: Any, where: str) -> None:
    if SECRET_KEY.search(key) and value:
        raise ConfigError(
            f"{where}: secrets do not belong in config files — put the value in an "
            "environment variable and name it with 'token_env'"
        )


def _check_type(default: Any, value: Any, path: str) -> None:
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


def _build(raw: dict, home: Path, warnings: tuple[str, ...]) -> Config:
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
        _url(config.runcomfy.api_url, "cloud.runcomfy.api_url")
    if config.llm is not None and config.llm.api_base:
        _url(config.llm.api_base, "llm.api_base")


def _url(raw: str, where: str) -> tuple[str, str]:
    """(normalised url, host:port), or ConfigError naming `where` (a key path or variable)."""
    url = raw.strip().rstrip("/")
    try:
        parsed = urlsplit(url)
        valid = bool(parsed.hostname) and parsed.port != 0  # .port: ValueError unless 1–65535
    except ValueError:
        valid = False
    if not valid or parsed.scheme not in ("http", "https") or not _printable(url):
        raise ConfigError(
            f"{where}: {raw.strip()!r} is not a server address — write it like http://127.0.0.1:8188"
        )
    if parsed.username is not None:
        raise ConfigError(
            f"{where}: credentials do not belong in a URL — put the token in an environment "
            "variable and name it with 'token_env'"
        )
    return url, parsed.netloc


def is_server_url(url: str) -> bool:
    """An http(s)://host[:port] address that config.json would accept."""
    try:
        _url(url, "url")
    except ConfigError:
        return False
    return True


def _printable(text: str) -> bool:
    return text.isprintable() and " " not in text


def _name(given: str, fallback: str, where: str) -> str:
    """A backend's name: the given one (trimmed), or `fallback` when none is given."""
    name = given.strip()
    if given and not name or not _printable(given.replace(" ", "")):
        raise ConfigError(
            f"{where}.name: {given!r} is not a usable name — give a short printable name, "
            "or leave it out to use the server's host:port"
        )
    return name or fallback


def _url_backends(items: list[dict], path: str) -> tuple[UrlBackendConfig, ...]:
    out = []
    for n, item in enumerate(items):
        where = f"{path}[{n}]"
        url, netloc = _url(item["url"], f"{where}.url")
        out.append(
            UrlBackendConfig(_name(item["name"], netloc, where), url, item["token_env"] or None)
        )
    return tuple(out)


def _command(item: dict, path: str) -> CommandConfig:
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


ROUTE_CONDITIONS: dict[str, tuple[str, ...]] = {  # each condition and the values it may name
    "kind": tuple(MediaKind),
    "quality": QUALITY_TIERS,
    "task": AUDIO_TASKS,
    "has": tuple(sorted({name for fields in SCHEMAS.values() for name in fields})),
    "tags": (),  # any texts
}


def _route(item: dict, path: str) -> Route:
    for key, want in item["when"].items():
        if key not in ROUTE_CONDITIONS:
            raise ConfigError(
                f"{path}.when.{key}: unknown condition — use: {', '.join(ROUTE_CONDITIONS)}"
            )
        _check_condition(want, ROUTE_CONDITIONS[key], f"{path}.when.{key}")
    if not item["use"]:
        raise ConfigError(f"{path}.use: list the functions to try, best first")
    return Route(item["name"] or f"rule {path}", dict(item["when"]), tuple(item["use"]))


def _check_condition(want: Any, allowed: tuple[str, ...], where: str) -> None:
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
    backends = (*config.comfyui_servers, *config.wangp_servers, *config.gradio_apps)
    for name in [b.name for b in backends] + [c.name for c in config.commands]:
        if name in seen:
            raise ConfigError(
                f"backends: the name {name!r} is used twice — give each server its own name"
            )
        seen.add(name)


def _server(item: dict, path: str) -> ServerConfig:
    url, netloc = _url(item["url"], f"{path}.url")
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
    numbers = {f"timeouts.{k}": v for k, v in vars(config.timeouts).items()}
    numbers |= {f"retry.{k}": v for k, v in vars(config.retry).items() if k != "jitter_s"}
    numbers |= {f"vram_profiles.{k}": v for k, v in config.vram_profiles.items()}
    numbers["health.interval_s"] = config.health_interval_s
    numbers |= {f"downloads.{k}": v for k, v in vars(config.downloads).items()}
    numbers["cloud.runcomfy.ready_timeout_s"] = config.runcomfy.ready_timeout_s
    numbers |= {
        f"cloud.runcomfy.rates_usd_h.{k}": v for k, v in config.runcomfy.rates_usd_h.items()
    }
    for key in ("budget_session_usd", "budget_month_usd", "idle_stop_s"):
        if getattr(config.runcomfy, key) < 0:
            raise ConfigError(f"cloud.runcomfy.{key}: must be 0 (none) or more")
    if config.llm is not None:
        numbers["llm.timeout_s"] = config.llm.timeout_s
    for where, value in numbers.items():
        if value <= 0:
            raise ConfigError(f"{where}: must be above 0, got {value}")
    if config.retry.jitter_s < 0:
        raise ConfigError(f"retry.jitter_s: must be 0 or more, got {config.retry.jitter_s}")
    if config.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"log_level: {config.log_level!r} — use DEBUG, INFO, WARNING or ERROR")
