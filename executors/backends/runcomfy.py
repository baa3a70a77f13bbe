"""RunComfy "Server API" client: launch, poll, list and stop dedicated ComfyUI machines.

Facts and where they come from:

* Base URL ``https://api.runcomfy.net`` (".net", not ".com"), HTTPS, JSON bodies, and
  ``Authorization: Bearer <token>`` — RunComfy API Reference (comfyui.notion.site/RunComfy-API-
  Reference-136b03293a27805cbab5e3e5bccbf032), checked with the `search` tool; also
  /work/shared/docs/backends.md §5.1.
* The six operations (list workflows, list running machines, machine status, launch, change
  duration, stop); launch "returns right away with a server_id"; poll until ``Ready``; "You are NOT
  charged until the machine status is Ready"; ``estimated_duration`` in seconds; ``server_type`` one
  of medium, large, extra-large, 2x-large, 2xl-turbo — the same API reference.
* The paths, bodies and answers — RunComfy's Postman collection (documenter.getpostman.com/view/
  5334389/2sAY5191Af; read through a public copy, runcomfy/context/runcomfydocs.txt in
  github.com/lopezyaoming/CONJURE, since the page needs a browser): ``GET|DELETE
  /prod/api/users/{user}/servers/{server}`` (``/servers``, not the ``/machines`` one add-on uses),
  ``POST …/servers/{server}/update-estimated-duration`` with ``{"update_estimated_duration": s}``;
  a machine answers ``server_id, estimated_duration, server_type, user_id, main_service_url,
  current_status, service_ready_at, estimated_stopping_at`` (ISO 8601 UTC); a starting machine
  says ``Starting`` (public clients also saw ``Pending``/``Creating``/``Initializing``), a
  DELETE answers 200 with ``Deleting``; ``estimated_stopping_at`` = ready + duration. The launch
  body ``{server_type, estimated_duration, workflow_version_id}`` and 404 for a gone machine —
  backends.md §5.1 and two independent public clients.
* Rate limit: one request per second per account with some burst; over it, HTTP 429
  ``rate_limited`` — the API reference. A 429 is waited out and retried (tenacity).
* Billing: per second from ``Ready`` "till your DELETE machine call returns 200".
* ``main_service_url`` has the form ``https://{server_id}-comfyui.runcomfy.com`` and should be used
  "in a trusted environment" — RunComfy guide "working with comfyui backend api"
  (comfyui-guides.runcomfy.com). So the URL, and with it the server id, is treated as a secret:
  shown masked (`mask_url`, `short_id`), never logged in full.

Errors (core.errors): refused, timed out or 5xx → TransientBackendError; 4xx →
PermanentBackendError with RunComfy's message (404 on a machine → `MachineGone`). The token never
appears in a message, and server ids are shortened in anything shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
import tenacity

from core.errors import PermanentBackendError, TransientBackendError
from core.json_types import JsonObject, JsonValue

log = logging.getLogger(__name__)

DEFAULT_API = "https://api.runcomfy.net"
READY = "Ready"
STARTING = ("Pending", "Starting", "Creating", "Initializing")
ENDED = ("Deleting", "Stopping", "Stopped")
RATE_LIMIT_TRIES = 4
SERVER_TYPES = ("medium", "large", "extra-large", "2x-large", "2xl-turbo")


class MachineGone(PermanentBackendError):
    """RunComfy answered 404 for this machine: it was stopped or never existed."""


class RateLimited(TransientBackendError):
    """HTTP 429: more than about one request a second."""


@dataclass(frozen=True)
class Machine:
    server_id: str
    status: str
    url: str | None  # main_service_url: a secret, show it with mask_url
    ready_at: float | None = None  # service_ready_at (epoch s): billing starts here
    stopping_at: float | None = None  # estimated_stopping_at: RunComfy stops it then

    @property
    def ready(self) -> bool:
        return self.status == READY and bool(self.url)


def short_id(server_id: str) -> str:
    """The first 8 characters: enough to tell machines apart, too few to build the URL."""
    return server_id[:8]


class RunComfyClient:
    """Synchronous client of the machine endpoints; one `requests.Session` per client."""

    def __init__(
        self,
        user_id: str,
        token: str,
        base_url: str = DEFAULT_API,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
    ):
        self.base_url = base_url.rstrip("/")
        self._prefix = f"/prod/api/users/{user_id}"
        self._token = token
        self._timeout = (connect_timeout, read_timeout)
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self._session.close()

    def workflows(self) -> list[JsonObject]:
        return list(self._call("GET", "/workflows") or [])

    def machines(self) -> list[Machine]:
        data = self._call("GET", "/servers") or []
        items = data.get("servers", []) if isinstance(data, dict) else data
        return [_machine(item) for item in items if isinstance(item, dict)]

    def launch(self, server_type: str, workflow_version_id: str, estimated_duration_s: int) -> str:
        body = {
            "server_type": server_type,
            "estimated_duration": int(estimated_duration_s),
            "workflow_version_id": workflow_version_id,
        }
        data = self._call("POST", "/servers", body)
        server_id = data.get("server_id") if isinstance(data, dict) else None
        if not server_id:
            raise PermanentBackendError(
                "RunComfy accepted the launch but sent no server_id — check the machines on "
                "runcomfy.com and stop any stray one",
                backend="runcomfy",
                url=self.base_url,
            )
        return str(server_id)

    def status(self, server_id: str) -> Machine:
        data = self._call("GET", f"/servers/{server_id}", server_id=server_id)
        if not isinstance(data, dict):
            raise PermanentBackendError(
                "RunComfy sent a machine status that is not an object",
                backend="runcomfy",
                url=self.base_url,
            )
        return _machine({"server_id": server_id, **data})

    def set_duration(self, server_id: str, estimated_duration_s: int) -> Machine:
        """Run until `estimated_duration_s` after Ready (RunComfy then stops the machine)."""
        body = {"update_estimated_duration": int(estimated_duration_s)}
        path = f"/servers/{server_id}/update-estimated-duration"
        data = self._call("POST", path, body, server_id=server_id)
        return _machine({"server_id": server_id, **(data if isinstance(data, dict) else {})})

    def stop(self, server_id: str) -> bool:
        """Stop the machine; False when RunComfy says it is already gone (404)."""
        try:
            self._call("DELETE", f"/servers/{server_id}", server_id=server_id)
        except MachineGone:
            return False
        return True

    @tenacity.retry(
        retry=tenacity.retry_if_exception_type(RateLimited),
        wait=tenacity.wait_exponential(multiplier=1, max=8),
        stop=tenacity.stop_after_attempt(RATE_LIMIT_TRIES),
        reraise=True,
    )
    def _call(
        self, method: str, path: str, body: dict | None = None, *, server_id: str = ""
    ) -> JsonValue:
        shown = path.replace(server_id, short_id(server_id) + "…") if server_id else path
        where = f"{self.base_url}/prod/api/users/…{shown}"  # user and server ids left out
        try:
            response = self._session.request(
                method, self.base_url + self._prefix + path, json=body, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise TransientBackendError(
                f"RunComfy API at {self.base_url} did not answer ({type(exc).__name__}) — "
                "check the connection and try again",
                backend="runcomfy",
                url=where,
            ) from None
        log.debug("runcomfy %s %s → %s", method, where, response.status_code)
        if response.status_code == 429:
            raise RateLimited(
                f"RunComfy API {method} {shown}: rate limited (about one request a second) — "
                "wait a moment and try again",
                backend="runcomfy",
                url=where,
                status=429,
            )
        if response.status_code >= 500:
            raise TransientBackendError(
                f"RunComfy API {method} {shown}: server error {response.status_code} — try again",
                backend="runcomfy",
                url=where,
                status=response.status_code,
            )
        if response.status_code >= 400:
            detail = self._scrub(_detail(response))
            kind = MachineGone if response.status_code == 404 and server_id else None
            hint = _HINTS.get(response.status_code, "check the RunComfy settings")
            raise (kind or PermanentBackendError)(
                f"RunComfy API {method} {shown}: {response.status_code} {detail} — {hint}",
                backend="runcomfy",
                url=where,
                status=response.status_code,
                detail=detail,
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "****") if self._token else text


_HINTS = {
    401: "check RUNCOMFY_API_TOKEN (Token1 or Token2 from the RunComfy profile)",
    403: "check RUNCOMFY_API_TOKEN and the user id (from the dashboard URL)",
    404: "the machine or user id is not known to RunComfy",
}


def _machine(item: JsonObject) -> Machine:
    return Machine(
        server_id=str(item.get("server_id") or item.get("id") or ""),
        status=str(item.get("current_status") or item.get("status") or "Unknown"),
        url=(item.get("main_service_url") or None),
        ready_at=_epoch(item.get("service_ready_at")),
        stopping_at=_epoch(item.get("estimated_stopping_at")),
    )


def _epoch(text: JsonValue) -> float | None:
    """ISO 8601 ("2024-11-08T05:13:44.100554Z") → epoch seconds; None when absent or odd."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _detail(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason or ""
    if isinstance(data, dict):
        for key in ("message", "detail", "error"):
            if data.get(key):
                return str(data[key])[:200]
    return str(data)[:200]
