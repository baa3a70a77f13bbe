"""Socket frames about one prompt → events, and what they said about its end.

Frames are checked here, at the edge: a text frame that is not a JSON object, a progress value
that is not a number or a binary preview whose metadata is malformed is dropped (with a log
line) rather than failing the job — progress and previews are only shown, never relied on.
"""

from __future__ import annotations

import json
import logging
import struct
import time
from typing import TypeGuard

import websocket

from core.json_types import JsonObject, JsonValue

from .answers import Outcome, parse_outputs, seconds
from .events import Cached, Event, NodeStarted, Preview, Progress, RunResult

log = logging.getLogger(__name__)

PREVIEW_FORMATS = {1: "image/jpeg", 2: "image/png"}
PREVIEW_IMAGE = 1
PREVIEW_WITH_METADATA = 4  # supports_preview_metadata: a JSON header before the image


class Tracker:
    def __init__(self, workflow: JsonObject, prompt_id: str):
        self.workflow = workflow
        self.prompt_id = prompt_id
        self.cached: tuple[str, ...] = ()
        self.done: set[str] = set()
        self.current: str | None = None
        self.outputs: JsonObject = {}  # node id → its `executed` output (the socket's copy)
        self.messages: dict[str, JsonObject] = {}
        self.preview: Preview | None = None
        self.high = 0.0  # the furthest fraction reported: progress never goes backwards
        self.finished = False  # the socket said it is over: read the history
        self.failure: tuple[str, JsonObject] | None = None

    def on_frame(self, opcode: int, data: bytes | str) -> list[Event]:
        if opcode == websocket.ABNF.OPCODE_BINARY:
            preview = self._preview(data if isinstance(data, bytes) else data.encode())
            return [preview] if preview else []
        try:
            message = json.loads(data)
        except (ValueError, RecursionError):
            return []
        if not isinstance(message, dict) or not isinstance(message.get("data"), dict):
            return []
        body = message["data"]
        if body.get("prompt_id", self.prompt_id) != self.prompt_id:
            return []
        handler = getattr(self, f"_on_{message.get('type')}", None)
        try:
            return handler(body) if handler else []
        except (TypeError, ValueError) as exc:
            log.info("ignored a malformed %r message: %r", message.get("type"), exc)
            return []

    def finish(self, outcome: Outcome) -> None:
        """Take the end from the server's record (the socket may have missed it)."""
        if not outcome.failed:
            return
        for kind in ("execution_interrupted", "execution_error"):
            if kind in outcome.messages:
                self.failure = (kind, outcome.messages[kind])
                return
        self.failure = ("execution_error", {"exception_message": "the prompt failed"})

    def socket_outcome(self) -> Outcome:
        """The end as the socket told it (when the server's record cannot be read)."""
        return Outcome("success", dict(self.messages), parse_outputs(self.outputs))

    def result(self, outcome: Outcome, queued: float | None, output_nodes: list[str]) -> RunResult:
        messages = {**self.messages, **outcome.messages}
        cached_nodes = messages.get("execution_cached", {}).get("nodes", self.cached)
        outputs = outcome.output_nodes if outcome.output_nodes is not None else output_nodes
        timings = {
            "queued": queued,
            "started": seconds(messages.get("execution_start")),
            "finished": seconds(messages.get("execution_success")) or time.time(),
        }
        cached = bool(outputs) and all(node in cached_nodes for node in outputs)
        return RunResult(self.prompt_id, list(outcome.outputs), cached, timings, self.preview)

    # --- messages ----------------------------------------------------------------------------

    def _on_execution_start(self, data: JsonObject) -> list[Event]:
        self.messages["execution_start"] = data
        return []

    def _on_execution_cached(self, data: JsonObject) -> list[Event]:
        self.messages["execution_cached"] = data
        self.cached = tuple(str(node) for node in data.get("nodes", []))
        return [Cached(self.cached)]

    def _on_executing(self, data: JsonObject) -> list[Event]:
        node = data.get("node")
        if self.current is not None:
            self.done.add(self.current)
        self.current = None if node is None else str(node)
        if node is None:  # the end; `executing` null follows the terminal message
            self.finished = True
            return []
        class_type = str(self.workflow.get(node, {}).get("class_type", ""))
        return [NodeStarted(str(node), class_type, self._fraction(0.0))]

    def _on_progress(self, data: JsonObject) -> list[Event]:
        value, total = _count(data.get("value", 0)), _count(data.get("max", 1)) or 1
        node = str(data.get("node", self.current or ""))
        return [
            Progress(self._fraction(min(value / total, 1.0)), value=value, max=total, node=node)
        ]

    def _on_executed(self, data: JsonObject) -> list[Event]:
        if isinstance(data.get("output"), dict) and data["output"]:
            self.outputs[str(data.get("node"))] = data["output"]
        return []

    def _on_execution_success(self, data: JsonObject) -> list[Event]:
        self.messages["execution_success"] = data
        self.finished = True
        return []

    def _on_execution_error(self, data: JsonObject) -> list[Event]:
        self.failure = ("execution_error", data)
        return []

    def _on_execution_interrupted(self, data: JsonObject) -> list[Event]:
        self.failure = ("execution_interrupted", data)
        return []

    # --- previews and progress -----------------------------------------------------------------

    def _preview(self, frame: bytes) -> Preview | None:
        if len(frame) < 8:
            return None
        event, second = struct.unpack(">II", frame[:8])
        if event == PREVIEW_IMAGE:
            self.preview = Preview(frame[8:], PREVIEW_FORMATS.get(second, "image/jpeg"))
        elif event == PREVIEW_WITH_METADATA and 8 + second <= len(frame):
            meta = _json_object(frame[8 : 8 + second])
            if meta is None or meta.get("prompt_id", self.prompt_id) != self.prompt_id:
                return None
            mime = meta.get("image_type")
            self.preview = Preview(frame[8 + second :], mime if _is_image(mime) else "image/png")
        else:
            return None
        return self.preview

    def _fraction(self, part: float) -> float:
        total = max(len(self.workflow) - len(self.cached), 1)
        self.high = max(self.high, min((len(self.done) + part) / total, 1.0))
        return self.high


def _count(value: JsonValue) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    return max(int(value), 0)


def _json_object(raw: bytes) -> JsonObject | None:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _is_image(mime: JsonValue) -> TypeGuard[str]:
    return isinstance(mime, str) and mime.startswith("image/") and len(mime) < 40
