"""One prompt on one server, from POST /prompt to its end (`Job.run`), or picked up again after
a crash (`Job.attach`).

* The WebSocket is opened *before* the POST (a fresh clientId per run, `feature_flags` sent
  first so previews carry metadata); an old socket is closed before a new one is opened, so
  there are never two sockets for one clientId (ComfyUI would silence both).
* The POST carries a client-chosen canonical UUID, `extra_data.preview_method` and a
  Takeboard `extra_pnginfo.workflow.id` (so `GET /api/jobs?workflow_id=…` lists Takeboard's
  jobs on a shared server). When its answer is lost (a 5xx, a timeout, a dropped connection),
  the server is asked whether it has the prompt before it is sent again: never twice.
* When the socket cannot be opened or drops, the server is polled (the Jobs API, else
  `/history` + `/queue`) and the socket reopened with the same clientId; it is also polled now
  and then while the socket is up, because ComfyUI keeps no backlog and a socket can go deaf.
* A prompt the server does not know is only called lost after a few looks with backoff, and
  after the socket said it ended the server's record is awaited (ComfyUI #11540: it may lag
  `execution_success`); if it never comes, the socket's own account is used.
"""

from __future__ import annotations

import contextlib
import json
import logging
import ssl
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import websocket

from core.errors import JobCancelled, PermanentBackendError, TransientBackendError
from core.json_types import JsonObject, JsonValue

from .answers import JobState, Outcome
from .events import Accepted, Event, RunResult
from .messages import describe_rejection, execution_error
from .tracker import Tracker

if TYPE_CHECKING:
    import threading

    from .client import ComfyClient

log = logging.getLogger(__name__)

MAX_POLL_FAILURES = 3
LOST_CONFIRM_S = 3.0  # looks at a prompt the server does not know before calling it lost
# extra_pnginfo.workflow.id on every Takeboard prompt: GET /api/jobs?workflow_id=… finds them
TAKEBOARD_WORKFLOW_ID = "7a6b0a1e-7ac3-4b0a-8d00-7a6eb0a7d000"


def new_prompt_id() -> str:
    """A prompt id current ComfyUI accepts: a canonical (lowercase, hyphenated) UUID."""
    return str(uuid.uuid4())


def raise_for(client: ComfyClient, failure: tuple[str, JsonObject] | None) -> None:
    kind, data = failure or (None, None)
    if kind == "execution_error":
        raise execution_error(client.http, data or {})
    if kind == "execution_interrupted":
        raise JobCancelled(f"the prompt was interrupted on {client.name}")


