"""A real ComfyUI in place of the fake: `TAKEBOARD_TEST_COMFYUI_URL=http://host:8188 ./run-tests
tests/integration/comfyui`.

The ComfyUI client tests then talk to that server. What only the fake can do (fault hooks,
its queue and output folder) skips the test with the reason; a parametrized profile that is not
the real server's (it has the Jobs API: "current", else "0.3.64") skips too. The txt2img tests
need the checkpoint `sd_v1-5.safetensors` on the server; the recorded scenarios are model-free.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests

ENV = "TAKEBOARD_TEST_COMFYUI_URL"
PUBLIC = {"url", "profile", "stop", "kill"}


def real_url() -> str | None:
    return os.environ.get(ENV, "").strip().rstrip("/") or None


class RealComfyServer:
    """The parts of ComfyServer a real server has: its URL and which profile it plays."""

    def __init__(self, url: str):
        self.url = url
        try:
            jobs = requests.get(f"{url}/api/jobs", params={"limit": 1}, timeout=5)
        except requests.RequestException as exc:
            pytest.fail(f"{ENV}={url} is not answering: {exc}")
        self.profile = "current" if jobs.ok else "0.3.64"

    def stop(self) -> None:
        """Never stops a real server: nothing to do."""

    def __getattr__(self, name: str) -> Any:
        pytest.skip(f"needs the fake server's {name!r}; {ENV} points at a real ComfyUI")


def real_server(profile: str) -> RealComfyServer | None:
    """The real server when the switch is set (skipping a profile it does not play)."""
    url = real_url()
    if url is None:
        return None
    server = RealComfyServer(url)
    if server.profile != profile:
        pytest.skip(f"the real ComfyUI at {url} plays the {server.profile} profile")
    return server
