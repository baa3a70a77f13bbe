"""ComfyUI client: HTTP with requests, live progress over websocket-client.

`ComfyClient.run()` submits one workflow and follows it to the end (run.py); `attach()` follows
a prompt submitted earlier (after a crash or a dropped connection). Servers old and new share
one client: what a server supports is detected once (features.py) and decides the path —
the Jobs API (`/api/jobs/{id}`, its cancel) where it answers, else `/history` + `/queue` +
`/interrupt`. Prompt ids are canonical UUIDs: current servers refuse anything else
(comfy_execution/jobs.py@172be438 validate_job_id).

Errors (from core.errors; library exceptions never leave this package):
* not answering (refused, timeout), 5xx after in-place retries, or the prompt lost in a
  restart → TransientBackendError;
* rejected graph (400 with node_errors or `missing_node_type`, or a 200 that still carries
  node_errors), execution_error, a malformed answer → PermanentBackendError naming node id,
  class and what to do; a CUDA/torch out-of-memory execution_error → OutOfMemory;
  401/403 → PermanentBackendError;
* `cancel` set or the prompt interrupted → JobCancelled;
* no sign of progress for `timeout_s` → the prompt is cancelled and PermanentBackendError raised.
Threads: one client serves several worker threads (a running and a parked job); the caches
are guarded by a lock.
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar, TypeVarTuple, Unpack
from urllib.parse import quote, urlsplit

import requests

from core.config import ServerConfig, TimeoutConfig
from core.errors import InputError, NotRunnableHere, PermanentBackendError, TransientBackendError
from core.json_types import JsonObject
from executors.object_info import missing_parts

from .answers import (
    JobState,
    MalformedAnswer,
    Outcome,
    QueueState,
    history_outcome,
    job_state,
    queue_state,
)
from .events import Event, OutputFile, RunResult
from .features import ServerFeatures, detect
from .http import Http, RequestOptions
from .run import Job, new_prompt_id

T = TypeVar("T")
Args = TypeVarTuple("Args")
MEDIA_MIME_PREFIXES = ("image/", "video/", "audio/", "application/octet-stream")


class ComfyClient:
    kind = "comfyui"
    poll_interval = 0.5  # seconds between polls while the socket is down
    safety_poll_interval = 5.0  # … and while it is up
    reconnect_interval = 1.0
    recv_timeout = 0.2  # how often run() looks at `cancel`
    record_wait_s = 10.0  # how long a finished prompt's record may lag its end (ComfyUI #11540)

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
        preview_method: str = "auto",
        keep_history: bool = True,
    ):
        self.url = url.rstrip("/")
        self.shown_url = shown_url or self.url  # in messages, logs and records (may be masked)
        self.name = name or urlsplit(self.shown_url).netloc or self.shown_url
        self.token = token
        self.verify_tls = verify_tls
        self.connect_timeout = connect_timeout
        self.preview_method = preview_method
        self.keep_history = keep_history  # False: delete a prompt's history once harvested
        self.http = Http(
            self.url,
            name=self.name,
            shown_url=self.shown_url,
            token=token,
            verify_tls=verify_tls,
            timeout=(connect_timeout, read_timeout),
        )
        self._object_info: JsonObject | None = None
        self._features: ServerFeatures | None = None
        self._replacements: JsonObject | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_server(cls, server: ServerConfig, timeouts: TimeoutConfig) -> ComfyClient:
        """The client of a configured server (its token read from its environment variable)."""
        return cls(
            server.url,
            name=server.name,
            token=server.token(),
            verify_tls=server.verify_tls,
            preview_method=server.preview_method,
            keep_history=server.keep_history,
            connect_timeout=timeouts.connect_s,
            read_timeout=timeouts.read_s,
            shown_url=server.shown_url(),
        )

    @property
    def session(self) -> requests.Session:
        return self.http.session

    def close(self) -> None:
        self.http.close()

    # --- what the server is ----------------------------------------------------------------

    def system_stats(self) -> JsonObject:
        return self._object("/system_stats")

    def features(self) -> ServerFeatures:
        """What this server supports (asked once; `forget()` asks again)."""
        with self._lock:
            if self._features is None:
                self._features = detect(self.http, self.system_stats())
            return self._features

    def object_info(self, refresh: bool = False) -> JsonObject:
        """Every node class the server knows (fetched once per client)."""
        with self._lock:
            if self._object_info is None or refresh:
                self._object_info = self._object("/object_info")
            return self._object_info

    def node_replacements(self) -> JsonObject:
        """`GET /node_replacements` (old class → its replacements), which the server applies
        before it validates a prompt; {} where the server has none (fetched once per client)."""
        if not self.features().node_replacements:
            return {}
        with self._lock:
            if self._replacements is None:
                self._replacements = self._object("/node_replacements")
            return self._replacements

    def forget(self) -> None:
        """The server came back after being away: it may be another version now."""
        with self._lock:
            self._object_info = self._features = self._replacements = None

    # --- where a prompt is -----------------------------------------------------------------

    def queue(self) -> JsonObject:
        """The raw `/queue` answer (checked for shape)."""
        body = self._object("/queue")
        self._parsed("/queue", queue_state, body)
        return body

    def queue_state(self) -> QueueState:
        return self._parsed("/queue", queue_state, self._object("/queue"))

    def history(self, prompt_id: str) -> JsonObject | None:
        """The finished prompt's raw history entry; None while pending, running or unknown."""
        body = self._object(f"/history/{quote(prompt_id, safe='')}")
        self._parsed("/history", history_outcome, body, prompt_id)
        return body.get(prompt_id) or None

    def lookup(self, prompt_id: str) -> JobState | None:
        """Where the prompt is: pending, in progress or ended (with its outcome); None when
        the server does not know it."""
        if self.features().jobs:
            return self._job(prompt_id)
        outcome = self._outcome(prompt_id)
        if outcome is not None:
            return _ended(outcome)
        queue = self.queue_state()
        if prompt_id in queue.running:
            return JobState("in_progress", None, 0)
        if prompt_id in queue.pending:
            return JobState("pending", None, queue.pending.index(prompt_id) + len(queue.running))
        outcome = self._outcome(prompt_id)  # it may have ended between the two reads
        return None if outcome is None else _ended(outcome)

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
        job = Job(self, {}, prompt_id, lambda event: None, cancel or threading.Event(), timeout_s)
        return job.attach()

    # --- control ---------------------------------------------------------------------------

    def cancel_prompt(self, prompt_id: str) -> None:
        """Stop `prompt_id` whether pending or running; never touches another prompt."""
        if self.features().jobs:
            self.http.request("POST", f"/api/jobs/{quote(prompt_id, safe='')}/cancel")
            return
        self.dequeue(prompt_id)
        self.interrupt(prompt_id)

    def interrupt(self, prompt_id: str) -> None:
        """Stop `prompt_id` if it is the one running (a no-op otherwise)."""
        self.http.request("POST", "/interrupt", json={"prompt_id": prompt_id}, parse=False)

    def dequeue(self, prompt_id: str) -> None:
        """Remove `prompt_id` from the pending queue (a no-op once it runs)."""
        self.http.request("POST", "/queue", json={"delete": [prompt_id]}, parse=False)

    def delete_history(self, prompt_id: str) -> None:
        self.http.request("POST", "/history", json={"delete": [prompt_id]}, parse=False)

    def free(self, *, unload_models: bool = True, free_memory: bool = True) -> None:
        """Unload models and empty the node cache (after the running prompt)."""
        body = {"unload_models": unload_models, "free_memory": free_memory}
        self.http.request("POST", "/free", json=body, parse=False)

    def upload_image(self, path: Path | str, *, subfolder: str = "") -> str:
        """Upload a file to the input folder; returns the value for LoadImage's `image`.

        Same name + same bytes reuses the file; same name + other bytes gets `name (1).ext`,
        so always use the returned name (and a repeated upload is harmless).
        """
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror} — fix the path") from exc
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        files = {"image": (path.name, data, mime)}
        body = self._object("/upload/image", "POST", files=files, data={"subfolder": subfolder})
        name, folder = body.get("name"), body.get("subfolder") or ""
        if not isinstance(name, str) or not isinstance(folder, str):
            raise self.http.malformed("/upload/image", "name is not a text")
        return f"{folder}/{name}" if folder else name

    # --- files -----------------------------------------------------------------------------

    def stream(self, output: OutputFile, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        """The bytes of an output file from /view, in chunks."""
        if output.media == "text":
            yield (output.text or "").encode()
            return
        response = self.http.retried(self._open_view, output)
        with response:
            try:
                yield from response.iter_content(chunk_size)
            except requests.RequestException as exc:
                msg = f"the download of {output.filename} from {self.name} broke off"
                raise self.http.error(TransientBackendError, msg, detail=str(exc)) from exc

    # --- workflows -------------------------------------------------------------------------

    def validate(self, workflow: JsonObject) -> None:
        """Check node types and model files against object_info before submitting."""
        problems = missing_parts(workflow, self.object_info(), self.node_replacements())
        if problems:
            msg = f"the workflow cannot run on {self.name}: " + "; ".join(problems)
            raise self.http.error(NotRunnableHere, msg, detail=problems)

    def run(
        self,
        workflow: JsonObject,
        *,
        prompt_id: str | None = None,
        on_event: Callable[[Event], None] | None = None,
        cancel: threading.Event | None = None,
        timeout_s: float = 600,
        extra_pnginfo: JsonObject | None = None,
    ) -> RunResult:
        """Submit `workflow` and follow it to the end (see run.py).

        `prompt_id` must be a canonical UUID, unique per submission (a reused id would find
        the old history entry); a new one is made when not given.
        """
        self.validate(workflow)
        job = Job(
            self,
            workflow,
            prompt_id or new_prompt_id(),
            on_event or (lambda event: None),
            cancel or threading.Event(),
            timeout_s,
        )
        return job.run(extra_pnginfo)

    # --- plumbing --------------------------------------------------------------------------

    def _object(
        self, path: str, method: str = "GET", **options: Unpack[RequestOptions]
    ) -> JsonObject:
        body = self.http.request(method, path, **options)
        if not isinstance(body, dict):
            raise self.http.malformed(path, f"the answer is a {type(body).__name__}, not an object")
        return body

    def _parsed(self, path: str, parse: Callable[[*Args], T], *args: *Args) -> T:
        try:
            return parse(*args)
        except MalformedAnswer as exc:
            raise self.http.malformed(path, str(exc)) from exc

    def _outcome(self, prompt_id: str) -> Outcome | None:
        body = self._object(f"/history/{quote(prompt_id, safe='')}")
        return self._parsed("/history", history_outcome, body, prompt_id)

    def _job(self, prompt_id: str) -> JobState | None:
        path = f"/api/jobs/{quote(prompt_id, safe='')}"
        try:
            body = self.http.request("GET", path)
        except PermanentBackendError as exc:
            if exc.status == 404:
                return None
            raise
        state = self._parsed("/api/jobs", job_state, body)
        if state.status == "pending":
            queue = self.queue_state()
            ahead = queue.pending.index(prompt_id) if prompt_id in queue.pending else 0
            return JobState("pending", None, ahead + len(queue.running))
        return state

    def _open_view(self, output: OutputFile) -> requests.Response:
        params = {"filename": output.filename, "subfolder": output.subfolder, "type": output.type}
        response = self.http.send("GET", "/view", params=params, stream=True)
        try:
            self._check_view(response, output)
        except BaseException:
            response.close()
            raise
        return response

    def _check_view(self, response: requests.Response, output: OutputFile) -> None:
        if response.status_code == 404:
            raise self.http.error(
                PermanentBackendError,
                f"{output.filename} is no longer on {self.name} (temp files are deleted "
                "when ComfyUI restarts) — run the job again",
                status=404,
            )
        self.http.check(response, "/view")
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind and not kind.startswith(MEDIA_MIME_PREFIXES):
            raise self.http.error(
                PermanentBackendError,
                f"{self.name} sent {kind} for {output.filename}, not {output.media} — a login "
                "page or proxy error? Check the server URL and access token in Settings",
            )


def _ended(outcome: Outcome) -> JobState:
    if not outcome.failed:
        return JobState("completed", outcome)
    return JobState("cancelled" if outcome.interrupted else "failed", outcome)
