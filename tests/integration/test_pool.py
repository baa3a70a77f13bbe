"""ServerPool against fake ComfyUI servers on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from core.config import ServerConfig
from core.errors import TransientBackendError
from executors.backends.comfyui import ComfyClient
from executors.demo_server import ComfyServer
from executors.pool import Lease, Refusal, ServerPool, backend_rows
from executors.vram import nvml_gpus
from tests.comfyui_server.examples import basic_image, txt2img

GB = 1024**3
CONNECT_TIMEOUT = 1.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[ComfyServer]:
    """A second fake ComfyUI with a 12 GB card (10 GB free)."""
    server = ComfyServer(
        tmp_path / "small",
        device_name="cuda:0 NVIDIA GeForce RTX 3060 : cudaMallocAsync",
        vram_total=12 * GB,
        vram_free=10 * GB,
    )
    server.start()
    yield server
    server.stop()


def make_client(config: ServerConfig) -> ComfyClient:
    return ComfyClient(
        config.url, name=config.name, connect_timeout=CONNECT_TIMEOUT, read_timeout=5
    )


def make_pool(*servers: tuple[str, ComfyServer], **kwargs) -> ServerPool:
    configs = [ServerConfig(name, server.url) for name, server in servers]
    kwargs.setdefault("gpu_probe", lambda: None)
    return ServerPool(configs, make_client, **kwargs)


def lease(result: Lease | Refusal) -> Lease:
    assert isinstance(result, Lease), result
    return result


def wait_running(server: ComfyServer, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if requests.get(server.url + "/queue", timeout=2).json()["queue_running"]:
            return
        time.sleep(0.01)
    raise AssertionError("nothing started running")


def test_refresh_reads_online_vram_and_queue_depth(comfy_server, small_server) -> None:
    comfy_server.set_step_delay(0.05)
    for seed in range(3):
        body = {"prompt": txt2img(seed=seed, steps=100)}
        assert requests.post(comfy_server.url + "/prompt", json=body, timeout=5).ok
    wait_running(comfy_server)
    pool = make_pool(("big", comfy_server), ("small", small_server), gpu_probe=nvml_gpus)
    assert [s.online for s in pool.states()] == [None, None]
    big, small = pool.refresh()
    source = "server" if nvml_gpus() is None else "nvml"  # no GPU here: the server's numbers
    assert (big.online, big.queue_running, big.queue_pending) == (True, 1, 2)
    assert (big.vram_total_mb, big.vram_free_mb, big.vram_source) == (24210, 22899, source)
    assert (small.online, small.queue_running, small.queue_pending) == (True, 0, 0)
    if source == "server":
        assert (small.vram_total_mb, small.vram_free_mb) == (12288, 10240)
    assert big.last_error is None and not big.breaker_open
    rows = backend_rows([big, small])
    assert rows[1]["url"] == small_server.url and rows[1]["online"] is True
    requests.post(comfy_server.url + "/queue", json={"clear": True}, timeout=5)
    requests.post(comfy_server.url + "/interrupt", timeout=5)


def test_killed_servers_go_offline_with_the_clients_message(comfy_server, small_server) -> None:
    pool = make_pool(("big", comfy_server), ("small", small_server))
    assert all(s.online for s in pool.refresh())
    comfy_server.kill()
    big, small = pool.refresh()
    assert big.online is False and small.online is True
    assert big.last_error == (
        f"ComfyUI at {comfy_server.url} is not answering — start it or change the URL in Settings"
    )
    assert big.vram_total_mb == 24210  # the last numbers known are kept
    small_server.kill()
    states = pool.refresh()  # both down: returns (within about one connect timeout)
    assert [s.online for s in states] == [False, False]
    refusal = pool.acquire(4)
    assert isinstance(refusal, Refusal) and refusal.reason == "offline"
    assert comfy_server.url in refusal.detail and small_server.url in refusal.detail


def test_a_job_too_big_for_the_small_card_lands_on_the_big_one(comfy_server, small_server) -> None:
    pool = make_pool(("small", small_server), ("big", comfy_server))
    pool.refresh()
    first = lease(pool.acquire(16))
    assert first.server == "big"
    second = lease(pool.acquire(8))
    assert second.server == "small"
    started = time.monotonic()
    result = second.client.run(basic_image(), timeout_s=10)
    assert result.outputs
    pool.release(second, ok=True, latency_s=time.monotonic() - started)
    refusal = pool.acquire(30)
    assert isinstance(refusal, Refusal) and refusal.reason == "too_big"
    assert "the largest GPU in the pool has 23.6 GB" in refusal.detail
    small = pool.states()[0]
    assert small.success_rate == 1.0 and small.median_latency_ms is not None
    pool.release(first, ok=True)


def test_proxy_502_counts_as_transient_and_opens_the_breaker(comfy_server) -> None:
    clock = Clock()
    pool = make_pool(("gpu", comfy_server), breaker_threshold=3, breaker_cooldown_s=30, clock=clock)
    pool.refresh()
    comfy_server.proxy_error(502)
    for _ in range(3):
        held = lease(pool.acquire(4))
        with pytest.raises(TransientBackendError) as caught:
            held.client.run(basic_image(), timeout_s=10)
        pool.release(held, ok=False, transient=True, error=str(caught.value))
    refusal = pool.acquire(4)
    assert isinstance(refusal, Refusal) and refusal.reason == "breaker"
    assert refusal.detail.startswith("gpu failed 3 times in a row; paused until ")
    [state] = pool.refresh()
    assert state.online is False and state.breaker_open
    assert "answered 502 to /system_stats" in (state.last_error or "")

    comfy_server.clear_faults()
    clock.now += 30
    assert pool.refresh()[0].online is True
    probe = lease(pool.acquire(4))  # half-open: one job tries
    assert isinstance(pool.acquire(4), Refusal)
    probe.client.run(basic_image(), timeout_s=10)
    pool.release(probe, ok=True, latency_s=0.1)
    assert not pool.states()[0].breaker_open
    assert isinstance(pool.acquire(4), Lease)


def test_offline_switch_keeps_internet_members_unasked_and_lan_ones_working(comfy_server) -> None:
    remote = ServerConfig("rented", "https://gpu.example.com")
    local = ServerConfig("desk", comfy_server.url)
    pool = ServerPool([remote, local], make_client, gpu_probe=lambda: None, allow_online=False)
    states = {s.name: s for s in pool.refresh()}
    assert states["desk"].online is True
    assert states["rented"].online is False
    assert "online access is off" in (states["rented"].last_error or "")  # never contacted
    assert lease(pool.acquire(None, only=["desk"])).server == "desk"
    refusal = pool.acquire(None, only=["rented"])
    assert isinstance(refusal, Refusal) and "online access is off" in refusal.detail
