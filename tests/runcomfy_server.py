"""A fake RunComfy Server API on loopback (aiohttp in a background thread), for cloud tests.

Endpoints and answers as RunComfy's Postman collection shows them (executors/backends/runcomfy.py
names the sources), under ``/prod/api/users/{user_id}``: GET workflows, GET servers, POST servers
(launch), GET servers/{id} (status: Pending, then Starting, then Ready with main_service_url,
service_ready_at and estimated_stopping_at = ready + estimated_duration), POST
servers/{id}/update-estimated-duration, DELETE servers/{id} (200 "Deleting"; 404 when gone).

Knobs: `ready_after_polls` / `ready_after_s` (slow starts), `never_ready` (stays Starting),
`fail_launch` (HTTP status for the next launches), `vanish(id)` (the machine disappears: 404),
`rate_limited` (how many of the next requests get 429 rate_limited), `wall_clock` (what the ISO
times are computed from: a test's hand clock), `service_url` (what `main_service_url` says;
default the real form ``https://{id}-comfyui.runcomfy.com``). Every request is recorded in
`requests` as (method, path, authorization header).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from aiohttp import web

from core.config import CloudSettings

TOKEN = "rc-test-token-5f3a9c"
USER = "user-1234"
HOUR = 3600.0
T0 = 1_750_000_000.0  # mid-June 2025 (UTC)


@dataclass
class FakeMachine:
    server_id: str
    server_type: str
    version_id: str
    duration_s: int
    launched: float = field(default_factory=time.monotonic)
    polls: int = 0
    stopped: bool = False
    ready_at: float | None = None  # wall time it first answered Ready


class RunComfyServer:
    def __init__(self, token: str = TOKEN, user_id: str = USER):
        self.token, self.user_id = token, user_id
        self.machines: dict[str, FakeMachine] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.ready_after_polls = 2
        self.ready_after_s = 0.0
        self.never_ready = False
        self.fail_launch: int | None = None
        self.service_url: str | None = None
        self.rate_limited = 0
        self.wall_clock: Callable[[], float] = time.time
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launches(self) -> list[tuple[str, str, str | None]]:
        return [r for r in self.requests if r[0] == "POST" and r[1].endswith("/servers")]

    def vanish(self, server_id: str) -> None:
        self.machines.pop(server_id, None)

    def running(self) -> list[FakeMachine]:
        return [m for m in self.machines.values() if not m.stopped]

    # --- life -------------------------------------------------------------------------------

    def start(self) -> str:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._boot(), self._loop).result(5)
        return self.url

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
        self._loop = self._thread = self._runner = None

    async def _boot(self) -> None:
        app = web.Application(middlewares=[self._record_and_auth])
        base = "/prod/api/users/{user}"
        app.router.add_get(base + "/workflows", self._workflows)
        app.router.add_get(base + "/servers", self._list)
        app.router.add_post(base + "/servers", self._launch)
        app.router.add_get(base + "/servers/{sid}", self._status)
        app.router.add_post(base + "/servers/{sid}/update-estimated-duration", self._duration)
        app.router.add_delete(base + "/servers/{sid}", self._delete)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    # --- handlers -----------------------------------------------------------------------------

    @web.middleware
    async def _record_and_auth(self, request: web.Request, handler):  # type: ignore[no-untyped-def]
        auth = request.headers.get("Authorization")
        self.requests.append((request.method, request.path, auth))
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return web.json_response({"code": "rate_limited"}, status=429)
        if auth != f"Bearer {self.token}":
            return web.json_response({"message": "Unauthorized"}, status=401)
        if request.match_info.get("user") != self.user_id:
            return web.json_response({"message": "user not found"}, status=404)
        return await handler(request)

    async def _workflows(self, request: web.Request) -> web.Response:
        return web.json_response([{"workflow_id": "wf-1", "version_id": "ver-1", "name": "demo"}])

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response([self._view(m) for m in self.running()])

    async def _launch(self, request: web.Request) -> web.Response:
        if self.fail_launch is not None:
            return web.json_response({"message": "no capacity"}, status=self.fail_launch)
        body = await request.json()
        missing = [
            k for k in ("server_type", "estimated_duration", "workflow_version_id") if k not in body
        ]
        if missing:
            return web.json_response({"message": f"missing {missing}"}, status=400)
        sid = str(uuid.uuid4())
        self.machines[sid] = FakeMachine(
            sid, body["server_type"], body["workflow_version_id"], body["estimated_duration"]
        )
        return web.json_response({"server_id": sid, "current_status": "Pending"})

    async def _status(self, request: web.Request) -> web.Response:
        machine = self.machines.get(request.match_info["sid"])
        if machine is None:
            return web.json_response({"message": "server not found"}, status=404)
        machine.polls += 1
        return web.json_response(self._view(machine))

    async def _duration(self, request: web.Request) -> web.Response:
        machine = self.machines.get(request.match_info["sid"])
        if machine is None or machine.stopped:
            return web.json_response({"message": "server not found"}, status=404)
        machine.duration_s = int((await request.json())["update_estimated_duration"])
        return web.json_response(self._view(machine))

    async def _delete(self, request: web.Request) -> web.Response:
        machine = self.machines.get(request.match_info["sid"])
        if machine is None or machine.stopped:
            return web.json_response({"message": "server not found"}, status=404)
        machine.stopped = True
        return web.json_response({**self._view(machine), "current_status": "Deleting"})

    def _view(self, machine: FakeMachine) -> dict:
        status = self._progress(machine)
        if status == "Ready" and machine.ready_at is None:
            machine.ready_at = self.wall_clock()
        ready = machine.ready_at
        return {
            "server_id": machine.server_id,
            "estimated_duration": machine.duration_s,
            "server_type": machine.server_type,
            "user_id": self.user_id,
            "main_service_url": (
                (self.service_url or f"https://{machine.server_id}-comfyui.runcomfy.com")
                if ready is not None
                else None
            ),
            "current_status": status,
            "service_ready_at": _iso(ready),
            "estimated_stopping_at": _iso(None if ready is None else ready + machine.duration_s),
        }

    def _progress(self, machine: FakeMachine) -> str:
        if machine.stopped:
            return "Deleting"
        if self.never_ready:
            return "Starting" if machine.polls > 1 else "Pending"
        slow = time.monotonic() - machine.launched < self.ready_after_s
        if machine.polls < self.ready_after_polls or slow:
            return "Pending" if machine.polls <= 1 else "Starting"
        return "Ready"


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


# --- fixtures (tests/conftest.py makes them global) -------------------------------------------


class Clock:
    """A hand-moved wall clock; `sleep` advances it (CloudManager's clock= and sleep=)."""

    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def runcomfy() -> Iterator[RunComfyServer]:
    server = RunComfyServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cloud_settings(runcomfy: RunComfyServer, monkeypatch: pytest.MonkeyPatch) -> CloudSettings:
    """Online settings for the fake: user, token (in the environment), type large at $2/h."""
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", TOKEN)
    return CloudSettings(
        allow_online=True,
        user_id=USER,
        api_url=runcomfy.url,
        machine_type="large",
        workflow_version="ver-1",
        rate_usd_h=2.0,
        ready_timeout_s=60.0,
        poll_s=5.0,
    )
