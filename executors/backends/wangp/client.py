"""WanGPClient: one WanGP server through its MCP server (the calls used: the package docstring).

Threads: every public method runs on the calling thread (a pool worker, or the health thread)
and drives its own short-lived event loop with `anyio.run`; only the tool catalog (locked) is
shared between calls, so several threads may use one client at once. Only core errors leave
this package.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path
from typing import TypeVar, TypeVarTuple
from urllib.parse import urljoin

import anyio
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import REQUEST_TIMEOUT

from core.config import UrlBackendConfig
from core.errors import BackendError, JobCancelled, PermanentBackendError, TransientBackendError
from core.json_types import JsonObject, JsonValue
from executors.backends.base import Event, Health

from . import mcp_calls as mcp
from .errors import START_HINT, CallbackFailed, Server, Where, judge, translate
from .events import EventCursor, convert_event, events_of
from .files import Downloader, Ticket, unique_names
from .records import ID_ARGUMENTS, Item, Made, gallery_items, model_entry

EVENT_LIMIT = 50  # events asked for per poll: WanGP keeps the last 500 of a job
MODEL_PAGE = 10  # WanGP answers at most 10 models per wangp_list_models call
MAX_MODEL_PAGES = 100
POLL_FAILURES_TOLERATED = 3  # consecutive poll timeouts before giving up on a job
CANCEL_GRACE_S = 3.0  # how long a cancel waits for WanGP to stop the job
DOWNLOAD_TOOL = "wangp_create_gallery_download"
AVAILABILITY_TOOL = "wangp_get_model_availability"
BUSY_TEXT = "already has a generation in progress"

T = TypeVar("T")
Args = TypeVarTuple("Args")


class WanGPClient:
    """One WanGP MCP server. `url` is its MCP endpoint, e.g. http://127.0.0.1:7866/mcp."""

    kind = "wangp"

    def __init__(
        self,
        config: UrlBackendConfig,
        *,
        connect_s: float = 5.0,
        read_s: float = 30.0,
        poll_s: float = 0.25,
    ):
        self.config = config
        self.name = config.name
        self.url = config.url
        self.connect_s, self.read_s, self.poll_s = connect_s, read_s, poll_s
        self.server = Server(self.name, self.url, config.token_env, read_s)
        self.catalog = mcp.ToolCatalog()  # this server's tools and their argument names
        self.files = Downloader(self.url, self._auth_headers, self._where(), connect_s, read_s)

    # --- public API (worker threads) ---------------------------------------------------------

    def health(self) -> Health:
        """Health thread. Never raises: lists WanGP's models (with whether their weights are on
        disk); a server that is down or refuses gives `online=False` with the reason and fix."""
        try:
            models = self.models()
        except BackendError as exc:
            return Health(online=False, detail=str(exc))
        ready = sum(1 for m in models if m["available"])
        detail = f"WanGP: {len(models)} models, {ready} with weights on disk"
        return Health(online=True, detail=detail, extra={"models": models})

    def models(self) -> list[JsonObject]:
        """Worker/UI thread. Every model WanGP offers: [{model_type, name, available}], where
        `available` is True when its weights are on disk (None when WanGP does not say)."""
        records = self._sync(self._list_models)
        return [model_entry(r) for r in records]

    def run(
        self,
        request: JsonObject,
        *,
        workdir: Path,
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        timeout_s: float | None,
    ) -> list[Path]:
        """Worker thread. Submits `request["inputs"]` (WanGP settings) with wait=False, polls the
        job every poll_s reporting Progress/Preview, then downloads each output into `workdir`
        over its one-use gallery URL. `timeout_s` limits the time without any news from the
        job; when it passes the job is cancelled and PermanentBackendError names the limit.
        An exception raised by `on_event` stops the WanGP job and propagates unchanged."""
        settings = self._settings(request)
        if cancel.is_set():
            raise JobCancelled("The job was cancelled before it was sent to WanGP.")
        made = self._sync(self._generate, settings, on_event, cancel, timeout_s)
        names = unique_names([item.filename for item in made.items])
        return [
            self.files.fetch(
                made.job_id, partial(self._sync, self._ticket, item), workdir / name, cancel
            )
            for item, name in zip(made.items, names, strict=True)
        ]

    # --- the async side (runs inside anyio.run on the calling thread) ------------------------

    def _session(self) -> AbstractAsyncContextManager[Client]:
        """One MCP connection to WanGP (see wangp_mcp.connect)."""
        return mcp.connect(
            self.url, self._auth_headers(), connect_s=self.connect_s, read_s=self.read_s
        )

    async def _list_models(self) -> list[JsonObject]:
        async with self._session() as client:
            return await self._model_pages(client)

    async def _model_pages(self, client: Client) -> list[JsonObject]:
        """Pages through wangp_list_models; an older WanGP that ignores limit/offset answers
        everything at once, which ends the walk too."""
        records: dict[str, JsonObject] = {}
        for page_no in range(MAX_MODEL_PAGES):
            page = await mcp.call(
                client,
                "wangp_list_models",
                limit=MODEL_PAGE,
                offset=page_no * MODEL_PAGE,
                include_availability=True,
            )
            page = [page] if isinstance(page, dict) else page  # one model, unstructured
            page = [r for r in (page or []) if isinstance(r, dict)]
            fresh = [r for r in page if str(r.get("model_type")) not in records]
            for record in fresh:
                records[str(record.get("model_type"))] = record
            if len(page) != MODEL_PAGE or not fresh:
                break
        return list(records.values())

    async def _generate(
        self,
        settings: JsonObject,
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        timeout_s: float | None,
    ) -> Made:
        async with self._session() as client:
            await self._check_model(client, settings.get("model_type"))
            id_argument = await self._download_argument(client)  # before any GPU time is spent
            snapshot = await self._submit(client, settings)
            job_id = str(snapshot.get("job_id") or "")
            if not job_id:
                raise PermanentBackendError(
                    "WanGP accepted the job but gave no job id; update WanGP.", **self._where()
                )
            result = await self._follow(client, job_id, snapshot, on_event, cancel, timeout_s)
            return Made(job_id, gallery_items(result, id_argument, self._where()))

    async def _download_argument(self, client: Client) -> str:
        """The name WanGP gives the gallery id argument of its download tool, from its tool
        list: `gallery_id` in WanGP 12.60 (shared/mcp_server.py@8681e9f), `media_id` later
        (@72fe719). A server without the tool (not the HTTP transport) cannot hand files
        over: refused before the job runs."""
        names = await self.catalog.arguments(client, DOWNLOAD_TOOL)
        if names is None:
            raise PermanentBackendError(
                f"WanGP at {self.url} offers no file downloads ({DOWNLOAD_TOOL} is missing, "
                f"which needs the HTTP transport): start it with {START_HINT}",
                **self._where(),
            )
        known = [n for n in ID_ARGUMENTS if n in names]
        if known or len(names) == 1:
            return (known or list(names))[0]
        raise PermanentBackendError(
            f"WanGP's {DOWNLOAD_TOOL} asks for ({', '.join(names)}), which this Takeboard "
            "does not know how to fill: update Takeboard.",
            **self._where(),
        )

    async def _check_model(self, client: Client, model_type: JsonValue) -> None:
        """Refuses a model whose weights are not on disk before WanGP starts a download."""
        if not model_type or not await self.catalog.arguments(client, AVAILABILITY_TOOL):
            return  # no model named, or a WanGP without the availability tool
        try:
            record = await mcp.call(client, AVAILABILITY_TOOL, model_type=str(model_type))
        except mcp.ToolFailed as exc:
            if "unknown model_type" in exc.text.lower():
                raise PermanentBackendError(
                    f"WanGP does not know the model '{model_type}'. Pick one of the models "
                    "WanGP lists (see the server's health), or update WanGP.",
                    **self._where(),
                ) from exc
            raise
        if isinstance(record, dict) and record.get("available") is False:
            status = record.get("status") or "missing"
            raise PermanentBackendError(
                f"WanGP does not have the weights of model '{model_type}' on disk ({status}). "
                "WanGP downloads a model's weights the first time it is used, which needs "
                "internet once: generate once with it in WanGP's own window, or pick another "
                "model.",
                **self._where(),
            )

    async def _submit(self, client: Client, settings: JsonObject) -> JsonObject:
        try:
            snapshot = await mcp.call(
                client, "wangp_generate", source=settings, wait=False, event_limit=EVENT_LIMIT
            )
        except mcp.ToolFailed as exc:
            if BUSY_TEXT in exc.text:
                raise TransientBackendError(
                    f"WanGP at {self.url} is busy with another generation (it runs one at a "
                    "time); the job will be retried later.",
                    **self._where(),
                ) from exc
            raise
        return snapshot if isinstance(snapshot, dict) else {}

    async def _follow(
        self,
        client: Client,
        job_id: str,
        snapshot: JsonObject,
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        timeout_s: float | None,
    ) -> JsonObject:
        """Polls one job until WanGP reports its result; returns that result dict."""
        cursor = EventCursor()
        last_news = time.monotonic()
        failures = 0
        while True:
            try:
                if self._report(cursor.take_new(events_of(snapshot)), on_event):
                    last_news = time.monotonic()
            except CallbackFailed:
                await self._stop(client, job_id)  # nobody is listening any more
                raise
            result = snapshot.get("result")
            if snapshot.get("done") and isinstance(result, dict):
                return judge(self.server, result)
            if cancel.is_set():
                await self._stop(client, job_id)
                raise JobCancelled("The job was cancelled; WanGP was asked to stop it.")
            if timeout_s is not None and time.monotonic() - last_news > timeout_s:
                await self._stop(client, job_id)
                raise PermanentBackendError(
                    f"WanGP sent no news about job {job_id} for {timeout_s:g} s (the "
                    "function's time limit), so the job was cancelled. Raise the time limit "
                    "or look at WanGP's console for what it is stuck on.",
                    **self._where(),
                )
            await anyio.sleep(self.poll_s)
            try:
                snapshot = await self._poll(client, job_id)
                failures = 0
            except MCPError as exc:
                failures += 1
                if exc.code != REQUEST_TIMEOUT or failures > POLL_FAILURES_TOLERATED:
                    raise

    async def _poll(self, client: Client, job_id: str) -> JsonObject:
        try:
            snapshot = await mcp.call(
                client, "wangp_get_job", job_id=job_id, event_limit=EVENT_LIMIT
            )
        except mcp.ToolFailed as exc:
            if "unknown wangp job_id" not in exc.text.lower():
                raise
            raise TransientBackendError(
                f"WanGP no longer knows job {job_id} (was it restarted?); the job will be retried.",
                **self._where(),
            ) from exc
        return snapshot if isinstance(snapshot, dict) else {}

    @staticmethod
    def _report(events: list[JsonObject], on_event: Callable[[Event], None]) -> bool:
        """Turns new WanGP events into Progress/Preview; True when there were any."""
        for event in events:
            converted = convert_event(event)
            if converted is None:
                continue
            try:
                on_event(converted)
            except Exception as exc:  # the caller's bug: stop here, raise it unchanged
                raise CallbackFailed(exc) from exc
        return bool(events)

    async def _stop(self, client: Client, job_id: str) -> None:
        """Asks WanGP to cancel the job and waits briefly until it has stopped, so that the
        next job does not find WanGP busy. Never raises: the job is being abandoned anyway."""
        try:
            with anyio.fail_after(CANCEL_GRACE_S + self.read_s):
                snapshot = await mcp.call(client, "wangp_cancel_job", job_id=job_id)
                deadline = time.monotonic() + CANCEL_GRACE_S
                while not (isinstance(snapshot, dict) and snapshot.get("done")):
                    if time.monotonic() > deadline:
                        return
                    await anyio.sleep(min(self.poll_s, 0.1))
                    snapshot = await mcp.call(client, "wangp_get_job", job_id=job_id, event_limit=0)
        except Exception:  # includes the fail_after timeout; cancellation still propagates
            return

    async def _ticket(self, item: Item) -> Ticket:
        """A fresh one-use download URL for one gallery item. A refusal of the arguments
        means WanGP changed since its tool list was read: read it again, ask once more."""
        async with self._session() as client:
            try:
                answer = await self._ask_ticket(client, item)
            except mcp.ToolFailed as exc:
                if not exc.bad_arguments:
                    raise
                self.catalog.forget()
                answer = await self._ask_ticket(client, item)
        if not isinstance(answer, dict) or not answer.get("download_url"):
            raise PermanentBackendError(
                "WanGP gave no download URL for a finished file; update WanGP.", **self._where()
            )
        size = answer.get("size")
        return Ticket(
            urljoin(self.url, str(answer["download_url"])), size if isinstance(size, int) else None
        )

    async def _ask_ticket(self, client: Client, item: Item) -> JsonValue:
        argument = await self._download_argument(client)
        return await mcp.call(client, DOWNLOAD_TOOL, **{argument: item.gallery_id})

    # --- sync helpers (calling thread) -------------------------------------------------------

    def _sync(self, fn: Callable[[*Args], Awaitable[T]], *args: *Args) -> T:
        """Runs one coroutine function on a fresh event loop; translates what escapes."""
        try:
            return anyio.run(fn, *args)
        except Exception as exc:
            raise translate(self.server, exc) from exc

    def _settings(self, request: JsonObject) -> JsonObject:
        inputs = request.get("inputs") if isinstance(request, dict) else None
        if not isinstance(inputs, dict) or not inputs:
            raise PermanentBackendError(
                'A WanGP request must be {"inputs": {<WanGP settings>}}; fix the function\'s '
                "template.",
                **self._where(),
            )
        return dict(inputs)

    def _auth_headers(self) -> dict[str, str]:
        token = self.config.token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _where(self) -> Where:
        return self.server.where
