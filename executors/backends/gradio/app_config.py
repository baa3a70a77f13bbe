"""What a Gradio app's GET /config says about it: version, protocol, named endpoints.

Read before a gradio_client Client is made: a Gradio 3 app (websocket protocol) cannot be called
by gradio_client 2.x, and for apps ≤ 3.36.1 its constructor would ask an internet service for
the API description. Called on the health thread and on job worker threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import requests

from core.json_types import JsonValue

from .errors import RETRY_STATUSES, App

SSE_PROTOCOLS = ("sse", "sse_v1", "sse_v2", "sse_v2.1", "sse_v3")  # what gradio_client 2.x speaks
CONFIG_READ_S = 10.0


@dataclass(frozen=True)
class AppInfo:
    """What an app's /config says about it."""

    version: str
    protocol: str
    endpoints: tuple[str, ...]  # callable named endpoints, "/name"

    @property
    def callable(self) -> bool:
        return self.protocol in SSE_PROTOCOLS


def read_app_info(app: App, headers: Mapping[str, str], connect_s: float) -> AppInfo:
    """GET /config. Raises requests.RequestException when the app does not answer,
    TransientBackendError when it is busy or starting, and PermanentBackendError when what
    answers is not a usable Gradio app."""
    response = requests.get(
        app.url + "/config", headers=dict(headers), timeout=(connect_s, CONFIG_READ_S)
    )
    if response.status_code == 401:
        raise app.permanent(
            f"the Gradio app at {app.url} asks for a login — Takeboard can send only a "
            "token: set token_env for it in Settings, or launch the app without auth"
        )
    if response.status_code in RETRY_STATUSES:
        raise app.transient(
            f"the Gradio app at {app.url} answered HTTP {response.status_code} — it is "
            "busy or starting; try again shortly",
            status=response.status_code,
        )
    try:
        config = response.json() if response.ok else None
    except ValueError:
        config = None
    if not isinstance(config, dict) or not isinstance(config.get("dependencies"), list):
        raise app.permanent(
            f"{app.url} does not look like a Gradio app (GET /config answered HTTP "
            f"{response.status_code}) — fix the URL in Settings",
            status=response.status_code,
        )
    return AppInfo(
        version=str(config.get("version", "unknown")),
        protocol=str(config.get("protocol", "ws")),
        endpoints=_named_endpoints(config["dependencies"]),
    )


def _named_endpoints(dependencies: list[JsonValue]) -> tuple[str, ...]:
    names = []
    for dep in dependencies:
        if not isinstance(dep, dict):
            continue
        api_name = dep.get("api_name")
        if isinstance(api_name, str) and dep.get("api_visibility") != "private":
            names.append("/" + api_name)
    return tuple(names)
