"""The ComfyUI client tests: every test here runs against both server profiles (or a real
server with TAKEBOARD_TEST_COMFYUI_URL), with a client of short intervals."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from executors.backends.comfyui import ComfyClient
from executors.demo_server import ComfyServer
from executors.demo_server.profiles import PROFILES


@pytest.fixture(params=PROFILES)
def comfy_profile(request: pytest.FixtureRequest) -> str:
    """Every test runs against the recorded 0.3.64 server and a current one."""
    return request.param


@pytest.fixture
def comfy_server(comfy_server_or_real: ComfyServer) -> ComfyServer:
    """The fake, or a real ComfyUI with TAKEBOARD_TEST_COMFYUI_URL (comfyui_server/real.py)."""
    return comfy_server_or_real


@pytest.fixture
def client(comfy_server: ComfyServer) -> Iterator[ComfyClient]:
    client = ComfyClient(comfy_server.url, name="fake")
    client.poll_interval = 0.05
    client.safety_poll_interval = 0.3
    client.reconnect_interval = 0.05
    client.recv_timeout = 0.05
    client.http.backoff_s = 0.01
    yield client
    client.close()


def in_thread(fn: Any, *args: Any, **kwargs: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Call `fn` on a daemon thread; its result or exception lands in the returned box."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the test thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box
