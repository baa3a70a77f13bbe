"""VRAM admission and `backends --json` against the project's ComfyUI server on loopback,
configured as a CPU, an Apple (mps) or an Intel (xpu) machine, with one or several devices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import ServerConfig
from executors.backends.comfyui import ComfyClient
from executors.demo_server import ComfyServer
from executors.pool import Lease, Refusal, ServerPool

GB = 1024**3


@pytest.fixture
def started() -> Iterator[list[ComfyServer]]:
    """Servers a test starts; all stopped afterwards."""
    servers: list[ComfyServer] = []
    yield servers
    for server in servers:
        server.stop()


def serve(started: list[ComfyServer], root: Path, **options) -> ComfyServer:
    server = ComfyServer(root, **options)
    server.start()
    started.append(server)
    return server


def pool_for(server: ComfyServer) -> ServerPool:
    client = ComfyClient(server.url, name="box", connect_timeout=1.0, read_timeout=5)
    return ServerPool([ServerConfig("box", server.url)], lambda _c: client, gpu_probe=lambda: None)


@pytest.mark.parametrize(("name", "kind"), [("cpu", "cpu"), ("mps", "mps")])
@pytest.mark.parametrize("profile", ["0.3.64", "current"])
def test_a_server_on_ram_admits_a_12_gb_template_only_into_free_ram(
    started, tmp_path: Path, name: str, kind: str, profile: str
):
    server = serve(
        started,
        tmp_path,
        profile=profile,
        device_name=name,
        device_type=kind,
        vram_total=16 * GB,
        vram_free=6 * GB,
    )
    pool = pool_for(server)
    (state,) = pool.refresh()

    assert (state.vram_total_mb, state.vram_free_mb) == (16 * 1024, 6 * 1024)
    assert (state.memory, [d.type for d in state.devices]) == ("RAM", [kind])
    waiting = pool.acquire(12)
    assert isinstance(waiting, Refusal) and waiting.reason == "vram"
    assert waiting.detail.startswith("waiting for 12 GB of free RAM on box (6 GB free")
    server.config.vram_free = 14 * GB  # the machine freed memory
    pool.refresh()
    assert isinstance(pool.acquire(12), Lease)


def test_backends_json_lists_every_device_of_a_current_server(
    started, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
):
    second = {
        "name": "xpu:1 Intel(R) Arc(TM) B580 Graphics",
        "type": "xpu",
        "index": 1,
        "vram_total": 12 * GB,
        "vram_free": 11 * GB,
        "torch_vram_total": 12 * GB,
        "torch_vram_free": 11 * GB,
    }
    server = serve(
        started,
        tmp_path,
        profile="current",
        device_name="xpu:0 Intel(R) Arc(TM) A770 Graphics",
        device_type="xpu",
        vram_total=16 * GB,
        vram_free=15 * GB,
        extra_devices=[second],
    )
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", server.url)

    (row,) = [r for r in cli.json("backends") if r["kind"] == "comfyui"]

    assert (row["vram_total_mb"], row["vram_free_mb"], row["vram_source"]) == (
        16384,
        15360,
        "server",
    )
    assert [(d["name"], d["type"], d["index"], d["memory"]) for d in row["devices"]] == [
        ("xpu:0 Intel(R) Arc(TM) A770 Graphics", "xpu", 0, "VRAM"),
        ("xpu:1 Intel(R) Arc(TM) B580 Graphics", "xpu", 1, "VRAM"),
    ]
    assert [(d["total_mb"], d["free_mb"]) for d in row["devices"]] == [
        (16384, 15360),
        (12288, 11264),
    ]
