"""GPU memory: NVML for the local cards, /system_stats for any server.

NVML comes from the nvidia-ml-py package (`import pynvml`) and is imported only when asked.
Without a driver, a GPU or the package, `nvml_gpus()` answers None — once logged at INFO and
then remembered, so a refresh every few seconds does not retry (`reset()` forgets it).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

MB = 1024 * 1024

_lock = threading.Lock()
_unavailable: str | None = None  # why NVML cannot be used; None: not known to fail


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    total_mb: int
    free_mb: int
    used_mb: int


def nvml_gpus() -> list[GpuInfo] | None:
    """Every local NVIDIA GPU, or None when NVML cannot be used. Never raises."""
    global _unavailable
    with _lock:
        if _unavailable is not None:
            return None
        try:
            return _query_nvml()
        except Exception as exc:  # ImportError, NVMLError and friends: no GPU info
            _unavailable = str(exc) or type(exc).__name__
            log.info("no GPU info (NVML: %s)", _unavailable)
            return None


def reset() -> None:
    """Forget that NVML failed (for tests)."""
    global _unavailable
    with _lock:
        _unavailable = None


def _query_nvml() -> list[GpuInfo]:
    import pynvml

    pynvml.nvmlInit()
    try:
        return [_gpu(pynvml, i) for i in range(pynvml.nvmlDeviceGetCount())]
    finally:
        pynvml.nvmlShutdown()


def _gpu(pynvml: Any, index: int) -> GpuInfo:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    name = pynvml.nvmlDeviceGetName(handle)
    memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
    return GpuInfo(
        index,
        name.decode() if isinstance(name, bytes) else str(name),
        memory.total // MB,
        memory.free // MB,
        memory.used // MB,
    )


def server_vram(system_stats: dict[str, Any]) -> tuple[int | None, int | None]:
    """(total_mb, free_mb) of the first CUDA device in a /system_stats answer."""
    devices = system_stats.get("devices") if isinstance(system_stats, dict) else None
    for device in devices if isinstance(devices, list) else []:
        if isinstance(device, dict) and device.get("type") == "cuda":
            return _mb(device.get("vram_total")), _mb(device.get("vram_free"))
    return None, None


def _mb(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) // MB


def is_local(url: str) -> bool:
    """Does `url` point at this machine (127.0.0.0/8, ::1, localhost)?"""
    try:
        host = urlsplit(url if "://" in url else f"//{url}").hostname
    except ValueError:
        return False
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
