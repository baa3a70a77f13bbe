"""WanGP (deepbeepmeep/Wan2GP) through its official MCP server (`shared/mcp_server.py`).

WanGP runs as `python wgp.py --mcp --mcp-transport streamable-http --mcp-port 7866`: a FastMCP
server in JSON-response, stateless-HTTP mode at `http://host:7866/mcp` (POST /mcp answers 307
to /mcp/; the mcp client follows a redirect that stays on the same origin). The calls used here,
with the argument names and result shapes of WanGP's source:

* `wangp_list_models(limit<=10, offset, include_availability)` → compact model records, each
  with `availability: {model_type, status, status_code, indicator, available}` when asked;
* `wangp_get_model_availability(model_type)` → one such record ("Unknown model_type: x" for a
  model WanGP does not know);
* `wangp_generate(source=<settings>, wait=False, event_limit)` → a job snapshot `{job_id, done,
  cancel_requested, events[-event_limit:], result}`. `wait=True` would block WanGP's event loop
  for the whole job, so a job is submitted without waiting and then polled;
* `wangp_get_job(job_id, event_limit)` / `wangp_cancel_job(job_id)` → the same snapshot. Events
  are `{kind, timestamp, data}`; `progress` data is WanGP's ProgressUpdate (phase, status,
  progress 0-100, current_step, total_steps), `preview` data its PreviewUpdate, optionally with
  `media` (base64 `data`, `mime_type`); `result` is `{success, cancelled, generated_files,
  errors[{message, stage, cancelled, ...}], ..., gallery_items[...]}`;
* `wangp_create_gallery_download(<id>)` → `{download_url: "/wangp_api/gallery/download/
  <token>", filename, size, expires_in_seconds: 600}`: a relative URL that works once.

Two generations of that last tool: WanGP 12.60 (shared/mcp_server.py@8681e9f, August 2026)
names the argument `gallery_id` and its gallery items are full records `{gallery_id, path,
...}`; later versions (shared/mcp_server.py@72fe719, WanGP 12.641) call both `media_id` and
list compact items `{media_id, filename, ...}`. The argument name is read from the server's
`tools/list` (cached per client, i.e. per server; see wangp_mcp.ToolCatalog), never assumed.

Needs mcp >= 2 on this side (`mcp.Client`, httpx2); it speaks the handshake protocol that
WanGP's pinned mcp 1.10.1 server answers.

Threads: every public method runs on the calling thread (a pool worker, or the health thread)
and drives its own short-lived event loop with `anyio.run`; only the tool catalog (locked) is
shared between calls, so several threads may use one client at once. Only core errors leave
this module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import anyio
import httpx2
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, METHOD_NOT_FOUND, REQUEST_TIMEOUT

from core.config import UrlBackendConfig
from core.errors import (
    AppError,
    BackendError,
    JobCancelled,
    OutOfMemory,
    PermanentBackendError,
    TransientBackendError,
)
from executors.backends import wangp_mcp as mcp
from executors.backends.base import Event, Health, looks_like_oom
from executors.backends.wangp_events import EventCursor, convert_event, events_of
from executors.backends.wangp_files import Downloader, Ticket, unique_names

START_HINT = "python wgp.py --mcp --mcp-transport streamable-http --mcp-port 7866"
EVENT_LIMIT = 50  # events asked for per poll: WanGP keeps the last 500 of a job
MODEL_PAGE = 10  # WanGP answers at most 10 models per wangp_list_models call
MAX_MODEL_PAGES = 100
POLL_FAILURES_TOLERATED = 3  # consecutive poll timeouts before giving up on a job
CANCEL_GRACE_S = 3.0  # how long a cancel waits for WanGP to stop the job
DOWNLOAD_TOOL = "wangp_create_gallery_download"
ID_ARGUMENTS = ("media_id", "gallery_id")  # its argument's names, newest first
AVAILABILITY_TOOL = "wangp_get_model_availability"
BUSY_TEXT = "already has a generation in progress"


class _CallbackFailed(Exception):
    """The caller's on_event raised; its exception is re-raised unchanged at the edge."""

    def __init__(self, original: BaseException):
        super().__init__(repr(original))
        self.original = original


@dataclass(frozen=True)
class _Item:
    """One file WanGP made: its gallery id and the name it had on the server."""

    gallery_id: str
    filename: str


