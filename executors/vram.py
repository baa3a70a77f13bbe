"""GPU memory: NVML for the local cards, /system_stats for any server.

What ComfyUI's /system_stats reports per device (server.py@002c3fb `system_stats`,
comfy/model_management.py@02b2b38 `get_torch_device_name`, `get_total_memory`,
`get_free_memory`); the newest servers list every device, the primary first, older ones
(0.3.64) only the primary:

| type            | name (get_torch_device_name)                       | vram_total / vram_free    |
|-----------------|----------------------------------------------------|---------------------------|
| `cuda` (NVIDIA, | "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync" | the card (mem_get_info)   |
|   AMD ROCm too) | "cuda:0 AMD Radeon RX 7900 XTX : native"           |                           |
| `xpu` (Intel)   | "xpu:0 Intel(R) Arc(TM) A770 Graphics"             | the card                  |
| `npu`, `mlu`    | "npu", "mlu"                                       | the card (mem_get_info)   |
| `mps` (Apple)   | "mps"                                              | system RAM (unified)      |
| `cpu`           | "cpu"                                              | system RAM                |
| `privateuseone` | "privateuseone" (DirectML)                         | a fixed 1 GiB placeholder |

So a cpu or mps device's "VRAM" is the machine's RAM, shared with everything else running
there: it is labelled "RAM" and admission counts its free part (see `Device.admits_by_free`).
DirectML's numbers are not a measurement: such a device counts as one without numbers.

NVML comes from the nvidia-ml-py package (`import pynvml`) and is imported only when asked.
Without a driver, a GPU or the package, `nvml_gpus()` answers None — once logged at INFO and
then remembered, so a refresh every few seconds does not retry (`reset()` forgets it).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from dataclasses import dataclass
from types import ModuleType
from urllib.parse import urlsplit

from core.json_types import JsonObject, JsonValue

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


def _gpu(pynvml: ModuleType, index: int) -> GpuInfo:
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


RAM_TYPES = ("cpu", "mps")  # their vram_* numbers are the machine's RAM
UNMEASURED_TYPES = ("privateuseone",)  # DirectML: ComfyUI reports a 1 GiB placeholder
TYPE_WORDS = {"privateuseone": "DirectML", "mps": "Apple GPU"}  # names that say little


@dataclass(frozen=True)
class Device:
    """One device of a server, as its /system_stats lists it."""

    name: str  # ComfyUI's words: "cuda:0 NVIDIA GeForce RTX 4090", "cpu", "mps"
    type: str  # torch's device type: cuda, xpu, npu, mlu, mps, cpu, privateuseone
    index: int | None
    memory: str  # what its numbers measure: "RAM" (cpu, mps) or "VRAM"
    total_mb: int | None  # None: not reported, or no measurement (DirectML)
    free_mb: int | None

    @property
    def admits_by_free(self) -> bool:
        """RAM is shared with the OS and other programs: a job is admitted while it fits in
        what is free, not in the total as on a GPU, where the jobs we run are the users."""
        return self.memory == "RAM"

    def describe(self) -> str:
        """One tooltip line: "cuda:0 NVIDIA GeForce RTX 4090: VRAM 6.0/24.0 GB"."""
        words = TYPE_WORDS.get(self.type)
        label = self.name if not words or words in self.name else f"{self.name} ({words})"
        if self.total_mb is None:
            return f"{label}: memory not reported"
        if self.free_mb is None:
            return f"{label}: {self.memory} {self.total_mb / 1024:.1f} GB"
        used = self.total_mb - self.free_mb
        return f"{label}: {self.memory} {used / 1024:.1f}/{self.total_mb / 1024:.1f} GB"


def server_devices(system_stats: JsonObject) -> tuple[Device, ...]:
    """Every device in a /system_stats answer, in its order (the primary first)."""
    devices = system_stats.get("devices") if isinstance(system_stats, dict) else None
    listed = devices if isinstance(devices, list) else []
    return tuple(_device(d) for d in listed if isinstance(d, dict))


def _device(entry: JsonObject) -> Device:
    kind = str(entry.get("type") or "")
    index = entry.get("index")
    measured = kind not in UNMEASURED_TYPES
    return Device(
        name=_short_name(str(entry.get("name") or kind or "device")),
        type=kind,
        index=index if isinstance(index, int) and not isinstance(index, bool) else None,
        memory="RAM" if kind in RAM_TYPES else "VRAM",
        total_mb=_mb(entry.get("vram_total")) if measured else None,
        free_mb=_mb(entry.get("vram_free")) if measured else None,
    )


def _short_name(name: str) -> str:
    """ComfyUI appends the CUDA allocator to a card's name (" : cudaMallocAsync"): drop it."""
    return name.rsplit(" : ", 1)[0].strip() or name


def _mb(value: JsonValue) -> int | None:
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
