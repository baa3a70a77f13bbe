"""A pool member: its bookkeeping (`Member`, touched only under the pool's lock) and the frozen
`ServerState` snapshot that the window, `backends --json` and the engine read."""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import asdict, dataclass

from core.config import ServerConfig
from core.json_types import JsonValue
from executors.backends.base import ToolClient
from executors.backends.comfyui import ComfyClient, ServerFeatures
from executors.vram import Device

WINDOW = 50  # outcomes (and successful latencies) remembered per server
ROW_KEYS = (
    "name kind url online vram_free_mb vram_total_mb queue_running queue_pending success_rate "
    "median_latency_ms vram_source breaker_open last_error reserved_gb devices api version"
).split()
FAMILIES = {
    "comfyui": "ComfyUI server",
    "wangp": "WanGP server",
    "gradio": "Gradio app",
    "command": "command backend",
}


@dataclass(frozen=True)
class ServerState:
    """One server as `python main.py backends --json` shows it."""

    name: str
    kind: str
    url: str
    online: bool | None  # None: not checked yet
    vram_total_mb: int | None
    vram_free_mb: int | None
    vram_source: str  # "nvml" | "server" | "none"
    queue_running: int | None
    queue_pending: int | None
    success_rate: float | None
    median_latency_ms: float | None
    reserved_gb: float
    slots_used: int
    breaker_open: bool  # refusing jobs now: open, or half-open with its test job running
    last_error: str | None
    devices: tuple[Device, ...] = ()  # as /system_stats lists them, the primary first
    memory: str = "VRAM"  # what vram_*_mb measure: "RAM" for a cpu/mps server (by_free_ram)
    api: dict[str, bool] | None = None  # ComfyUI: {"jobs": …, "assets": …}, as detected
    version: str | None = None  # the server's own version, where it says


class Member:
    """Mutable bookkeeping for one server of the pool; only touched under the pool's lock."""

    def __init__(self, config: ServerConfig, client: ComfyClient | ToolClient):
        self.config = config
        self.client = client
        self.online: bool | None = None
        self.vram_total_mb: int | None = None
        self.vram_free_mb: int | None = None
        self.vram_source = "none"
        self.devices: tuple[Device, ...] = ()
        self.queue_running: int | None = None
        self.queue_pending: int | None = None
        self.outcomes: deque[bool] = deque(maxlen=WINDOW)
        self.latencies_ms: deque[float] = deque(maxlen=WINDOW)
        self.leases: dict[int, float] = {}  # lease token → reserved GB
        self.failures = 0  # transient failures in a row
        self.open_until: float | None = None  # breaker tripped; half-open from then on
        self.probe_token: int | None = None  # the one half-open job in flight
        self.last_error: str | None = None
        self.features: ServerFeatures | None = None  # ComfyUI: what it supports (last known)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def kind(self) -> str:
        return self.client.kind

    @property
    def reserved_gb(self) -> float:
        return sum(self.leases.values())

    @property
    def total_gb(self) -> float | None:
        return None if self.vram_total_mb is None else self.vram_total_mb / 1024

    @property
    def by_free_ram(self) -> bool:
        """Its memory is the machine's RAM (a cpu or mps primary device): shared with
        everything else running there, so jobs are admitted into its free part."""
        return self.vram_source == "server" and self.devices[0].admits_by_free

    @property
    def room_gb(self) -> float | None:
        """What admitted jobs must fit in: a GPU's total, or the free RAM."""
        if self.by_free_ram:
            return None if self.vram_free_mb is None else self.vram_free_mb / 1024
        return self.total_gb

    def paused(self, now: float) -> bool:
        """The breaker refuses jobs: open, or half-open with its one job in flight."""
        if self.open_until is None:
            return False
        return now < self.open_until or self.probe_token is not None

    def median_latency_ms(self) -> float | None:
        return statistics.median(self.latencies_ms) if self.latencies_ms else None

    def success_rate(self) -> float | None:
        return sum(self.outcomes) / len(self.outcomes) if self.outcomes else None


def state_of(server: Member, now: float) -> ServerState:
    return ServerState(
        name=server.name,
        kind=server.kind,
        url=server.config.shown_url(),
        online=server.online,
        vram_total_mb=server.vram_total_mb,
        vram_free_mb=server.vram_free_mb,
        vram_source=server.vram_source,
        queue_running=server.queue_running,
        queue_pending=server.queue_pending,
        success_rate=server.success_rate(),
        median_latency_ms=server.median_latency_ms(),
        reserved_gb=server.reserved_gb,
        slots_used=len(server.leases),
        breaker_open=server.paused(now),
        last_error=server.last_error,
        devices=server.devices,
        memory="RAM" if server.by_free_ram else "VRAM",
        api=server.features.api() if server.features else None,
        version=server.features.version if server.features else None,
    )


def backend_rows(states: list[ServerState]) -> list[dict[str, JsonValue]]:
    """The rows of `backends --json`: one dict a server."""
    return [{key: asdict(state)[key] for key in ROW_KEYS} for state in states]
