"""The configuration as frozen records: what `load_config` returns and the rest of the app reads.

Secrets never live here: a server names the environment variable that holds its token
(`token_env`), and `token()` reads it when a request is made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from core.config.urls import mask_url
from core.json_types import JsonValue

DEFAULT_RUNCOMFY_API = "https://api.runcomfy.net"
DEFAULT_RUNCOMFY_TOKEN_ENV = "RUNCOMFY_API_TOKEN"


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
    when: dict[str, JsonValue]
    use: tuple[str, ...]


@dataclass(frozen=True)
class RunComfyConfig:
    """config.json's cloud.runcomfy block, the TAKEBOARD_RUNCOMFY_* variables laid over it
    (core.config.env); 0 for a budget or idle_stop_s means none. The token itself lives in the
    environment variable `token_env` names."""

    user_id: str = ""
    token_env: str = DEFAULT_RUNCOMFY_TOKEN_ENV
    api_url: str = DEFAULT_RUNCOMFY_API
    machine_type: str = "medium"
    workflow_version: str = ""
    rates_usd_h: dict[str, float] = field(default_factory=dict)
    budget_session_usd: float = 0.0
    budget_month_usd: float = 0.0
    idle_stop_s: float = 0.0
    ready_timeout_s: float = 900.0
    auto_stop_at_quit: bool = False


@dataclass(frozen=True)
class CloudSettings:
    """RunComfy cloud machines as the cloud manager uses them (`Config.cloud`): the runcomfy
    block with the online switch and the timeouts. A budget or idle stop of None means none;
    the rate is the chosen machine type's."""

    allow_online: bool
    user_id: str = ""
    token_env: str = DEFAULT_RUNCOMFY_TOKEN_ENV
    api_url: str = DEFAULT_RUNCOMFY_API
    machine_type: str = "medium"
    workflow_version: str = ""
    rate_usd_h: float = 0.99  # the shipped rate of "medium"
    budget_session_usd: float | None = None
    budget_month_usd: float | None = None
    idle_stop_s: float | None = None
    ready_timeout_s: float = 900.0
    poll_s: float = 5.0
    estimated_duration_s: int = 4 * 3600  # RunComfy's own auto-stop bound, a safety net
    auto_stop_at_quit: bool = False
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0

    def token(self) -> str | None:
        return os.environ.get(self.token_env) or None


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

    @property
    def cloud(self) -> CloudSettings:
        """The cloud manager's settings, from the runcomfy block, the online switch and the
        timeouts (derived, so a changed switch is never out of step)."""
        block, rates = self.runcomfy, self.runcomfy.rates_usd_h
        fallback = max(rates.values(), default=CloudSettings.rate_usd_h)
        return CloudSettings(
            allow_online=self.allow_online,
            user_id=block.user_id,
            token_env=block.token_env or DEFAULT_RUNCOMFY_TOKEN_ENV,
            api_url=(block.api_url or DEFAULT_RUNCOMFY_API).rstrip("/"),
            machine_type=block.machine_type,
            workflow_version=block.workflow_version,
            rate_usd_h=rates.get(block.machine_type, fallback),
            budget_session_usd=block.budget_session_usd or None,
            budget_month_usd=block.budget_month_usd or None,
            idle_stop_s=block.idle_stop_s or None,
            ready_timeout_s=block.ready_timeout_s,
            auto_stop_at_quit=block.auto_stop_at_quit,
            connect_timeout_s=self.timeouts.connect_s,
            read_timeout_s=self.timeouts.read_s,
        )
