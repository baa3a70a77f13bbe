"""ComfyUI client: HTTP with requests, live progress over websocket-client.

`ComfyClient.run()` submits one workflow and follows it to the end:

* the WebSocket is opened *before* the POST (a fresh clientId per run, `feature_flags` sent
  first so previews carry metadata); an old socket is closed before a new one is opened, so
  there are never two sockets for one clientId (ComfyUI would silence both);
* events for our prompt become small frozen dataclasses (`NodeStarted`, `Progress`,
  `Preview`, `Cached`) handed to `on_event`;
* when the socket cannot be opened or drops, `/history` and `/queue` are polled and the socket
  is reopened with the same clientId (so per-prompt events resume); `/history` is also polled
  now and then while the socket is up, because ComfyUI keeps no backlog and a socket can go
  deaf without any error (two sockets with one clientId);
* the result is read from `/history/{id}`: output files (video and animated files arrive under
  `images`), whether every output node came from the cache, and timings.

Errors (from core.errors; library exceptions never leave this module):

* not answering (refused, timeout, 502/503/504, socket gone and polls failing) or the prompt
  lost in a restart → TransientBackendError;
* rejected graph (400 with node_errors, or a 200 that still carries node_errors) and
  execution_error → PermanentBackendError naming node id, class and message; a CUDA/torch
  out-of-memory execution_error → OutOfMemory; 401/403 → PermanentBackendError;
* `cancel` set or the prompt interrupted → JobCancelled;
* no sign of progress for `timeout_s` → the prompt is interrupted and PermanentBackendError is
  raised: a server that stalls this long is stuck or the template's budget is too small, and
  retrying the same job would stall again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import mimetypes
import os
import ssl
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import websocket

from core.errors import (
    BackendError,
    InputError,
    JobCancelled,
    OutOfMemory,
    PermanentBackendError,
    TransientBackendError,
)

log = logging.getLogger(__name__)

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
VIDEO_EXTS = {".mp4", ".webm", ".mov", ".mkv", ".avi", ".m4v"}
AUDIO_EXTS = {".flac", ".mp3", ".opus", ".ogg", ".wav", ".m4a", ".aac"}
MODEL_EXTS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx")
FILE_KEYS = {"images", "gifs", "audio", "video", "videos"}
PREVIEW_FORMATS = {1: "image/jpeg", 2: "image/png"}
MAX_POLL_FAILURES = 3
LOST: dict[str, Any] = {}  # neither queued, running nor in history: gone with a restart


# --- what run() reports --------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """A progress step; `fraction` is over the whole prompt (finished nodes + this one's part)."""

    value: int
    max: int
    node: str
    fraction: float


@dataclass(frozen=True)
class Preview:
    data: bytes
    mime: str


@dataclass(frozen=True)
class Accepted:
    """The server queued the prompt (POST /prompt answered 200 without node errors)."""

    prompt_id: str


@dataclass(frozen=True)
class NodeStarted:
    node: str
    class_type: str


@dataclass(frozen=True)
class Cached:
    nodes: tuple[str, ...]


Event = Accepted | Progress | Preview | NodeStarted | Cached


@dataclass(frozen=True)
class OutputFile:
    node_id: str
    filename: str
    subfolder: str
    type: str  # output | temp | input, or "text" for a PreviewAny-style text output
    media: str  # image | video | audio | text
    animated: bool = False
    text: str | None = None


@dataclass(frozen=True)
class RunResult:
    prompt_id: str
    outputs: list[OutputFile]
    cached: bool  # every output node was served from ComfyUI's cache (old files, none new)
    timings: dict[str, float | None]  # queued / started / finished, epoch seconds
    preview: Preview | None = None  # the last live preview


# --- the client ----------------------------------------------------------------------------


class ComfyClient:
    kind = "comfyui"
    poll_interval = 0.5  # seconds between /history polls while the socket is down
    safety_poll_interval = 5.0  # … and while it is up
    reconnect_interval = 1.0
    recv_timeout = 0.2  # how often run() looks at `cancel`

    def __init__(
        self,
        url: str,
        *,
        name: str = "",
        token: str | None = None,
        verify_tls: bool = True,
        connect_timeout: float = 5,
        read_timeout: float = 30,
        shown_url: str | None = None,
    ):
        self.url = url.rstrip("/")
        self.shown_url = shown_url or self.url  # in messages, logs and records (may be masked)
        self.name = name or urlsplit(self.shown_url).netloc or self.shown_url
        self.token = token
        self.verify_tls = verify_tls
        self.connect_timeout = connect_timeout
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        # Read proxy and CA-bundle settings from the environment once, not on every request
        # (requests re-scans os.environ and stats ~/.netrc per call: ~2 ms a job, bench/).
        self.session.trust_env = False
        self.session.proxies.update(requests.utils.get_environ_proxies(self.url))
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self.session.verify = (ca_bundle or True) if verify_tls else False
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self._object_info: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    # --- simple endpoints ------------------------------------------------------------------

    def system_stats(self) -> dict[str, Any]:
        return self._request("GET", "/system_stats")

    def object_info(self, refresh: bool = False) -> dict[str, Any]:
        """Every node class the server knows (fetched once per client)."""
        with self._lock:
            if self._object_info is None or refresh:
                self._object_info = self._request("GET", "/object_info")
            return self._object_info

    def queue(self) -> dict[str, Any]:
        return self._request("GET", "/queue")

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The finished prompt's history entry; None while pending, running or unknown."""
        body = self._request("GET", f"/history/{quote(prompt_id, safe='')}")
        return body.get(prompt_id) or None

    def attach(
        self,
        prompt_id: str,
        *,
        cancel: threading.Event | None = None,
        timeout_s: float = 600,
    ) -> RunResult | None:
        """Follow a prompt submitted earlier (maybe by a run that crashed) by polling.

        None when the server does not know it (lost in a restart: submit it again); else
        waits for it to end and returns its result, raising as run() does."""
        deadline = time.monotonic() + timeout_s
        while True:
            entry = self.history(prompt_id)
            if entry is None and not self._queued(prompt_id):
                entry = self.history(prompt_id)  # it may have finished between the two calls
                if entry is None:
                    return None
            if entry is not None:
                return self._outcome(prompt_id, entry)
            if cancel is not None and cancel.is_set():
                self._cancel_remote(prompt_id)
                raise JobCancelled(f"cancelled; the prompt was stopped on {self.name}")
            if time.monotonic() > deadline:
                self._cancel_remote(prompt_id)
                raise self._error(
                    PermanentBackendError,
                    f"no progress for {timeout_s:.0f} s on "
                    f"{self.name} — the prompt was interrupted",
                )
            time.sleep(self.poll_interval)

    def _queued(self, prompt_id: str) -> bool:
        queue = self.queue()
        items = queue.get("queue_running", []) + queue.get("queue_pending", [])
        return any(len(item) > 1 and item[1] == prompt_id for item in items)

    def _outcome(self, prompt_id: str, entry: dict[str, Any]) -> RunResult:
        status = entry.get("status") or {}
        messages = dict((m[0], m[1]) for m in status.get("messages", []) if m)
        if "execution_interrupted" in messages:
            raise JobCancelled(f"the prompt was interrupted on {self.name}")
        if status.get("status_str", "success") != "success":
            raise _execution_error(self, messages.get("execution_error") or {})
        timings = {
            "queued": None,
            "started": _seconds(messages.get("execution_start")),
            "finished": _seconds(messages.get("execution_success")),
        }
        return RunResult(prompt_id, parse_outputs(entry.get("outputs") or {}), False, timings)

    def interrupt(self, prompt_id: str) -> None:
        """Stop `prompt_id` if it is the one running (a no-op otherwise)."""
        self._request("POST", "/interrupt", json={"prompt_id": prompt_id}, parse=False)

    def dequeue(self, prompt_id: str) -> None:
        """Remove `prompt_id` from the pending queue (a no-op once it runs)."""
        self._request("POST", "/queue", json={"delete": [prompt_id]}, parse=False)

    def delete_history(self, prompt_id: str) -> None:
        self._request("POST", "/history", json={"delete": [prompt_id]}, parse=False)

    def free(self, *, unload_models: bool = True, free_memory: bool = True) -> None:
        """Unload models and empty the node cache (after the running prompt)."""
        body = {"unload_models": unload_models, "free_memory": free_memory}
        self._request("POST", "/free", json=body, parse=False)

    def upload_image(self, path: Path | str, *, subfolder: str = "") -> str:
        """Upload a file to the input folder; returns the value for LoadImage's `image`.

        Same name + same bytes reuses the file; same name + other bytes gets `name (1).ext`,
        so always use the returned name.
        """
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror} — fix the path") from exc
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        files = {"image": (path.name, data, mime)}
        body = self._request("POST", "/upload/image", files=files, data={"subfolder": subfolder})
        name, folder = body["name"], body.get("subfolder") or ""
        return f"{folder}/{name}" if folder else name

    # --- files -----------------------------------------------------------------------------

    def stream(self, output: OutputFile, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        """The bytes of an output file from /view, in chunks."""
        if output.media == "text":
            yield (output.text or "").encode()
            return
        params = {"filename": output.filename, "subfolder": output.subfolder, "type": output.type}
        response = self._send("GET", "/view", params=params, stream=True)
        with response:
            if response.status_code == 404:
                raise self._error(
                    PermanentBackendError,
                    f"{output.filename} is no longer on {self.name} (temp files are deleted "
                    "when ComfyUI restarts) — run the job again",
                    status=404,
                )
            self._check(response, "/view")
            try:
                yield from response.iter_content(chunk_size)
            except requests.RequestException as exc:
                msg = f"the download of {output.filename} from {self.name} broke off — retry"
                raise self._error(TransientBackendError, msg, detail=str(exc)) from exc

    # --- workflows -------------------------------------------------------------------------

    def validate(self, workflow: dict[str, Any]) -> None:
        """Check node types and model files against object_info before submitting."""
        info = self.object_info()
        problems = [
            problem
            for node_id, node in workflow.items()
            for problem in _node_problems(node_id, node, info)
        ]
        if problems:
            msg = f"the workflow cannot run on {self.name}: " + "; ".join(problems)
            raise self._error(PermanentBackendError, msg, detail=problems)

    def run(
        self,
        workflow: dict[str, Any],
        *,
        prompt_id: str | None = None,
        on_event: Callable[[Event], None] | None = None,
        cancel: threading.Event | None = None,
        timeout_s: float = 600,
        extra_pnginfo: dict[str, Any] | None = None,
    ) -> RunResult:
        """Submit `workflow` and follow it to the end (see the module docstring).

        `prompt_id` must be unique (ComfyUI does not check; a reused id would find the old
        history entry); a random one is used when not given.
        """
        self.validate(workflow)
        job = _Job(
            self,
            workflow,
            prompt_id or uuid.uuid4().hex,
            on_event or (lambda event: None),
            cancel or threading.Event(),
            timeout_s,
        )
        return job.run(extra_pnginfo)

    # --- plumbing --------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, parse: bool = True, **kwargs: Any
    ) -> dict[str, Any]:
        response = self._send(method, path, **kwargs)
        self._check(response, path)
        return self._json(response, path) if parse else {}

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.exceptions.SSLError as exc:
            msg = (
                f"TLS check failed for ComfyUI at {self.shown_url} — fix the certificate or turn "
                "off TLS verification for this server in Settings"
            )
            raise self._error(PermanentBackendError, msg, detail=str(exc)) from exc
        except requests.Timeout as exc:
            msg = (
                f"ComfyUI at {self.shown_url} did not answer in time — it may be overloaded; retry"
            )
            raise self._error(TransientBackendError, msg, detail=str(exc)) from exc
        except requests.RequestException as exc:
            raise self._unreachable(str(exc)) from exc

    def _check(self, response: requests.Response, path: str) -> None:
        status = response.status_code
        if status < 400:
            return
        if status in (502, 503, 504):
            raise self._unreachable(f"{status} from {path}", status)
        if status == 500:
            # ComfyUI answers 500 to an unhandled exception; the one deterministic cause in the
            # traces is malformed JSON, which this client never sends. So it is a server or
            # proxy hiccup: retried (a bounded number of times, never twice for one prompt_id).
            msg = f"ComfyUI at {self.shown_url} had an internal error on {path} — retrying"
            raise self._error(TransientBackendError, msg, status=status)
        if status in (401, 403):
            refused = _refused(self.shown_url, status)
            raise self._error(PermanentBackendError, refused, status=status)
        msg = f"ComfyUI at {self.shown_url} answered {status} to {path}: {response.text[:200]!r}"
        raise self._error(PermanentBackendError, msg, status=status)

    def _json(self, response: requests.Response, path: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            msg = f"{self.shown_url}{path} did not answer with JSON — is this the URL of a ComfyUI?"
            raise self._error(PermanentBackendError, msg, status=response.status_code) from exc
        if not isinstance(body, dict | list):
            msg = f"unexpected answer from {self.shown_url}{path}"
            raise self._error(PermanentBackendError, msg)
        return body

    def _unreachable(self, detail: str, status: int | None = None) -> TransientBackendError:
        msg = (
            f"ComfyUI at {self.shown_url} is not answering — start it or change the URL in Settings"
        )
        return self._error(TransientBackendError, msg, status=status, detail=detail)

    def _error(
        self, kind: type[BackendError], message: str, *, status: int | None = None, detail=None
    ) -> Any:
        return kind(message, backend=self.name, url=self.shown_url, status=status, detail=detail)

    def _cancel_remote(self, prompt_id: str) -> None:
        """Best effort: drop it from the queue, and interrupt it if it already runs."""
        with contextlib.suppress(BackendError):
            self.dequeue(prompt_id)
            self.interrupt(prompt_id)


# --- one run -------------------------------------------------------------------------------


class _Job:
    def __init__(
        self,
        client: ComfyClient,
        workflow: dict[str, Any],
        prompt_id: str,
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        timeout_s: float,
    ):
        self.client = client
        self.workflow = workflow
        self.prompt_id = prompt_id
        self.client_id = uuid.uuid4().hex
        self.on_event = on_event
        self.cancel = cancel
        self.timeout_s = timeout_s
        self.tracker = _Tracker(workflow, prompt_id)
        self.socket: websocket.WebSocket | None = None
        self.last_activity = time.monotonic()
        self.next_poll = time.monotonic() + client.safety_poll_interval
        self.next_connect = 0.0
        self.poll_failures = 0
        self.last_seen: tuple[Any, ...] = ()

    def run(self, extra_pnginfo: dict[str, Any] | None) -> RunResult:
        self._connect()
        try:
            queued = time.time()
            self._submit(extra_pnginfo)
            entry = self._follow()
            return self.tracker.result(entry, queued, self.client.object_info())
        finally:
            self._disconnect()

    # --- submit ----------------------------------------------------------------------------

    def _submit(self, extra_pnginfo: dict[str, Any] | None) -> None:
        body: dict[str, Any] = {
            "prompt": self.workflow,
            "client_id": self.client_id,
            "prompt_id": self.prompt_id,
        }
        if extra_pnginfo:
            body["extra_data"] = {"extra_pnginfo": extra_pnginfo}
        response = self.client._send("POST", "/prompt", json=body)
        if response.status_code == 400:
            self._rejected(self.client._json(response, "/prompt"), partial=False)
        self.client._check(response, "/prompt")
        answer = self.client._json(response, "/prompt")
        if answer.get("node_errors"):
            self.client._cancel_remote(self.prompt_id)
            self._rejected(answer, partial=True)
        self.on_event(Accepted(self.prompt_id))

    def _rejected(self, body: dict[str, Any], partial: bool) -> None:
        how = "accepted only part of" if partial else "rejected"
        reasons = _describe_rejection(body, self.workflow)
        msg = f"ComfyUI at {self.client.shown_url} {how} the workflow: {reasons}"
        raise self.client._error(PermanentBackendError, msg, status=400, detail=body)

    # --- follow ----------------------------------------------------------------------------

    def _follow(self) -> dict[str, Any]:
        """Until the prompt ends; returns its history entry (or one built from the socket)."""
        while True:
            self._check_cancel()
            self._check_stall()
            if self.socket is not None:
                self._read_socket()
            else:
                self._reconnect_or_wait()
            if self.tracker.finished:
                return self._finished(self._await_history())
            if time.monotonic() >= self.next_poll:
                entry = self._poll()
                if entry is not None:
                    return entry

    def _read_socket(self) -> None:
        assert self.socket is not None
        try:
            opcode, data = self.socket.recv_data()
        except websocket.WebSocketTimeoutException:
            return
        except (websocket.WebSocketException, OSError) as exc:
            self._socket_lost(repr(exc))
            return
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self._socket_lost("closed by the server")
            return
        self.last_activity = time.monotonic()
        for event in self.tracker.on_frame(opcode, data):
            self.on_event(event)
        self._raise_terminal_error()

    def _raise_terminal_error(self) -> None:
        kind, data = self.tracker.failure or (None, None)
        if kind == "execution_error":
            raise _execution_error(self.client, data)
        if kind == "execution_interrupted":
            raise JobCancelled(f"the prompt was interrupted on {self.client.name}")

    def _await_history(self) -> dict[str, Any]:
        """History is written just after execution_success; wait a moment for it."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            entry = self.client.history(self.prompt_id)
            if entry is not None:
                return entry
            time.sleep(0.05)
        return self.tracker.entry()

    def _poll(self) -> dict[str, Any] | None:
        """One look at /history and /queue; the entry when finished, else None."""
        interval = self.client.poll_interval if self.socket is None else None
        self.next_poll = time.monotonic() + (interval or self.client.safety_poll_interval)
        try:
            entry = self.client.history(self.prompt_id) or self._entry_unless_queued()
        except TransientBackendError:
            self.poll_failures += 1
            if self.socket is None and self.poll_failures >= MAX_POLL_FAILURES:
                raise
            return None
        self.poll_failures = 0
        if entry is LOST:
            msg = (
                f"the prompt disappeared from {self.client.name} (ComfyUI restarted?) — "
                "it can be submitted again"
            )
            raise self.client._error(TransientBackendError, msg, detail=self.prompt_id)
        return None if entry is None else self._finished(entry)

    def _finished(self, entry: dict[str, Any]) -> dict[str, Any]:
        """The entry of a prompt that ended; raises when it ended badly."""
        self.tracker.finish_from_history(entry)
        self._raise_terminal_error()
        return entry

    def _entry_unless_queued(self) -> dict[str, Any] | None:
        """None while queued or running; else the entry (it may have just finished) or LOST."""
        queue = self.client.queue()
        running = [item[1] for item in queue.get("queue_running", [])]
        pending = sorted((item[0], item[1]) for item in queue.get("queue_pending", []))
        position = next((i for i, (_, pid) in enumerate(pending) if pid == self.prompt_id), None)
        seen = (self.prompt_id in running, position, len(running) + len(pending))
        if seen != self.last_seen:
            self.last_seen, self.last_activity = seen, time.monotonic()
        if self.prompt_id in running or position is not None:
            return None
        return self.client.history(self.prompt_id) or LOST

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            self.client._cancel_remote(self.prompt_id)
            raise JobCancelled(f"cancelled; the prompt was removed from {self.client.name}")

    def _check_stall(self) -> None:
        if time.monotonic() - self.last_activity <= self.timeout_s:
            return
        self.client._cancel_remote(self.prompt_id)
        msg = (
            f"no progress for {self.timeout_s:g} s from {self.client.name} — the prompt was "
            "interrupted; the server may be stuck (see its console) or the template needs a "
            "larger timeout_s"
        )
        raise self.client._error(PermanentBackendError, msg)

    # --- socket ----------------------------------------------------------------------------

    def _connect(self) -> None:
        """Open the socket (closing any old one first); on failure, poll instead."""
        self._disconnect()
        self.next_connect = time.monotonic() + self.client.reconnect_interval
        try:
            self.socket = websocket.create_connection(
                _ws_url(self.client.url, self.client_id),
                timeout=self.client.connect_timeout,
                header=self._ws_headers(),
                sslopt=None if self.client.verify_tls else {"cert_reqs": ssl.CERT_NONE},
                # websocket-client checks UTF-8 in pure Python (~10 ms a job, bench/RESULTS.md);
                # text frames are decoded and parsed as JSON anyway, which rejects bad bytes.
                skip_utf8_validation=True,
            )
            flags = {"type": "feature_flags", "data": {"supports_preview_metadata": True}}
            self.socket.send(json.dumps(flags))
            self.socket.settimeout(self.client.recv_timeout)
        except (websocket.WebSocketException, OSError) as exc:
            log.info("no WebSocket to %s (%r); polling /history", self.client.shown_url, exc)
            self._disconnect()
            self.next_poll = min(self.next_poll, time.monotonic() + self.client.poll_interval)

    def _ws_headers(self) -> list[str]:
        return [f"Authorization: Bearer {self.client.token}"] if self.client.token else []

    def _disconnect(self) -> None:
        if self.socket is not None:
            with contextlib.suppress(websocket.WebSocketException, OSError):
                self.socket.close(timeout=1)
        self.socket = None

    def _socket_lost(self, why: str) -> None:
        log.info("WebSocket to %s lost (%s); polling /history", self.client.shown_url, why)
        self._disconnect()
        self.next_poll = 0.0
        self.next_connect = time.monotonic() + self.client.reconnect_interval

    def _reconnect_or_wait(self) -> None:
        if time.monotonic() >= self.next_connect:
            self._connect()
            if self.socket is not None:
                self.next_poll = 0.0  # catch up on what the gap swallowed
                return
        wait = min(self.next_poll, self.next_connect) - time.monotonic()
        self.cancel.wait(max(0.0, min(wait, self.client.recv_timeout)))


# --- bookkeeping for one prompt ------------------------------------------------------------


class _Tracker:
    """Turns socket frames about one prompt into events and remembers what they said."""

    def __init__(self, workflow: dict[str, Any], prompt_id: str):
        self.workflow = workflow
        self.prompt_id = prompt_id
        self.cached: tuple[str, ...] = ()
        self.done: set[str] = set()
        self.current: str | None = None
        self.outputs: dict[str, Any] = {}
        self.messages: list[list[Any]] = []
        self.preview: Preview | None = None
        self.finished = False  # the socket said it is over: read the history
        self.failure: tuple[str, dict[str, Any]] | None = None

    def on_frame(self, opcode: int, data: bytes | str) -> list[Event]:
        if opcode == websocket.ABNF.OPCODE_BINARY:
            preview = self._preview(bytes(data))
            return [preview] if preview else []
        try:
            message = json.loads(data)
        except ValueError:
            return []
        if not isinstance(message, dict) or not isinstance(message.get("data"), dict):
            return []
        body = message["data"]
        if body.get("prompt_id", self.prompt_id) != self.prompt_id:
            return []
        handler = getattr(self, f"_on_{message.get('type')}", None)
        return handler(body) if handler else []

    def _on_execution_start(self, data: dict[str, Any]) -> list[Event]:
        self.messages.append(["execution_start", data])
        return []

    def _on_execution_cached(self, data: dict[str, Any]) -> list[Event]:
        self.messages.append(["execution_cached", data])
        self.cached = tuple(data.get("nodes", []))
        return [Cached(self.cached)]

    def _on_executing(self, data: dict[str, Any]) -> list[Event]:
        node = data.get("node")
        if self.current is not None:
            self.done.add(self.current)
        self.current = node
        if node is None:  # the end; `executing` null follows the terminal message
            self.finished = True
            return []
        class_type = str(self.workflow.get(node, {}).get("class_type", ""))
        return [NodeStarted(node, class_type), Progress(0, 1, node, self._fraction(0.0))]

    def _on_progress(self, data: dict[str, Any]) -> list[Event]:
        value, total = int(data.get("value", 0)), int(data.get("max", 1)) or 1
        node = str(data.get("node", self.current or ""))
        return [Progress(value, total, node, self._fraction(value / total))]

    def _on_executed(self, data: dict[str, Any]) -> list[Event]:
        if data.get("output"):
            self.outputs[str(data.get("node"))] = data["output"]
        return []

    def _on_execution_success(self, data: dict[str, Any]) -> list[Event]:
        self.messages.append(["execution_success", data])
        self.finished = True
        return []

    def _on_execution_error(self, data: dict[str, Any]) -> list[Event]:
        self.failure = ("execution_error", data)
        return []

    def _on_execution_interrupted(self, data: dict[str, Any]) -> list[Event]:
        self.failure = ("execution_interrupted", data)
        return []

    def _preview(self, frame: bytes) -> Preview | None:
        if len(frame) < 8:
            return None
        event, second = struct.unpack(">II", frame[:8])
        if event == 1:
            self.preview = Preview(frame[8:], PREVIEW_FORMATS.get(second, "image/jpeg"))
        elif event == 4:
            try:
                meta = json.loads(frame[8 : 8 + second])
            except ValueError:
                return None
            if meta.get("prompt_id", self.prompt_id) != self.prompt_id:
                return None
            self.preview = Preview(frame[8 + second :], meta.get("image_type", "image/png"))
        else:
            return None
        return self.preview

    def _fraction(self, part: float) -> float:
        total = max(len(self.workflow) - len(self.cached), 1)
        return min((len(self.done) + part) / total, 1.0)

    def finish_from_history(self, entry: dict[str, Any]) -> None:
        """Take the outcome from a history entry (the socket may have missed it)."""
        status = entry.get("status") or {}
        last = (status.get("messages") or [[None, {}]])[-1]
        if status.get("status_str", "success") == "success":
            return
        if last[0] in ("execution_error", "execution_interrupted"):
            self.failure = (last[0], last[1])
        else:
            self.failure = ("execution_error", {"exception_message": "the prompt failed"})

    def entry(self) -> dict[str, Any]:
        """A history-shaped entry from what the socket said (history could not be read)."""
        return {"outputs": self.outputs, "status": {"messages": self.messages}}

    def result(self, entry: dict[str, Any], queued: float, info: dict[str, Any]) -> RunResult:
        messages = dict((m[0], m[1]) for m in (entry.get("status") or {}).get("messages", []))
        cached_nodes = messages.get("execution_cached", {}).get("nodes", self.cached)
        prompt = entry.get("prompt")
        outputs = prompt[4] if isinstance(prompt, list) and len(prompt) > 4 else None
        if outputs is None:
            outputs = [n for n, node in self.workflow.items() if _is_output(node, info)]
        timings = {
            "queued": queued,
            "started": _seconds(messages.get("execution_start")),
            "finished": _seconds(messages.get("execution_success")) or time.time(),
        }
        return RunResult(
            self.prompt_id,
            parse_outputs(entry.get("outputs") or {}),
            bool(outputs) and all(node in cached_nodes for node in outputs),
            timings,
            self.preview,
        )


# --- helpers -------------------------------------------------------------------------------


def parse_outputs(outputs: dict[str, Any]) -> list[OutputFile]:
    """History `outputs` → files (and texts); the media kind comes from the file extension."""
    files = []
    for node_id, ui in outputs.items():
        animated = any(ui.get("animated") or [])
        for key, items in ui.items():
            if key == "text":
                files += [OutputFile(node_id, "", "", "text", "text", text=str(t)) for t in items]
            elif key in FILE_KEYS:
                files += [_output_file(node_id, key, item, animated) for item in items]
    return files


def _output_file(node_id: str, key: str, item: dict[str, Any], animated: bool) -> OutputFile:
    filename = str(item.get("filename", ""))
    media = _media(filename, key)
    return OutputFile(
        node_id,
        filename,
        str(item.get("subfolder", "")),
        str(item.get("type", "output")),
        media,
        animated=media == "video" or (media == "image" and animated),
    )


def _media(filename: str, key: str) -> str:
    ext = Path(filename).suffix.lower()
    if ext in VIDEO_EXTS:
        return "video"
    if ext in AUDIO_EXTS:
        return "audio"
    if ext in IMAGE_EXTS:
        return "image"
    return {"audio": "audio", "gifs": "video", "video": "video", "videos": "video"}.get(
        key, "image"
    )


def _seconds(data: dict[str, Any] | None) -> float | None:
    if not data or "timestamp" not in data:
        return None
    return data["timestamp"] / 1000


def _is_output(node: dict[str, Any], info: dict[str, Any]) -> bool:
    return bool(info.get(node.get("class_type"), {}).get("output_node"))


def _ws_url(base: str, client_id: str) -> str:
    scheme, rest = base.split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws?clientId={client_id}"


def _refused(url: str, status: int) -> str:
    if status == 401:
        return f"ComfyUI at {url} refused the request (401) — check the access token in Settings"
    return (
        f"ComfyUI at {url} refused the request (403) — check the access token in Settings; "
        "ComfyUI itself answers 403 when an Origin header does not match its host"
    )


def _node_problems(node_id: str, node: Any, info: dict[str, Any]) -> list[str]:
    if not isinstance(node, dict) or "class_type" not in node:
        return [f"node {node_id} has no class_type"]
    class_type = node["class_type"]
    if class_type not in info:
        return [
            f"node {node_id} ({class_type}): node type {class_type} is not installed — "
            "install the custom node or pick another template"
        ]
    inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
    problems = []
    for name, value in inputs.items():
        options = _combo_options(info[class_type], name)
        if _missing_model(value, options):
            have = ", ".join(options[:8]) if options else "none"
            problems.append(
                f"node {node_id} ({class_type}): model file {value!r} ({name}) is not on the "
                f"server (it has: {have})"
            )
    return problems


def _combo_options(node_info: dict[str, Any], name: str) -> list[str] | None:
    sections = node_info.get("input", {})
    spec = sections.get("required", {}).get(name) or sections.get("optional", {}).get(name)
    if not isinstance(spec, list) or not spec:
        return None
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO" and len(spec) > 1:
        return spec[1].get("options", [])
    return None


def _missing_model(value: Any, options: list[str] | None) -> bool:
    return (
        options is not None
        and isinstance(value, str)
        and value.lower().endswith(MODEL_EXTS)
        and value not in options
    )


def _describe_rejection(body: dict[str, Any], workflow: dict[str, Any]) -> str:
    """ "node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name: 'x' not in [...]"."""
    parts = []
    for node_id, entry in (body.get("node_errors") or {}).items():
        class_type = entry.get("class_type") or workflow.get(node_id, {}).get("class_type", "?")
        for err in entry.get("errors", []):
            text = err.get("message", "invalid")
            if err.get("details"):
                text += f": {err['details']}"
            parts.append(f"node {node_id} ({class_type}): {text}")
    if parts:
        return "; ".join(parts)
    error = body.get("error") or {}
    if isinstance(error, str):
        return error
    details = f" ({error['details']})" if error.get("details") else ""
    return f"{error.get('message', 'invalid prompt')}{details}"


def _execution_error(client: ComfyClient, data: dict[str, Any]) -> BackendError:
    node, node_type = data.get("node_id"), data.get("node_type")
    exception_type = str(data.get("exception_type", ""))
    message = str(data.get("exception_message", "")).strip()
    if _is_oom(exception_type, message):
        msg = (
            f"{client.name} ran out of GPU memory in node {node} ({node_type}) — try a lower "
            f"quality tier or free VRAM: {message}"
        )
        return client._error(OutOfMemory, msg, detail=data)
    msg = f"node {node} ({node_type}) failed on {client.name}: {exception_type}: {message}"
    return client._error(PermanentBackendError, msg, detail=data)


def _is_oom(exception_type: str, message: str) -> bool:
    lowered = message.lower()
    return (
        "OutOfMemoryError" in exception_type
        or "out of memory" in lowered
        or "allocation on device" in lowered
    )
