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
  errors[{message, stage, cancelled, ...}], ..., gallery_items[{media_id, filename, ...}]}`;
* `wangp_create_gallery_download(media_id)` → `{download_url: "/wangp_api/gallery/download/
  <token>", filename, size, expires_in_seconds: 600}`: a relative URL that works once.

Needs mcp >= 2 on this side (`mcp.Client`, httpx2); it speaks the handshake protocol that
WanGP's pinned mcp 1.10.1 server answers.

Threads: every public method runs on the calling thread (a pool worker, or the health thread)
and drives its own short-lived event loop with `anyio.run`; nothing is shared between calls, so
several threads may use one client at once. Only core errors leave this module.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio
import httpx2
import requests
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, METHOD_NOT_FOUND, REQUEST_TIMEOUT, TextContent

from core.config import UrlBackendConfig
from core.errors import (
    AppError,
    BackendError,
    JobCancelled,
    OutOfMemory,
    PermanentBackendError,
    TransientBackendError,
)
from executors.backends.base import Event, Health, Preview, Progress, looks_like_oom

START_HINT = "python wgp.py --mcp --mcp-transport streamable-http --mcp-port 7866"
EVENT_LIMIT = 50  # events asked for per poll: WanGP keeps the last 500 of a job
MODEL_PAGE = 10  # WanGP answers at most 10 models per wangp_list_models call
MAX_MODEL_PAGES = 100
POLL_FAILURES_TOLERATED = 3  # consecutive poll timeouts before giving up on a job
CANCEL_GRACE_S = 3.0  # how long a cancel waits for WanGP to stop the job
CHUNK = 1 << 20
BUSY_TEXT = "already has a generation in progress"
PHASE_WORDS = {
    "loading_model": "Loading model",
    "encoding_text": "Encoding prompt",
    "inference": "Denoising",
    "inference_stage_1": "Denoising (pass 1)",
    "inference_stage_2": "Denoising (pass 2)",
    "inference_stage_3": "Denoising (pass 3)",
    "decoding": "Decoding video",
    "downloading_output": "Saving video",
    "cancelled": "Cancelling",
}


class _ToolFailed(Exception):
    """A tool answered with isError; `text` is WanGP's message (internal, never leaves)."""

    def __init__(self, tool: str, text: str):
        super().__init__(text)
        self.tool, self.text = tool, text


class _CallbackFailed(Exception):
    """The caller's on_event raised; its exception is re-raised unchanged at the edge."""

    def __init__(self, original: BaseException):
        super().__init__(repr(original))
        self.original = original


@dataclass(frozen=True)
class _Ticket:
    """A one-use download URL (absolute) for one output file."""

    url: str
    filename: str
    size: int | None


class _HttpStatus:
    """Remembers the last HTTP error status seen on the MCP connection (the mcp transport
    turns them into generic JSON-RPC errors; 401/403/5xx need their own messages)."""

    def __init__(self) -> None:
        self.last_error: int | None = None

    async def hook(self, response: httpx2.Response) -> None:
        if response.request.method == "POST" and response.status_code >= 400:
            self.last_error = response.status_code


class _EventCursor:
    """Hands out each job event once. WanGP's snapshots carry only the newest `event_limit`
    events (a sliding window), so an index into the window drifts once older events fall out;
    events are ordered by their timestamps instead, ties counted."""

    def __init__(self) -> None:
        self._last_ts = -math.inf
        self._seen_at_last = 0

    def take_new(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        new: list[dict[str, Any]] = []
        same = 0
        for event in events:
            ts = _number(event.get("timestamp"), 0.0)
            if ts < self._last_ts:
                continue
            if ts == self._last_ts:
                same += 1
                if same <= self._seen_at_last:
                    continue
            new.append(event)
        if new:
            last = _number(new[-1].get("timestamp"), 0.0)
            ties = sum(1 for e in events if _number(e.get("timestamp"), 0.0) == last)
            self._last_ts, self._seen_at_last = last, ties
        return new


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
        tickets = self._sync(self._generate, settings, on_event, cancel, timeout_s)
        return [self._download(t, workdir, cancel) for t in _unique_names(tickets)]

    # --- the async side (runs inside anyio.run on the calling thread) ------------------------

    @asynccontextmanager
    async def _session(self) -> Any:
        """One MCP connection (initialize handshake, WanGP's mcp 1.x is a legacy server)."""
        status = _HttpStatus()
        timeout = httpx2.Timeout(self.read_s, connect=self.connect_s)
        http = httpx2.AsyncClient(
            timeout=timeout, headers=self._auth_headers(), event_hooks={"response": [status.hook]}
        )
        async with http:
            transport = streamable_http_client(self.url, http_client=http, terminate_on_close=False)
            client = Client(transport, mode="legacy", read_timeout_seconds=self.read_s, cache=None)
            try:
                async with client:
                    yield client
            except Exception as exc:
                exc.add_note(f"wangp-http-status={status.last_error}")
                raise

    async def _call(self, client: Client, tool: str, **arguments: Any) -> Any:
        """Calls one tool; returns its JSON value, raises _ToolFailed with WanGP's message."""
        result = await client.call_tool(tool, arguments)
        if result.is_error:
            raise _ToolFailed(tool, _result_text(result))
        return _result_value(result)

    async def _list_models(self) -> list[dict[str, Any]]:
        async with self._session() as client:
            return await self._model_pages(client)

    async def _model_pages(self, client: Client) -> list[dict[str, Any]]:
        """Pages through wangp_list_models; an older WanGP that ignores limit/offset answers
        everything at once, which ends the walk too."""
        records: dict[str, dict[str, Any]] = {}
        for page_no in range(MAX_MODEL_PAGES):
            page = await self._call(
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
    ) -> list[_Ticket]:
        async with self._session() as client:
            await self._check_model(client, settings.get("model_type"))
            snapshot = await self._submit(client, settings)
            job_id = str(snapshot.get("job_id") or "")
            if not job_id:
                raise PermanentBackendError(
                    "WanGP accepted the job but gave no job id; update WanGP.", **self._where()
                )
            result = await self._follow(client, job_id, snapshot, on_event, cancel, timeout_s)
            return await self._tickets(client, result)

    async def _check_model(self, client: Client, model_type: Any) -> None:
        """Refuses a model whose weights are not on disk before WanGP starts a download."""
        if not model_type:
            return
        try:
            record = await self._call(
                client, "wangp_get_model_availability", model_type=str(model_type)
            )
        except _ToolFailed as exc:
            if "unknown tool" in exc.text.lower():
                return  # a WanGP without the availability tool: let generation decide
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
            snapshot = await self._call(
                client, "wangp_generate", source=settings, wait=False, event_limit=EVENT_LIMIT
            )
        except _ToolFailed as exc:
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
        cursor = _EventCursor()
        last_news = time.monotonic()
        failures = 0
        while True:
            try:
                if self._report(cursor.take_new(_events(snapshot)), on_event):
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
            snapshot = await self._call(
                client, "wangp_get_job", job_id=job_id, event_limit=EVENT_LIMIT
            )
        except _ToolFailed as exc:
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
            converted = _convert_event(event)
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
                snapshot = await self._call(client, "wangp_cancel_job", job_id=job_id)
                deadline = time.monotonic() + CANCEL_GRACE_S
                while not (isinstance(snapshot, dict) and snapshot.get("done")):
                    if time.monotonic() > deadline:
                        return
                    await anyio.sleep(min(self.poll_s, 0.1))
                    snapshot = await self._call(
                        client, "wangp_get_job", job_id=job_id, event_limit=0
                    )
        except Exception:  # includes the fail_after timeout; cancellation still propagates
            return

    def _judge(self, result: dict[str, Any]) -> dict[str, Any]:
        """Raises for a failed or cancelled result; returns a successful one."""
        errors = [e for e in result.get("errors") or [] if isinstance(e, dict)]
        if result.get("cancelled") or (errors and all(e.get("cancelled") for e in errors)):
            raise JobCancelled("The job was cancelled in WanGP.")
        messages = [str(e.get("message") or "").strip() for e in errors]
        message = "; ".join(m for m in messages if m)
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

    async def _tickets(self, client: Client, result: dict[str, Any]) -> list[_Ticket]:
        """One-use download URLs for the job's gallery items."""
        items = [i for i in result.get("gallery_items") or [] if isinstance(i, dict)]
        files = list(result.get("generated_files") or [])
        if not items:
            if files:
                raise PermanentBackendError(
                    f"WanGP made {len(files)} file(s) but offered none for download (its gallery "
                    "downloads need the HTTP transport): start it with " + START_HINT + ".",
                    **self._where(),
                )
            raise PermanentBackendError(
                "WanGP finished the job without producing a file; look at WanGP's console.",
                **self._where(),
            )
        tickets = []
        for item in items:
            answer = await self._call(
                client, "wangp_create_gallery_download", media_id=str(item.get("media_id"))
            )
            if not isinstance(answer, dict) or not answer.get("download_url"):
                raise PermanentBackendError(
                    "WanGP gave no download URL for a finished file; update WanGP.",
                    **self._where(),
                )
            size = answer.get("size")
            tickets.append(
                _Ticket(
                    url=urljoin(self.url, str(answer["download_url"])),
                    filename=str(answer.get("filename") or item.get("filename") or ""),
                    size=size if isinstance(size, int) else None,
                )
            )
        return tickets

    # --- sync helpers (calling thread) -------------------------------------------------------

    def _sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Runs one coroutine function on a fresh event loop; translates what escapes."""
        try:
            return anyio.run(fn, *args)
        except Exception as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: BaseException) -> BaseException:
        """The one core error (or the caller's own exception) for whatever escaped."""
        leaves = list(_leaves(exc))
        for leaf in leaves:
            if isinstance(leaf, _CallbackFailed):
                return leaf.original
        for leaf in leaves:
            if isinstance(leaf, AppError):
                return leaf
        status = _noted_status(exc)
        leaf = next((x for x in leaves if isinstance(x, Exception)), exc)  # not cancellation
        if status in (401, 403):
            return PermanentBackendError(
                f"WanGP at {self.url} refused the request (HTTP {status}): set the right token "
                f"in the environment variable {self.config.token_env or '(none configured)'}.",
                status=status,
                **self._where(),
            )
        if isinstance(leaf, _ToolFailed):
            if looks_like_oom(leaf.text):
                return OutOfMemory(f"WanGP ran out of GPU memory: {leaf.text}", **self._where())
            return PermanentBackendError(
                f"WanGP refused {leaf.tool}: {leaf.text}. Check the settings and WanGP's version.",
                **self._where(),
            )
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
                f"WanGP at {self.url} answered with an error: {leaf.message}"
                + (f" (HTTP {status})" if status else "")
                + ". Check that the url points at WanGP's MCP server.",
                status=status,
                **self._where(),
            )
        return PermanentBackendError(
            f"Talking to WanGP at {self.url} failed: {type(leaf).__name__}: {leaf}. Check that "
            "the url points at WanGP's MCP server and that WanGP is up to date.",
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

    def _download(self, ticket: _Ticket, workdir: Path, cancel: threading.Event) -> Path:
        """Streams one output into workdir (via a .part file); the URL is used exactly once."""
        target = workdir / ticket.filename
        partial = target.with_name(target.name + ".part")
        headers = self._auth_headers() if _same_origin(ticket.url, self.url) else {}
        try:
            with requests.get(
                ticket.url, stream=True, headers=headers, timeout=(self.connect_s, self.read_s)
            ) as response:
                self._check_download_status(response.status_code, ticket)
                written = self._write_stream(response.iter_content(CHUNK), partial, cancel)
        except requests.RequestException as exc:
            partial.unlink(missing_ok=True)
            raise TransientBackendError(
                f"Downloading {ticket.filename} from WanGP at {self.url} failed ({exc}); "
                "the job will be retried.",
                **self._where(),
            ) from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        if ticket.size is not None and written != ticket.size:
            partial.unlink(missing_ok=True)
            raise TransientBackendError(
                f"The download of {ticket.filename} from WanGP stopped after {written} of "
                f"{ticket.size} bytes; the job will be retried.",
                **self._where(),
            )
        partial.replace(target)
        return target

    def _check_download_status(self, status: int, ticket: _Ticket) -> None:
        if status < 400:
            return
        if status == 404:
            raise PermanentBackendError(
                f"WanGP no longer offers {ticket.filename} (its download links work once and "
                "expire after 10 minutes); run the job again.",
                status=404,
                **self._where(),
            )
        error = TransientBackendError if status >= 500 else PermanentBackendError
        raise error(
            f"WanGP answered HTTP {status} to the download of {ticket.filename}; look at "
            "WanGP's console.",
            status=status,
            **self._where(),
        )

    @staticmethod
    def _write_stream(chunks: Iterator[bytes], partial: Path, cancel: threading.Event) -> int:
        written = 0
        with partial.open("wb") as out:
            for chunk in chunks:
                if cancel.is_set():
                    raise JobCancelled("The job was cancelled while its video was downloading.")
                out.write(chunk)
                written += len(chunk)
        return written

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


def _convert_event(event: dict[str, Any]) -> Event | None:
    """A WanGP job event as a Takeboard Progress/Preview; None for the kinds not shown."""
    kind, data = event.get("kind"), event.get("data")
    if kind == "progress" and isinstance(data, dict):
        return Progress(_fraction(data.get("progress")), _label(data))
    if kind == "preview" and isinstance(data, dict):
        return _preview(data.get("media"))
    return None


def _fraction(progress: Any) -> float | None:
    if isinstance(progress, bool) or not isinstance(progress, int | float):
        return None
    return max(0.0, min(1.0, float(progress) / 100.0))


def _label(data: dict[str, Any]) -> str:
    """Words from WanGP's phase: "Denoising 12/30", "Loading model"."""
    phase = str(data.get("phase") or "")
    words = PHASE_WORDS.get(phase) or str(data.get("raw_phase") or data.get("status") or phase)
    words = words or "Working"
    step, total = data.get("current_step"), data.get("total_steps")
    if isinstance(step, int) and isinstance(total, int) and total > 0:
        return f"{words} {step}/{total}"
    return words


def _preview(media: Any) -> Preview | None:
    """The image in a preview event's `media` (WanGP's PreviewMedia.to_dict: base64 `data`
    and `mime_type`). WanGP versions without it only say `has_image_preview`: no image."""
    if not isinstance(media, dict):
        return None
    mime = str(media.get("mime_type") or "")
    if not mime.startswith("image/") or not isinstance(media.get("data"), str):
        return None
    try:
        data = base64.b64decode(media["data"], validate=True)
    except (binascii.Error, ValueError):
        return None
    return Preview(data, mime) if data else None


def _events(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in snapshot.get("events") or [] if isinstance(e, dict)]


def _result_text(result: Any) -> str:
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    return " ".join(texts).strip() or "no message"


def _result_value(result: Any) -> Any:
    """A tool's JSON value: FastMCP puts a dict in structuredContent as is and wraps anything
    else as {"result": value}; without structured content each item is one JSON text block."""
    structured = result.structured_content
    if isinstance(structured, dict):
        if set(structured) == {"result"}:
            return structured["result"]
        return structured
    if structured is not None:
        return structured
    values = []
    for block in result.content:
        if isinstance(block, TextContent):
            try:
                values.append(json.loads(block.text))
            except ValueError:
                values.append(block.text)
    return values[0] if len(values) == 1 else values


def _model_entry(record: dict[str, Any]) -> dict[str, Any]:
    availability = record.get("availability")
    available = availability.get("available") if isinstance(availability, dict) else None
    model_type = str(record.get("model_type") or "")
    return {
        "model_type": model_type,
        "name": str(record.get("name") or model_type),
        "available": available if isinstance(available, bool) else None,
    }


def _unique_names(tickets: list[_Ticket]) -> list[_Ticket]:
    """Safe, distinct file names (a bare name; a counter for repeats)."""
    seen: set[str] = set()
    out = []
    for n, ticket in enumerate(tickets, start=1):
        name = re.sub(r"[^\w.\- ]", "_", Path(ticket.filename.replace("\\", "/")).name).strip()
        if not name or name.startswith("."):
            name = f"wangp_{n}.mp4"
        stem, suffix = Path(name).stem, Path(name).suffix
        candidate, k = name, 2
        while candidate.lower() in seen:
            candidate, k = f"{stem}_{k}{suffix}", k + 1
        seen.add(candidate.lower())
        out.append(_Ticket(ticket.url, candidate, ticket.size))
    return out


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _noted_status(exc: BaseException) -> int | None:
    """The HTTP error status _session noted on the exception (or an enclosing group)."""
    stack = [exc]
    while stack:
        current = stack.pop()
        for note in getattr(current, "__notes__", ()):
            match = re.fullmatch(r"wangp-http-status=(\d+)", note)
            if match:
                return int(match.group(1))
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
    return None


def _number(value: Any, default: float) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )
