"""VRAM admission on every device type /system_stats reports, and how the window shows them.

The answers below have the shape ComfyUI's `system_stats` handler builds (server.py@002c3fb:
name from `get_torch_device_name`, `type`/`index` from the torch device, memory from
`get_total_memory`/`get_free_memory` in comfy/model_management.py@02b2b38); the CPU one is
the answer recorded from a real 0.3.64 (../shared/fixtures/comfyui-real/a_basic_endpoints.jsonl).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.live_state import indicator, memory_tooltip, vram_text
from core.config import ServerConfig
from executors.backends.comfyui import ComfyClient, ServerFeatures
from executors.pool import Lease, Refusal, ServerPool, ServerState, backend_rows
from executors.vram import MB, GpuInfo, server_devices

GB = 1024**3


def device(name: str, kind: str, index: int | None, total: int, free: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "index": index,
        "vram_total": total,
        "vram_free": free,
        "torch_vram_total": total,
        "torch_vram_free": free,
    }


def stats(*devices: dict[str, Any], comfyui_version: str = "0.38.2") -> dict[str, Any]:
    system = {"os": "linux", "ram_total": 64 * GB, "ram_free": 40 * GB}
    return {"system": {**system, "comfyui_version": comfyui_version}, "devices": list(devices)}


REAL_CPU_0_3_64 = {  # recorded: ComfyUI 0.3.64 started with --cpu
    "system": {
        "os": "posix",
        "ram_total": 25276502016,
        "ram_free": 23959011328,
        "comfyui_version": "0.3.64",
        "pytorch_version": "2.13.0+cpu",
    },
    "devices": [
        {
            "name": "cpu",
            "type": "cpu",
            "index": None,
            "vram_total": 25276502016,
            "vram_free": 23959011328,
            "torch_vram_total": 25276502016,
            "torch_vram_free": 23959011328,
        }
    ],
}
NVIDIA = device("cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync", "cuda", 0, 24 * GB, 20 * GB)
AMD = device("cuda:0 AMD Radeon RX 7900 XTX : native", "cuda", 0, 24 * GB, 23 * GB)  # ROCm
INTEL = device("xpu:0 Intel(R) Arc(TM) A770 Graphics", "xpu", 0, 16 * GB, 15 * GB)
ASCEND = device("npu", "npu", 0, 64 * GB, 60 * GB)
CAMBRICON = device("mlu", "mlu", 0, 48 * GB, 47 * GB)
APPLE = device("mps", "mps", None, 32 * GB, 12 * GB)  # unified memory: the Mac's RAM
CPU = device("cpu", "cpu", None, 32 * GB, 8 * GB)
DIRECTML = device("privateuseone", "privateuseone", 0, GB, GB)  # a 1 GiB placeholder


@pytest.mark.parametrize(
    ("entry", "memory", "line"),
    [
        (NVIDIA, "VRAM", "cuda:0 NVIDIA GeForce RTX 4090: VRAM 4.0/24.0 GB"),
        (AMD, "VRAM", "cuda:0 AMD Radeon RX 7900 XTX: VRAM 1.0/24.0 GB"),
        (INTEL, "VRAM", "xpu:0 Intel(R) Arc(TM) A770 Graphics: VRAM 1.0/16.0 GB"),
        (ASCEND, "VRAM", "npu: VRAM 4.0/64.0 GB"),
        (CAMBRICON, "VRAM", "mlu: VRAM 1.0/48.0 GB"),
        (APPLE, "RAM", "mps (Apple GPU): RAM 20.0/32.0 GB"),
        (CPU, "RAM", "cpu: RAM 24.0/32.0 GB"),
        (DIRECTML, "VRAM", "privateuseone (DirectML): memory not reported"),
    ],
)
def test_each_device_type_reads_as_what_its_numbers_measure(entry, memory, line) -> None:
    (found,) = server_devices(stats(entry))
    assert (found.type, found.memory, found.describe()) == (entry["type"], memory, line)


def test_the_recorded_cpu_server_reports_its_ram() -> None:
    (cpu,) = server_devices(REAL_CPU_0_3_64)
    assert (cpu.name, cpu.index, cpu.memory) == ("cpu", None, "RAM")
    assert (cpu.total_mb, cpu.free_mb) == (25276502016 // MB, 23959011328 // MB)


# --- admission -----------------------------------------------------------------------------


class Canned(ComfyClient):
    """A ComfyClient with a given /system_stats answer, an empty queue and a current
    server's features (no network)."""

    def __init__(self, url: str, answer: dict[str, Any]):
        super().__init__(url, name="box", connect_timeout=0.2)
        self.answer = answer

    def system_stats(self) -> dict[str, Any]:
        return self.answer

    def queue(self) -> dict[str, Any]:
        return {"queue_running": [], "queue_pending": []}

    def features(self) -> ServerFeatures:
        return ServerFeatures(version="0.38.2", jobs=True, assets=False, node_replacements=True)


def pool_of(answer: dict[str, Any], *, url: str = "http://box.invalid:8188", gpus=None):
    client = Canned(url, answer)
    pool = ServerPool([ServerConfig("box", url)], lambda _c: client, gpu_probe=lambda: gpus)
    (state,) = pool.refresh()
    return pool, state


def refused(result: Lease | Refusal, reason: str) -> str:
    assert isinstance(result, Refusal) and result.reason == reason, result
    return result.detail