class Job:
    def __init__(
        self,
        client: ComfyClient,
        workflow: JsonObject,
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
        self.tracker = Tracker(workflow, prompt_id)
        self.socket: websocket.WebSocket | None = None
        self.last_activity = time.monotonic()
        self.next_poll = time.monotonic() + client.safety_poll_interval
        self.next_connect = 0.0
        self.poll_failures = 0
        self.last_seen: tuple[str, int | None] | None = None

    def run(self, extra_pnginfo: JsonObject | None) -> RunResult:
        self._connect()
        try:
            queued = time.time()
            self._submit(extra_pnginfo)
            outcome = self._follow()
            return self.tracker.result(outcome, queued, self._output_nodes())
        finally:
            self._disconnect()

    def attach(self) -> RunResult | None:
        """Follow a prompt submitted earlier; None when the server does not know it."""
        state = self._lookup()
        while state is not None and not state.ended:
            self._note(state)
            self._check_cancel()
            self._check_stall()
            self.cancel.wait(self.client.poll_interval)
            state = self._lookup()
        if state is None:
            return None
        return self.tracker.result(self._ended(state), None, [])

    # --- submit ----------------------------------------------------------------------------

    def _submit(self, extra_pnginfo: JsonObject | None) -> None:
        body = {
            "prompt": self.workflow,
            "client_id": self.client_id,
            "prompt_id": self.prompt_id,
            "extra_data": self._extra_data(extra_pnginfo),
        }
        answer = self._post_once(body)
        if answer.get("node_errors"):
            self.client.cancel_prompt(self.prompt_id)
            self._rejected(answer, partial=True)
        self.on_event(Accepted(self.prompt_id))

    def _post_once(self, body: JsonObject) -> JsonObject:
        """POST /prompt; after a lost answer, ask whether the server has it before resending."""
        http = self.client.http
        for attempt in range(1, http.attempts + 1):
            try:
                return self._post(body)
            except TransientBackendError as exc:
                if self.client.lookup(self.prompt_id) is not None:
                    return {}  # it was queued; only the answer was lost
                if attempt == http.attempts:
                    raise
                log.info("%s — sending it again (%d of %d)", exc, attempt + 1, http.attempts)
                self.cancel.wait(http.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def _post(self, body: JsonObject) -> JsonObject:
        http = self.client.http
        response = http.send("POST", "/prompt", json=body)
        if response.status_code == 400:
            self._rejected(http.json(response, "/prompt"), partial=False)
        http.check(response, "/prompt")
        answer = http.json(response, "/prompt")
        return answer if isinstance(answer, dict) else {}

    def _extra_data(self, extra_pnginfo: JsonObject | None) -> JsonObject:
        pnginfo = dict(extra_pnginfo or {})
        pnginfo["workflow"] = {**(pnginfo.get("workflow") or {}), "id": TAKEBOARD_WORKFLOW_ID}
        return {"extra_pnginfo": pnginfo, "preview_method": self.client.preview_method}

    def _rejected(self, body: JsonValue, partial: bool) -> None:
        how = "accepted only part of" if partial else "rejected"
        reasons = describe_rejection(body, self.workflow)
        msg = f"ComfyUI at {self.client.shown_url} {how} the workflow: {reasons}"
        raise self.client.http.error(PermanentBackendError, msg, status=400, detail=body)

    # --- follow ----------------------------------------------------------------------------

    def _follow(self) -> Outcome:
        """Until the prompt ends; returns its outcome (raising when it ended badly)."""
        while True:
            self._check_cancel()
            self._check_stall()
            if self.socket is not None:
                self._read_socket()
            else:
                self._reconnect_or_wait()
            if self.tracker.finished:
                return self._await_record()
            if time.monotonic() >= self.next_poll:
                state = self._poll()
                if state is not None and state.ended:
                    return self._ended(state)

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
        raise_for(self.client, self.tracker.failure)

    def _await_record(self) -> Outcome:
        """The socket said it ended; the server's record may lag a moment (ComfyUI #11540)."""
        deadline = time.monotonic() + self.client.record_wait_s
        delay = 0.005  # usually written within milliseconds: look again soon, then back off
        while True:
            with contextlib.suppress(TransientBackendError):
                state = self.client.lookup(self.prompt_id)
                if state is not None and state.ended:
                    return self._ended(state)
            if time.monotonic() >= deadline:
                log.info("no record of %s on %s yet", self.prompt_id, self.client.name)
                return self.tracker.socket_outcome()
            self.cancel.wait(delay)
            delay = min(delay * 2, 0.5)

    def _poll(self) -> JobState | None:
        """One look at the server; the state, or None when the look failed."""
        interval = self.client.poll_interval if self.socket is None else None
        self.next_poll = time.monotonic() + (interval or self.client.safety_poll_interval)
        try:
            state = self._lookup()
        except TransientBackendError:
            self.poll_failures += 1
            if self.socket is None and self.poll_failures >= MAX_POLL_FAILURES:
                raise
            return None
        self.poll_failures = 0
        if state is None:
            msg = (
                f"the prompt disappeared from {self.client.name} (ComfyUI restarted?) — "
                "it can be submitted again"
            )
            raise self.client.http.error(TransientBackendError, msg, detail=self.prompt_id)
        self._note(state)
        return state

    def _lookup(self) -> JobState | None:
        """The prompt's state; None only after several looks found nothing (it may be between
        the queue and the history, or its record may lag)."""
        deadline = time.monotonic() + LOST_CONFIRM_S
        delay = 0.1
        while True:
            state = self.client.lookup(self.prompt_id)
            if state is not None or time.monotonic() >= deadline:
                return state
            self._check_cancel()
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _note(self, state: JobState) -> None:
        """A change in where the prompt stands counts as progress (the stall clock restarts)."""
        seen = (state.status, state.ahead)
        if seen != self.last_seen:
            self.last_seen, self.last_activity = seen, time.monotonic()

    def _ended(self, state: JobState) -> Outcome:
        """The outcome of a prompt that ended; raises when it ended badly."""
        assert state.outcome is not None
        if state.status == "cancelled" and not state.outcome.interrupted:
            raise JobCancelled(f"the prompt was cancelled on {self.client.name}")
        self.tracker.finish(state.outcome)
        raise_for(self.client, self.tracker.failure)
        return state.outcome

    def _output_nodes(self) -> list[str]:
        info = self.client.object_info()
        return [
            node_id
            for node_id, node in self.workflow.items()
            if info.get(node.get("class_type"), {}).get("output_node")
        ]

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            with contextlib.suppress(TransientBackendError, PermanentBackendError):
                self.client.cancel_prompt(self.prompt_id)
            raise JobCancelled(f"cancelled; the prompt was stopped on {self.client.name}")

    def _check_stall(self) -> None:
        if time.monotonic() - self.last_activity <= self.timeout_s:
            return
        with contextlib.suppress(TransientBackendError, PermanentBackendError):
            self.client.cancel_prompt(self.prompt_id)
        msg = (
            f"no progress for {self.timeout_s:g} s from {self.client.name} — the prompt was "
            "stopped; the server may be stuck (see its console) or the template needs a "
            "larger timeout_s"
        )
        raise self.client.http.error(PermanentBackendError, msg)

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
            log.info("no WebSocket to %s (%r); polling", self.client.shown_url, exc)
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
        log.info("WebSocket to %s lost (%s); polling", self.client.shown_url, why)
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


def _ws_url(base: str, client_id: str) -> str:
    scheme, rest = base.split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws?clientId={client_id}"
