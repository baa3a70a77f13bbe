"""What one ComfyUI server supports, found by asking it (never guessed from the version alone).

* `jobs`: the Jobs API (`GET /api/jobs`, PR #11054; cancel endpoints PR #14493) answers — a
  server without it answers 404. With it, reconcile and harvest read `GET /api/jobs/{id}` and
  cancel is `POST /api/jobs/{id}/cancel`, which interrupts only that job.
* `assets`, `node_replacements`: flags from `GET /features` (comfy_api/feature_flags.py@1924b05e);
  a server without /features has neither.
* `version`: `system.comfyui_version` from `/system_stats`, for people, not for decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import PermanentBackendError
from core.json_types import JsonObject

from .http import Http


@dataclass(frozen=True)
class ServerFeatures:
    version: str | None
    jobs: bool
    assets: bool
    node_replacements: bool

    def api(self) -> dict[str, bool]:
        """As `backends --json` shows it."""
        return {"jobs": self.jobs, "assets": self.assets}


def detect(http: Http, system_stats: JsonObject) -> ServerFeatures:
    flags = _optional(http, "/features")
    system = system_stats.get("system") if isinstance(system_stats, dict) else None
    version = system.get("comfyui_version") if isinstance(system, dict) else None
    return ServerFeatures(
        version=version if isinstance(version, str) else None,
        jobs=_optional(http, "/api/jobs?limit=1") is not None,
        assets=flags.get("assets") is True if flags else False,
        node_replacements=flags.get("node_replacements") is True if flags else False,
    )


def _optional(http: Http, path: str) -> JsonObject | None:
    """The JSON object at `path`, or None where the server has no such route (a 404, or a
    proxy's page that is not JSON)."""
    try:
        body = http.request("GET", path)
    except PermanentBackendError as exc:
        if exc.status in (401, 403):
            raise
        return None
    return body if isinstance(body, dict) else None
