"""Pytest fixtures; load with `pytest_plugins = ["tests.comfyui_server.fixtures"]`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import ComfyServer


@pytest.fixture
def comfy_server(tmp_path: Path) -> Iterator[ComfyServer]:
    """A started fake ComfyUI on a free loopback port, files under tmp_path/comfyui."""
    server = ComfyServer(tmp_path / "comfyui")
    server.start()
    yield server
    server.stop()
