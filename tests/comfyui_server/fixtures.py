"""Pytest fixtures; load with `pytest_plugins = ["tests.comfyui_server.fixtures"]`.

def test_x(comfy_server, comfy_ws):
    ws = comfy_ws("my-client")                  # connected, first `status` consumed
    requests.post(comfy_server.url + "/prompt", json={..., "client_id": "my-client"})
    messages = ws.until_done(prompt_id)         # up to `executing` null

`comfy_server` plays the profile the `comfy_profile` fixture names: "0.3.64" by default. A test
module runs against every server version by overriding it:

    from tests.comfyui_server.profiles import PROFILES

    @pytest.fixture(params=PROFILES)
    def comfy_profile(request):
        return request.param
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .probe import Probe
from .server import ComfyServer


@pytest.fixture
def comfy_profile() -> str:
    """The server version `comfy_server` plays (see profiles.PROFILES)."""
    return "0.3.64"


@pytest.fixture
def comfy_server(tmp_path: Path, comfy_profile: str) -> Iterator[ComfyServer]:
    """A started fake ComfyUI on a free loopback port, files under tmp_path/comfyui."""
    server = ComfyServer(tmp_path / "comfyui", profile=comfy_profile)
    server.start()
    yield server
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