@pytest.mark.parametrize("entry", [INTEL, ASCEND, CAMBRICON, AMD])
def test_a_gpu_of_any_make_admits_by_its_total(entry) -> None:
    pool, state = pool_of(stats(entry))
    total_gb = entry["vram_total"] / GB
    assert (state.vram_source, state.memory) == ("server", "VRAM")
    assert state.vram_total_mb == entry["vram_total"] // MB
    held = pool.acquire(total_gb * 0.75)
    assert isinstance(held, Lease)
    assert "GB of GPU memory" in refused(pool.acquire(total_gb * 0.5), "vram")
    assert "largest GPU" in refused(pool.acquire(total_gb + 1), "too_big")


@pytest.mark.parametrize("entry", [CPU, APPLE])
def test_a_server_on_ram_admits_by_what_is_free(entry) -> None:
    pool, state = pool_of(stats(entry))
    free_gb, total_gb = entry["vram_free"] / GB, entry["vram_total"] / GB
    assert (state.vram_source, state.memory) == ("server", "RAM")
    detail = refused(pool.acquire(free_gb + 1), "vram")  # fits the machine, not its free RAM
    assert detail == (
        f"waiting for {free_gb + 1:g} GB of free RAM on box ({free_gb:g} GB free, 0 GB held by "
        "other jobs)"
    )
    assert isinstance(pool.acquire(free_gb - 1), Lease)
    refused(pool.acquire(total_gb + 1), "too_big")


def test_a_12_gb_template_waits_on_a_small_cpu_server_instead_of_running() -> None:
    pool, _ = pool_of(REAL_CPU_0_3_64)  # 23.5 GB of RAM, 22.3 GB free
    assert isinstance(pool.acquire(12), Lease)
    assert "free RAM" in refused(pool.acquire(12), "vram")


def test_directml_numbers_are_no_measurement_so_anything_is_admitted() -> None:
    pool, state = pool_of(stats(DIRECTML))
    assert (state.vram_total_mb, state.vram_source) == (None, "none")
    assert isinstance(pool.acquire(12), Lease)


def test_with_several_devices_the_primary_admits_and_all_are_listed() -> None:
    second = device("cuda:1 NVIDIA GeForce RTX 3060 : cudaMallocAsync", "cuda", 1, 12 * GB, GB)
    primary = device("cuda:2 NVIDIA RTX A6000 : cudaMallocAsync", "cuda", 2, 48 * GB, 40 * GB)
    pool, state = pool_of(stats(primary, NVIDIA, second))
    assert [d.index for d in state.devices] == [2, 0, 1]
    assert (state.vram_total_mb, state.vram_free_mb) == (48 * 1024, 40 * 1024)
    assert isinstance(pool.acquire(40), Lease)  # fits the A6000, no other card


def test_a_local_server_takes_nvml_numbers_for_its_primary_card() -> None:
    gpus = [GpuInfo(0, "RTX 4090", 24564, 20000, 4564), GpuInfo(1, "RTX 3060", 12288, 9000, 3288)]
    second = device("cuda:1 NVIDIA GeForce RTX 3060 : cudaMallocAsync", "cuda", 1, 12 * GB, GB)
    _, state = pool_of(stats(second, NVIDIA), url="http://127.0.0.1:8188", gpus=gpus)
    assert (state.vram_total_mb, state.vram_free_mb, state.vram_source) == (12288, 9000, "nvml")
    _, cpu = pool_of(stats(CPU), url="http://127.0.0.1:8188", gpus=gpus)
    assert (cpu.vram_total_mb, cpu.vram_source, cpu.memory) == (32 * 1024, "server", "RAM")


def test_backends_json_lists_every_device() -> None:
    _, state = pool_of(stats(NVIDIA, CPU))
    (row,) = backend_rows([state])
    assert json.loads(json.dumps(row))["devices"] == [
        {
            "name": "cuda:0 NVIDIA GeForce RTX 4090",
            "type": "cuda",
            "index": 0,
            "memory": "VRAM",
            "total_mb": 24576,
            "free_mb": 20480,
        },
        {
            "name": "cpu",
            "type": "cpu",
            "index": None,
            "memory": "RAM",
            "total_mb": 32768,
            "free_mb": 8192,
        },
    ]


# --- the window's view (plain Python) -------------------------------------------------------


def test_the_tooltip_shows_every_device_the_primary_marked() -> None:
    _, state = pool_of(stats(NVIDIA, INTEL))
    lines = indicator(state).tooltip.splitlines()
    assert lines[2:4] == [
        "cuda:0 NVIDIA GeForce RTX 4090: VRAM 4.0/24.0 GB (primary: admits jobs)",
        "xpu:0 Intel(R) Arc(TM) A770 Graphics: VRAM 1.0/16.0 GB",
    ]
    assert memory_tooltip([state]).splitlines()[0].startswith("box: cuda:0 NVIDIA")


def test_the_status_bar_labels_ram_apart_from_vram() -> None:
    _, gpu = pool_of(stats(NVIDIA))
    _, cpu = pool_of(stats(CPU))
    cpu = ServerState(**{**vars(cpu), "name": "cpu-box"})
    assert vram_text([cpu]) == "RAM 24.0/32.0 GB"
    assert vram_text([gpu, cpu]) == "VRAM 4.0/24.0 GB · RAM 24.0/32.0 GB"
    assert vram_text([]) == "VRAM –"
    assert memory_tooltip([]) == "No server reports its memory"
