"""One health check of one pool member: ask it (`probe`, no lock held) and write what it
said into its bookkeeping (`apply`, under the pool's lock)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core.config import is_local_url
from core.errors import BackendError
from core.json_types import JsonObject
from executors.backends.base import ToolClient
from executors.backends.comfyui import ComfyClient, ServerFeatures
from executors.pool.servers import Member
from executors.vram import Device, GpuInfo, is_local, server_devices


@dataclass
class Probe:
    """What one refresh learnt about one server."""

    online: bool
    stats: JsonObject = field(default_factory=dict)
    queue: JsonObject = field(default_factory=dict)
    error: str | None = None
    features: ServerFeatures | None = None


def on_internet(url: str) -> bool:
    """A URL with a host beyond this machine and the LAN (a command line has none)."""
    return bool(urlsplit(url).hostname) and not is_local_url(url)


def odd_answer(server: Member, exc: Exception) -> str:
    return (
        f"{server.name} ({server.config.shown_url()}) answered its health check with something "
        f"unexpected ({type(exc).__name__}) — check it is the server the config names"
    )


def probe(client: ComfyClient | ToolClient) -> Probe:
    """Any thread, no lock held: about one connect timeout when the server is down."""
    if not isinstance(client, ComfyClient):
        return _tool_probe(client)
    try:
        stats = client.system_stats()
        queue = client.queue()
        features = client.features()
    except BackendError as exc:
        client.forget()  # when it answers again it may be another version
        return Probe(online=False, error=str(exc))
    return Probe(online=True, stats=stats, queue=queue, features=features)


def _tool_probe(client: ToolClient) -> Probe:
    """A WanGP / Gradio / command member: its own health check (VRAM comes from NVML)."""
    health = client.health()
    if not health.online:
        return Probe(online=False, error=health.detail)
    queue = {
        "queue_running": [None] * (health.queue_running or 0),
        "queue_pending": [None] * (health.queue_pending or 0),
    }
    return Probe(online=True, queue=queue)


def apply(server: Member, answer: Probe, gpus: list[GpuInfo] | None) -> None:
    """Under the pool's lock: what the server answered becomes its state."""
    if not answer.online:
        server.online = False
        server.queue_running = server.queue_pending = None
        server.last_error = answer.error
        return
    if server.online is False:
        server.last_error = None  # the refresh's own error; it answers again
    server.online = True
    server.queue_running = _count(answer.queue, "queue_running")
    server.queue_pending = _count(answer.queue, "queue_pending")
    server.features = answer.features or server.features
    server.devices = server_devices(answer.stats)
    vram = _vram(server.config.url, server.devices, gpus)
    server.vram_total_mb, server.vram_free_mb, server.vram_source = vram


def _vram(
    url: str, devices: tuple[Device, ...], gpus: list[GpuInfo] | None
) -> tuple[int | None, int | None, str]:
    """NVML for a local server whose primary device is a CUDA card (or that lists none:
    WanGP, Gradio), else the primary device's own numbers (any type), else none."""
    primary = devices[0] if devices else None
    if gpus and is_local(url) and (primary is None or primary.type == "cuda"):
        index = primary.index if primary else None
        gpu = next((g for g in gpus if g.index == index), gpus[0])
        return gpu.total_mb, gpu.free_mb, "nvml"
    if primary is None or primary.total_mb is None:
        return None, None, "none"
    return primary.total_mb, primary.free_mb, "server"


def _count(queue: JsonObject, key: str) -> int | None:
    items = queue.get(key)
    return len(items) if isinstance(items, list) else None
