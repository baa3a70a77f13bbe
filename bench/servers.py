"""Fake ComfyUI servers for the benchmarks: the project's protocol server as subprocesses."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(step_delay: float, profile: str = "current") -> tuple[subprocess.Popen, str]:
    """Start `python -m executors.demo_server` on a free loopback port; wait until it answers."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "executors.demo_server",
        "--port",
        str(port),
        "--step-delay",
        str(step_delay),
        "--profile",
        profile,
    ]
    server = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/system_stats", timeout=1)
            return server, url
        except requests.ConnectionError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the fake ComfyUI server did not start")


def stop_servers(servers: list[subprocess.Popen]) -> None:
    for server in servers:
        server.terminate()
    for server in servers:
        server.wait(10)
