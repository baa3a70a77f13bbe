"""ServerPool without servers: a fake clock, real clients pointed at a closed port, and a
client with canned /system_stats and /queue answers where VRAM numbers are needed."""

from __future__ import annotations

import logging
import random
import socket
import sys
import threading
import types
from typing import Any

import pytest

from core.config import ServerConfig
from core.errors import NotFound
from executors import vram
from executors.backends.comfyui import ComfyClient, ServerFeatures
from executors.pool import Lease, Refusal, ServerPool, ServerState, backend_rows
from executors.vram import MB, Device, GpuInfo, is_local, nvml_gpus, server_devices

GB = 1024**3


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CannedClient(ComfyClient):
    """A ComfyClient whose /system_stats and /queue answers are given (no network)."""

    def __init__(self, url: str, name: str, stats: dict[str, Any], pending: int = 0):
        super().__init__(url, name=name, connect_timeout=0.2)
        self.stats = stats
        self.queue_body = {"queue_running": [], "queue_pending": [["x"]] * pending}

    def system_stats(self) -> dict[str, Any]:
        return self.stats

    def queue(self) -> dict[str, Any]:
        return self.queue_body

    def features(self) -> ServerFeatures:
        return ServerFeatures(version="0.3.64", jobs=False, assets=False, node_replacements=False)


def cuda_stats(total_gb: float, free_gb: float | None = None, index: int = 0) -> dict[str, Any]:
    free = total_gb if free_gb is None else free_gb
    device = {
        "name": "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync",
        "type": "cuda",
        "index": index,
        "vram_total": int(total_gb * GB),
        "vram_free": int(free * GB),
        "torch_vram_total": int(total_gb * GB),
        "torch_vram_free": int(free * GB),
    }
    return {"system": {"os": "posix", "comfyui_version": "0.3.64"}, "devices": [device]}


CPU_STATS = {
    "system": {"os": "posix"},
    "devices": [
        {
            "name": "cpu",
            "type": "cpu",
            "index": None,
            "vram_total": 33_000_000_000,
            "vram_free": 30_000_000_000,
            "torch_vram_total": 33_000_000_000,
            "torch_vram_free": 30_000_000_000,
        }
    ],
}


DIRECTML_STATS = {  # ComfyUI on torch-directml: a fixed 1 GiB placeholder, not a measurement
    "system": {"os": "win32"},
    "devices": [
        {
            "name": "privateuseone",
            "type": "privateuseone",
            "index": 0,
            "vram_total": GB,
            "vram_free": GB,
            "torch_vram_total": GB,
            "torch_vram_free": GB,
        }
    ],
}


