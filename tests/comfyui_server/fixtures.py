"""Pytest fixtures; load with `pytest_plugins = ["tests.comfyui_server.fixtures"]`.

def test_x(comfy_server, comfy_ws):
    ws = comfy_ws("my-client")                  # connected, first `status` consumed
    requests.post(comfy_server.url + "/prompt", json={..., "client_id": "my-client"})
    messages = ws.until_done(prompt_id)         # up to `executing` null

`comfy_server` plays the profile the `comfy_profile` fixture names: "0.3.64" by default. A test
module runs against every server version by overriding it:

    from executors.demo_server.profiles import PROFILES

    @pytest.fixture(params=PROFILES)
    def comfy_profile(request):
        return request.param
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from executors.demo_server.server import ComfyServer

from .probe import Probe
from .real import real_server


@pytest.fixture
def comfy_profile() -> str:
    """The server version `comfy_server` plays (see profiles.PROFILES)."""
    return "0.3.64"


@pytest.fixture
def comfy_server(tmp_path: Path, comfy_profile: str) -> Iterator[ComfyServer]:
    """A started fake ComfyUI on a free loopback port, files under tmp_path/comfyui."""
    with _started(tmp_path, comfy_profile) as server:
        yield server


@pytest.fixture
def comfy_server_or_real(tmp_path: Path, comfy_profile: str) -> Iterator[ComfyServer]:
    """`comfy_server`, or the real ComfyUI that TAKEBOARD_TEST_COMFYUI_URL names (real.py):
    tests/integration/comfyui uses it as its `comfy_server`."""
    real = real_server(comfy_profile)
    if real is not None:
        yield real  # type: ignore[misc]  # skips what only the fake has
        return
    with _started(tmp_path, comfy_profile) as server:
        yield server


@contextlib.contextmanager
def _started(tmp_path: Path, profile: str) -> Iterator[ComfyServer]:
    server = ComfyServer(tmp_path / "comfyui", profile=profile)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def comfy_ws(comfy_server: ComfyServer) -> Iterator[Callable[..., Probe]]:
    """Factory: `comfy_ws(client_id=None, feature_flags=False)` → a connected Probe
    (a fresh clientId when None is given); all are closed at teardown."""
    probes: list[Probe] = []

    def connect(client_id: str | None = "", feature_flags: bool = False) -> Probe:
        probe = Probe(
            comfy_server.url, uuid.uuid4().hex if client_id == "" else client_id, feature_flags
        )
        probes.append(probe)
        return probe

    yield connect
    for probe in probes:
        probe.ws.close(timeout=0.2)
