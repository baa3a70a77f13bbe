"""Cloud machine costs here, against the loopback RunComfy API (tests/runcomfy_server.py):

- the window's cost meter: `snapshot()` + `cloud_meter()` on the Tk thread (memory only);
- the engine's health-tick chore `CloudMonitor.tick()` with a Ready machine, idle and busy;
- a whole `start` (launch, two polls at 50 ms, Ready) → `status` → `stop` round.

Run: .venv/bin/python bench/cloud.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.live_state import cloud_meter  # noqa: E402
from core.config import CloudSettings  # noqa: E402
from executors.backends.comfyui import ComfyClient  # noqa: E402
from executors.cloud import CloudManager, CloudMonitor  # noqa: E402
from executors.pool import ServerPool  # noqa: E402
from tests.runcomfy_server import TOKEN, USER, RunComfyServer  # noqa: E402


def per_call_us(action, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        action()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    os.environ["RUNCOMFY_API_TOKEN"] = TOKEN
    server = RunComfyServer()
    server.start()
    settings = CloudSettings(
        allow_online=True, user_id=USER, api_url=server.url, workflow_version="v", poll_s=0.05
    )
    rounds = []
    try:
        for _ in range(5):
            home = Path(tempfile.mkdtemp())
            manager = CloudManager(settings, home)
            began = time.perf_counter()
            manager.start()
            ready = time.perf_counter()
            manager.status()
            manager.stop()
            rounds.append((ready - began, time.perf_counter() - ready))
        manager.start()
        make = lambda s: ComfyClient(s.url, name=s.name, shown_url=s.shown_url())  # noqa: E731
        monitor = CloudMonitor(manager, ServerPool([], make, gpu_probe=lambda: None), make)
        meter_us = per_call_us(lambda: cloud_meter(monitor.snapshot()), 10_000)
        tick_us = per_call_us(monitor.tick, 1_000)
        lease = monitor.pool.acquire(None)  # a job holds the machine: the tick marks it used
        busy_tick_us = per_call_us(monitor.tick, 1_000)
        monitor.pool.release(lease, ok=True)
        manager.stop()
    finally:
        server.stop()
    print(f"cost meter (snapshot + text), Tk thread: {meter_us:.1f} µs a call")
    print(f"health-tick chore, Ready machine idle: {tick_us:.0f} µs, busy: {busy_tick_us:.0f} µs")
    starts = [r[0] * 1000 for r in rounds]
    rest = [r[1] * 1000 for r in rounds]
    print(
        f"start → Ready (2 polls at 50 ms): median {statistics.median(starts):.0f} ms; "
        f"status + stop: median {statistics.median(rest):.1f} ms ({len(rounds)} rounds)"
    )


if __name__ == "__main__":
    main()