@pytest.fixture
def closed_url() -> str:
    """A loopback URL where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_pool(
    clock: Clock, clients: dict[str, ComfyClient], gpus: list[GpuInfo] | None = None, **kwargs
) -> ServerPool:
    configs = [ServerConfig(name, client.url) for name, client in clients.items()]
    return ServerPool(
        configs, lambda c: clients[c.name], clock=clock, gpu_probe=lambda: gpus, **kwargs
    )


def canned(**totals: float | None) -> dict[str, ComfyClient]:
    """name=total GB (None: a server without memory numbers) → canned clients on non-local
    addresses."""
    return {
        name: CannedClient(
            f"http://gpu{n}.invalid:8188",
            name,
            DIRECTML_STATS if total is None else cuda_stats(total),
        )
        for n, (name, total) in enumerate(totals.items(), 1)
    }


def unchecked(*names: str) -> dict[str, ComfyClient]:
    return {
        name: ComfyClient(f"http://idle{n}.invalid:8188", name=name)
        for n, name in enumerate(names, 1)
    }


def lease(result: Lease | Refusal) -> Lease:
    assert isinstance(result, Lease), result
    return result


def refusal(result: Lease | Refusal, reason: str) -> str:
    assert isinstance(result, Refusal), result
    assert result.reason == reason, result
    return result.detail


# --- acquire / release ---------------------------------------------------------------------


def test_unchecked_servers_take_jobs_least_loaded_first(clock: Clock) -> None:
    pool = make_pool(clock, unchecked("a", "b"))
    first, second, third = (lease(pool.acquire(4.0)) for _ in range(3))
    assert [first.server, second.server, third.server] == ["a", "b", "a"]
    assert first.client is pool.client("a") and first.reserved_gb == 4.0
    pool.release(second, ok=True)
    assert lease(pool.acquire(None)).server == "b"


def test_slots_per_server_then_busy(clock: Clock) -> None:
    pool = make_pool(clock, unchecked("a"), slots_per_server=2)
    held = [lease(pool.acquire(None)) for _ in range(2)]
    detail = refusal(pool.acquire(None), "busy")
    assert "every server is busy (2 jobs on 1 server, 2 at a time each)" in detail
    assert pool.states()[0].slots_used == 2
    pool.release(held[0], ok=True)
    assert lease(pool.acquire(None)).server == "a"


def test_fewest_pending_in_the_server_queue_wins(clock: Clock) -> None:
    clients = canned(a=24, b=24)
    clients["a"].queue_body["queue_pending"] = [["p"]] * 3
    pool = make_pool(clock, clients)
    pool.refresh()
    assert lease(pool.acquire(None)).server == "b"


def test_fastest_median_latency_breaks_ties(clock: Clock) -> None:
    pool = make_pool(clock, unchecked("slow", "fast"))
    for latency in (9.0, 10.0):
        pool.release(lease(pool.acquire(None, exclude={"fast"})), ok=True, latency_s=latency)
    pool.release(lease(pool.acquire(None, exclude={"slow"})), ok=True, latency_s=2.0)
    assert lease(pool.acquire(None)).server == "fast"


def test_reservations_never_overfill_a_card(clock: Clock) -> None:
    pool = make_pool(clock, canned(gpu=24), slots_per_server=3)
    pool.refresh()
    big = lease(pool.acquire(16))
    detail = refusal(pool.acquire(10), "vram")
    assert detail == "waiting for 10 GB of GPU memory on gpu (16 GB in use by other jobs)"
    assert lease(pool.acquire(8)).reserved_gb == 8  # 16 + 8 = 24 fits exactly
    assert pool.states()[0].reserved_gb == 24
    pool.release(big, ok=True)
    assert lease(pool.acquire(10)).server == "gpu"


def test_too_big_for_every_card(clock: Clock) -> None:
    pool = make_pool(clock, canned(small=12, big=24))
    pool.refresh()
    detail = refusal(pool.acquire(40), "too_big")
    assert detail == (
        "needs 40 GB of GPU memory; the largest GPU in the pool has 24 GB — pick a lower "
        "quality tier or add a bigger server"
    )


def test_a_job_too_big_for_the_small_card_goes_to_the_big_one(clock: Clock) -> None:
    pool = make_pool(clock, canned(small=12, big=24))
    pool.refresh()
    assert lease(pool.acquire(2)).server == "small"
    assert lease(pool.acquire(16)).server == "big"  # more loaded now, but the only fit
    detail = refusal(pool.acquire(16), "vram")
    assert "on big (16 GB in use" in detail


def test_server_without_vram_numbers_admits_anything(clock: Clock) -> None:
    pool = make_pool(clock, canned(small=12, dml=None))
    pool.refresh()
    assert [s.vram_source for s in pool.states()] == ["server", "none"]
    assert lease(pool.acquire(80)).server == "dml"


def test_offline_refusal_names_url_and_client_message(clock: Clock, closed_url: str) -> None:
    client = ComfyClient(closed_url, name="local", connect_timeout=0.5)
    pool = make_pool(clock, {"local": client})
    [state] = pool.refresh()
    assert state.online is False and state.queue_pending is None
    assert state.last_error == (
        f"ComfyUI at {closed_url} is not answering — start it or change the URL in Settings"
    )
    detail = refusal(pool.acquire(None), "offline")
    assert detail == (
        f"no ComfyUI server is answering ({closed_url}: {state.last_error}) — start one or "
        "change the URL in Settings"
    )


def test_busy_is_explained_before_offline(clock: Clock, closed_url: str) -> None:
    clients = {"dead": ComfyClient(closed_url, name="dead"), **canned(live=None)}
    pool = make_pool(clock, clients, slots_per_server=1)
    pool.refresh()
    assert lease(pool.acquire(None)).server == "live"
    refusal(pool.acquire(None), "busy")


def test_back_online_clears_the_refresh_error(clock: Clock) -> None:
    clients = canned(a=24)
    pool = make_pool(clock, clients)
    real_stats = clients["a"].system_stats
    clients["a"].system_stats = lambda: (_ for _ in ()).throw(clients["a"]._unreachable("refused"))
    assert pool.refresh()[0].online is False
    clients["a"].system_stats = real_stats
    state = pool.refresh()[0]
    assert state.online is True and state.last_error is None


def test_exclude_routes_away_and_excluding_all_refuses(clock: Clock) -> None:
    pool = make_pool(clock, unchecked("a", "b"))
    assert lease(pool.acquire(None, exclude={"a"})).server == "b"
    detail = refusal(pool.acquire(None, exclude=["a", "b"]), "no_servers")
    assert "ruled out for this job (a, b)" in detail


def test_no_servers(clock: Clock) -> None:
    pool = make_pool(clock, {})
    assert "no ComfyUI server is set up" in refusal(pool.acquire(1), "no_servers")
    assert pool.refresh() == [] and pool.names() == []


def test_client_names_and_unknown_name() -> None:
    made: list[str] = []

    def make(config: ServerConfig) -> ComfyClient:
        made.append(config.name)
        return ComfyClient(config.url, name=config.name)

    configs = [ServerConfig("a", "http://a.invalid:8188"), ServerConfig("b", "http://h:1")]
    pool = ServerPool(configs, make)
    assert made == ["a", "b"] and pool.names() == ["a", "b"]
    assert pool.client("b").url == "http://h:1"
    with pytest.raises(NotFound, match="no ComfyUI server named 'c' \\(known: a, b\\)"):
        pool.client("c")
    with pytest.raises(ValueError):
        ServerPool(configs, make, slots_per_server=0)


def test_release_twice_is_ignored(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    pool = make_pool(clock, unchecked("a"), slots_per_server=2)
    first, second = lease(pool.acquire(1)), lease(pool.acquire(1))
    assert first != second  # equal fields, told apart by the token
    pool.release(first, ok=True)
    pool.release(first, ok=True)
    assert pool.states()[0].slots_used == 1
    assert "released twice" in caplog.text


# --- outcomes and the breaker --------------------------------------------------------------


def test_success_rate_and_median_latency(clock: Clock) -> None:
    pool = make_pool(clock, unchecked("a"), breaker_threshold=100)
    assert pool.states()[0].success_rate is None
    for latency in (1.0, 3.0, 2.0):
        pool.release(lease(pool.acquire(None)), ok=True, latency_s=latency)
    pool.release(lease(pool.acquire(None)), ok=False, transient=True, error="boom")
    pool.release(lease(pool.acquire(None)), ok=False, error="bad workflow")  # not counted
    state = pool.states()[0]
    assert state.success_rate == 0.75
    assert state.median_latency_ms == 2000.0
    assert state.last_error == "bad workflow"
    for _ in range(60):
        pool.release(lease(pool.acquire(None)), ok=True, latency_s=0.5)
    state = pool.states()[0]
    assert state.success_rate == 1.0 and state.median_latency_ms == 500.0
    assert state.last_error is None


def test_breaker_opens_after_transient_failures_and_half_opens(clock: Clock) -> None:
    pool = make_pool(clock, unchecked("a"), breaker_threshold=3, breaker_cooldown_s=30)
    for n in range(3):
        pool.release(lease(pool.acquire(None)), ok=False, transient=True, error=f"502 #{n}")
    state = pool.states()[0]
    assert state.breaker_open and state.last_error == "502 #2"
    detail = refusal(pool.acquire(None), "breaker")
    assert detail.startswith("a failed 3 times in a row; paused until ")
    assert detail.endswith(" — check its log")
    clock.now += 29
    refusal(pool.acquire(None), "breaker")
    clock.now += 1
    assert not pool.states()[0].breaker_open
    probe = lease(pool.acquire(None))  # half-open: one job may try
    assert "its test job finishes" in refusal(pool.acquire(None), "breaker")
    pool.release(probe, ok=True, latency_s=1.0)
    assert not pool.states()[0].breaker_open
    both = [lease(pool.acquire(None)) for _ in range(2)]
    assert {x.server for x in both} == {"a"}


def test_half_open_failure_reopens_at_once(clock: Clock) -> None:
    pool = make_pool(clock, unchecked("a"), breaker_threshold=2, breaker_cooldown_s=10)
    for _ in range(2):
        pool.release(lease(pool.acquire(None)), ok=False, transient=True)
    clock.now += 10
    pool.release(lease(pool.acquire(None)), ok=False, transient=True, error="still down")
    refusal(pool.acquire(None), "breaker")
    clock.now += 10
    probe = lease(pool.acquire(None))
    pool.release(probe, ok=False, error="bad graph")  # not the server's fault: try again
    assert lease(pool.acquire(None)).server == "a"


def test_non_transient_failures_never_open_the_breaker(clock: Clock) -> None:
    pool = make_pool(clock, unchecked("a"), breaker_threshold=2)
    for _ in range(5):
        pool.release(lease(pool.acquire(None)), ok=False, error="node 3 failed")
    assert not pool.states()[0].breaker_open
    assert pool.states()[0].success_rate is None


def test_success_resets_the_failure_count(clock: Clock) -> None:
    pool = make_pool(clock, unchecked("a"), breaker_threshold=2)
    for ok in (False, True, False, True, False):
        pool.release(lease(pool.acquire(None)), ok=ok, transient=True)
    assert not pool.states()[0].breaker_open


def test_breaker_on_one_server_sends_jobs_to_the_other(clock: Clock) -> None:
    pool = make_pool(clock, unchecked("a", "b"), breaker_threshold=1, slots_per_server=1)
    pool.release(lease(pool.acquire(None)), ok=False, transient=True)
    held = lease(pool.acquire(None))
    assert held.server == "b"
    refusal(pool.acquire(None), "busy")  # busy explains more than a's breaker
    pool.release(held, ok=False, transient=True)
    assert refusal(pool.acquire(None), "breaker").startswith("a failed 1 times")  # a reopens first


def test_vram_is_explained_before_busy(clock: Clock) -> None:
    pool = make_pool(clock, canned(a=24, b=12), slots_per_server=2)
    pool.refresh()
    assert lease(pool.acquire(20)).server == "a"
    assert [lease(pool.acquire(1, exclude={"a"})).server for _ in range(2)] == ["b", "b"]
    assert "on a (20 GB in use" in refusal(pool.acquire(10), "vram")


# --- thread safety -------------------------------------------------------------------------


def test_threads_never_exceed_slots_or_vram(clock: Clock) -> None:
    pool = make_pool(clock, canned(a=24, b=12), slots_per_server=2)
    pool.refresh()
    totals = {"a": 24.0, "b": 12.0}
    held: dict[str, list[float]] = {"a": [], "b": []}
    guard = threading.Lock()
    problems: list[str] = []
    leases = 0

    def worker(seed: int) -> None:
        nonlocal leases
        rng = random.Random(seed)
        for _ in range(1000):
            result = pool.acquire(rng.choice([None, 2.0, 6.0, 10.0, 13.0]))
            if isinstance(result, Refusal):
                continue
            with guard:
                leases += 1
                mine = held[result.server]
                mine.append(result.reserved_gb)
                if len(mine) > 2 or sum(mine) > totals[result.server]:
                    problems.append(f"{result.server}: {mine}")
            with guard:
                mine.remove(result.reserved_gb)
            pool.release(result, ok=rng.random() < 0.9, latency_s=0.01)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not problems
    assert leases > 100
    assert [(s.slots_used, s.reserved_gb) for s in pool.states()] == [(0, 0.0), (0, 0.0)]


# --- refresh and VRAM sources --------------------------------------------------------------


def test_local_server_takes_nvml_numbers(clock: Clock) -> None:
    gpus = [GpuInfo(0, "RTX 3060", 12288, 8000, 4288), GpuInfo(1, "RTX 4090", 24564, 20000, 4564)]
    client = CannedClient("http://127.0.0.1:8188", "local", cuda_stats(24, 10, index=1))
    pool = make_pool(clock, {"local": client}, gpus=gpus)
    [state] = pool.refresh()
    assert (state.vram_total_mb, state.vram_free_mb, state.vram_source) == (24564, 20000, "nvml")
    assert (state.queue_running, state.queue_pending, state.online) == (0, 0, True)


def test_local_server_without_device_list_takes_the_first_gpu(clock: Clock) -> None:
    gpus = [GpuInfo(0, "RTX 3060", 12288, 8000, 4288)]
    client = CannedClient("http://localhost:8188", "local", {"system": {}})
    [state] = make_pool(clock, {"local": client}, gpus=gpus).refresh()
    assert (state.vram_total_mb, state.vram_source) == (12288, "nvml")


def test_local_cpu_server_reports_its_ram_not_the_nvml_gpu(clock: Clock) -> None:
    gpus = [GpuInfo(0, "RTX 3060", 12288, 8000, 4288)]
    client = CannedClient("http://127.0.0.1:8188", "cpu", CPU_STATS)
    [state] = make_pool(clock, {"cpu": client}, gpus=gpus).refresh()
    assert (state.vram_total_mb, state.vram_source) == (33_000_000_000 // MB, "server")
    assert [d.memory for d in state.devices] == ["RAM"]


def test_without_nvml_the_server_numbers_are_used(clock: Clock) -> None:
    client = CannedClient("http://127.0.0.1:8188", "local", cuda_stats(24, 10))
    [state] = make_pool(clock, {"local": client}, gpus=None).refresh()
    assert (state.vram_total_mb, state.vram_free_mb, state.vram_source) == (24576, 10240, "server")


def test_remote_server_never_takes_nvml_numbers(clock: Clock) -> None:
    calls: list[int] = []

    def probe() -> list[GpuInfo]:
        calls.append(1)
        return [GpuInfo(0, "x", 1, 1, 0)]

    client = CannedClient("http://far.invalid:8188", "far", cuda_stats(48))
    pool = ServerPool([ServerConfig("far", client.url)], lambda c: client, gpu_probe=probe)
    [state] = pool.refresh()
    assert (state.vram_total_mb, state.vram_source) == (49152, "server")
    assert calls == []  # no local server: NVML is not asked


def test_a_failing_gpu_probe_does_not_break_refresh(clock: Clock) -> None:
    def probe() -> list[GpuInfo]:
        raise RuntimeError("driver exploded")

    client = CannedClient("http://127.0.0.1:8188", "local", cuda_stats(8))
    pool = ServerPool([ServerConfig("local", client.url)], lambda c: client, gpu_probe=probe)
    assert pool.refresh()[0].vram_source == "server"


def test_backend_rows_have_exactly_the_documented_keys(clock: Clock) -> None:
    pool = make_pool(clock, canned(a=24))
    [row] = backend_rows(pool.refresh())
    assert set(row) == {
        "name", "kind", "url", "online", "vram_free_mb", "vram_total_mb", "queue_running",
        "queue_pending", "success_rate", "median_latency_ms", "vram_source", "breaker_open",
        "last_error", "reserved_gb", "devices", "api", "version",
    }  # fmt: skip
    assert row["kind"] == "comfyui" and row["vram_total_mb"] == 24576
    assert row["api"] == {"jobs": False, "assets": False} and row["version"] == "0.3.64"
    assert isinstance(pool.states()[0], ServerState)


# --- vram helpers --------------------------------------------------------------------------


def test_server_devices_from_real_and_broken_shapes() -> None:
    (card,) = server_devices(cuda_stats(24, 22.5))
    assert card == Device("cuda:0 NVIDIA GeForce RTX 4090", "cuda", 0, "VRAM", 24576, 23040)
    assert server_devices(CPU_STATS)[0].total_mb == 33_000_000_000 // MB
    assert server_devices({}) == () and server_devices({"devices": None}) == ()
    (bare,) = server_devices({"devices": ["junk", {"type": "cuda"}]})
    assert (bare.name, bare.total_mb, bare.free_mb) == ("cuda", None, None)
    (half,) = server_devices({"devices": [{"type": "cuda", "vram_total": 2 * GB}]})
    assert (half.total_mb, half.free_mb) == (2048, None)
    (odd,) = server_devices({"devices": [{"type": "cuda", "vram_total": True, "index": True}]})
    assert (odd.total_mb, odd.index) == (None, None)
    assert server_devices([]) == ()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8188", True),
        ("http://127.1.2.3:8188", True),
        ("http://localhost:8188", True),
        ("https://LOCALHOST/", True),
        ("http://[::1]:8188", True),
        ("127.0.0.1:8188", True),
        ("http://192.168.1.5:8188", False),
        ("https://comfy.example.com", False),
        ("http://[::2]:8188", False),
        ("http://[bad", False),
        ("", False),
    ],
)
def test_is_local(url: str, local: bool) -> None:
    assert is_local(url) is local


@pytest.fixture
def fresh_nvml():
    vram.reset()
    yield
    vram.reset()


def test_nvml_on_this_machine_is_none_logged_once(
    fresh_nvml: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="executors.vram")
    assert nvml_gpus() is None  # no driver here: real NVML fails
    assert nvml_gpus() is None
    assert caplog.text.count("no GPU info (NVML: ") == 1


def test_nvml_without_the_package(fresh_nvml: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert nvml_gpus() is None


def test_nvml_failure_is_cached_until_reset(
    fresh_nvml: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert nvml_gpus() is None
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml())
    assert nvml_gpus() is None  # not retried
    vram.reset()
    assert nvml_gpus() == [
        GpuInfo(0, "NVIDIA RTX A6000", 49140, 40000, 9140),
        GpuInfo(1, "Tesla T4", 15360, 15000, 360),
    ]


def fake_pynvml() -> types.ModuleType:
    """A stand-in pynvml with two cards (no driver on this machine for the real one)."""
    mb = 1024 * 1024
    cards = [(b"NVIDIA RTX A6000", 49140, 40000), ("Tesla T4", 15360, 15000)]
    module = types.ModuleType("pynvml")
    module.nvmlInit = lambda: None
    module.nvmlShutdown = lambda: None
    module.nvmlDeviceGetCount = lambda: len(cards)
    module.nvmlDeviceGetHandleByIndex = lambda i: i
    module.nvmlDeviceGetName = lambda h: cards[h][0]
    module.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(
        total=cards[h][1] * mb, free=cards[h][2] * mb, used=(cards[h][1] - cards[h][2]) * mb
    )
    return module