@dataclass(frozen=True)
class _Made:
    """A finished WanGP job: its id and the gallery items of its files."""

    job_id: str
    items: list[_Item]


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

    def models(self) -> list[dict[str, Any]]:
        """Worker/UI thread. Every model WanGP offers: [{model_type, name, available}], where
        `available` is True when its weights are on disk (None when WanGP does not say)."""
        records = self._sync(self._list_models)
        return [_model_entry(r) for r in records]

    def run(
        self,
        request: dict[str, Any],
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

    def _session(self) -> Any:
        """One MCP connection to WanGP (see wangp_mcp.connect)."""
        return mcp.connect(
            self.url, self._auth_headers(), connect_s=self.connect_s, read_s=self.read_s
        )

    async def _list_models(self) -> list[dict[str, Any]]:
        async with self._session() as client:
            return await self._model_pages(client)

    async def _model_pages(self, client: Client) -> list[dict[str, Any]]:
        """Pages through wangp_list_models; an older WanGP that ignores limit/offset answers
        everything at once, which ends the walk too."""
        records: dict[str, dict[str, Any]] = {}
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
        settings: dict[str, Any],
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        timeout_s: float | None,
    ) -> _Made:
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
            return _Made(job_id, self._gallery_items(result, id_argument))

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

    async def _check_model(self, client: Client, model_type: Any) -> None:
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

    async def _submit(self, client: Client, settings: dict[str, Any]) -> dict[str, Any]:
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
        snapshot: dict[str, Any],
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        timeout_s: float | None,
    ) -> dict[str, Any]:
        """Polls one job until WanGP reports its result; returns that result dict."""
        cursor = EventCursor()
        last_news = time.monotonic()
        failures = 0
        while True:
            try:
                if self._report(cursor.take_new(events_of(snapshot)), on_event):
                    last_news = time.monotonic()
            except _CallbackFailed:
                await self._stop(client, job_id)  # nobody is listening any more
                raise
            result = snapshot.get("result")
            if snapshot.get("done") and isinstance(result, dict):
                return self._judge(result)
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

    async def _poll(self, client: Client, job_id: str) -> dict[str, Any]:
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
    def _report(events: list[dict[str, Any]], on_event: Callable[[Event], None]) -> bool:
        """Turns new WanGP events into Progress/Preview; True when there were any."""
        for event in events:
            converted = convert_event(event)
            if converted is None:
                continue
            try:
                on_event(converted)
            except Exception as exc:  # the caller's bug: stop here, raise it unchanged
                raise _CallbackFailed(exc) from exc
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

    def _judge(self, result: dict[str, Any]) -> dict[str, Any]:
        """Raises for a failed or cancelled result; returns a successful one."""
        errors = [e for e in result.get("errors") or [] if isinstance(e, dict)]
        if result.get("cancelled") or (errors and all(e.get("cancelled") for e in errors)):
            raise JobCancelled("The job was cancelled in WanGP.")
        messages = [str(e.get("message") or "") for e in errors]
        message = "; ".join(mcp.one_line(m) for m in messages if m.strip())
        if message or not result.get("success", False):
            message = message or "WanGP reported a failure without a message"
            if looks_like_oom(message):
                raise OutOfMemory(
                    f"WanGP ran out of GPU memory: {message}. Try a lower resolution, fewer "
                    "frames, or a lighter memory profile (--profile) in WanGP.",
                    **self._where(),
                    detail=errors,
                )
            raise PermanentBackendError(
                f"WanGP could not make the video: {message}. Fix the settings named in the "
                "message, or look at WanGP's console.",
                **self._where(),
                detail=errors,
            )
        return result

    def _gallery_items(self, result: dict[str, Any], id_argument: str) -> list[_Item]:
        """The gallery items of a finished job's files. WanGP 12.60 lists full records
        ({gallery_id, path, ...}); later versions compact ones ({media_id, filename, ...})."""
        records = [i for i in result.get("gallery_items") or [] if isinstance(i, dict)]
        items = [item for record in records if (item := _item(record, id_argument))]
        if items and len(items) == len(records):  # all of them, or the job fails
            return items
        made = len(result.get("generated_files") or [])
        if made:
            raise PermanentBackendError(
                f"WanGP made {made} file(s) but listed {len(items)} with a {id_argument} to "
                "download them by; the files stay in WanGP's output folder — update WanGP.",
                **self._where(),
            )
        raise PermanentBackendError(
            "WanGP finished the job without producing a file; look at WanGP's console.",
            **self._where(),
        )

    async def _ticket(self, item: _Item) -> Ticket:
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

    async def _ask_ticket(self, client: Client, item: _Item) -> Any:
        argument = await self._download_argument(client)
        return await mcp.call(client, DOWNLOAD_TOOL, **{argument: item.gallery_id})

    # --- sync helpers (calling thread) -------------------------------------------------------

    def _sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Runs one coroutine function on a fresh event loop; translates what escapes."""
        try:
            return anyio.run(fn, *args)
        except Exception as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: BaseException) -> BaseException:
        """The one core error (or the caller's own exception) for whatever escaped."""
        leaves = list(mcp.leaves(exc))
        for leaf in leaves:
            if isinstance(leaf, _CallbackFailed):
                return leaf.original
        for leaf in leaves:
            if isinstance(leaf, AppError):
                return leaf
        status = mcp.noted_status(exc)
        leaf = next((x for x in leaves if isinstance(x, Exception)), exc)  # not cancellation
        if status in (401, 403):
            return PermanentBackendError(
                f"WanGP at {self.url} refused the request (HTTP {status}): set the right token "
                f"in the environment variable {self.config.token_env or '(none configured)'}.",
                status=status,
                **self._where(),
            )
        if isinstance(leaf, mcp.ToolFailed):
            return self._refused(leaf)
        if isinstance(leaf, httpx2.TransportError | OSError) or status in (502, 503, 504):
            return self._not_answering(status)
        if isinstance(leaf, MCPError):
            if leaf.code == REQUEST_TIMEOUT:
                return TransientBackendError(
                    f"WanGP at {self.url} did not answer within {self.read_s:g} s; it may be "
                    "stuck (a client waiting on wangp_generate blocks it). Retry later.",
                    **self._where(),
                )
            if leaf.code == CONNECTION_CLOSED:
                return self._not_answering(status)
            if leaf.code == METHOD_NOT_FOUND and status == 404:
                return PermanentBackendError(
                    f"{self.url} is not a WanGP MCP endpoint (HTTP 404): the url must end in "
                    f"/mcp and WanGP must run with {START_HINT}.",
                    status=404,
                    **self._where(),
                )
            return PermanentBackendError(
                f"WanGP at {self.url} answered with an error: {mcp.one_line(leaf.message)}"
                + (f" (HTTP {status})" if status else "")
                + ". Check that the url points at WanGP's MCP server.",
                status=status,
                **self._where(),
            )
        return PermanentBackendError(
            f"Talking to WanGP at {self.url} failed: {type(leaf).__name__}: "
            f"{mcp.one_line(str(leaf))}. Check that "
            "the url points at WanGP's MCP server and that WanGP is up to date.",
            **self._where(),
        )

    def _refused(self, failure: mcp.ToolFailed) -> BackendError:
        """A tool call WanGP refused, in one line with advice that fits."""
        if looks_like_oom(failure.text):
            return OutOfMemory(f"WanGP ran out of GPU memory: {failure.summary}", **self._where())
        advice = (
            "Takeboard and this WanGP version disagree on the tool's arguments: update "
            "Takeboard or WanGP."
            if failure.bad_arguments
            else "Check the settings it names, or WanGP's console."
        )
        return PermanentBackendError(
            f"WanGP at {self.url} refused {failure.tool} ({failure.summary}). {advice}",
            **self._where(),
        )

    def _not_answering(self, status: int | None) -> TransientBackendError:
        return TransientBackendError(
            f"WanGP's MCP server at {self.url} is not answering"
            + (f" (HTTP {status})" if status else "")
            + f" — start it with: {START_HINT}",
            status=status,
            **self._where(),
        )

    def _settings(self, request: dict[str, Any]) -> dict[str, Any]:
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

    def _where(self) -> dict[str, str]:
        return {"backend": self.name, "url": self.url}


# --- pure helpers ---------------------------------------------------------------------------


def _model_entry(record: dict[str, Any]) -> dict[str, Any]:
    availability = record.get("availability")
    available = availability.get("available") if isinstance(availability, dict) else None
    model_type = str(record.get("model_type") or "")
    return {
        "model_type": model_type,
        "name": str(record.get("name") or model_type),
        "available": available if isinstance(available, bool) else None,
    }


def _item(record: dict[str, Any], id_argument: str) -> _Item | None:
    """A gallery record as an _Item; None when it carries no id (never the text 'None')."""
    gallery_id = next((record[k] for k in (id_argument, *ID_ARGUMENTS) if record.get(k)), None)
    if not isinstance(gallery_id, str):
        return None
    name = record.get("filename") or Path(str(record.get("path") or "")).name
    return _Item(gallery_id, str(name or ""))
