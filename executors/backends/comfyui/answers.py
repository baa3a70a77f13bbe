"""ComfyUI's JSON answers → typed records, checked at the edge.

A server (or a proxy in front of it) may answer with JSON of the wrong shape: `/history` as a
list, an entry whose outputs are a string, `/queue` as `[]`. Each parser raises
`MalformedAnswer` naming the field, which the client turns into one line naming the server.
Shapes: ComfyUI 0.3.64 (recorded) and the newest server.py / comfy_execution/jobs.py@172be438
(the Jobs API: `normalize_history_item(include_outputs=True)`, `normalize_queue_item`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.json_types import JsonObject, JsonValue

from .events import OutputFile

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
VIDEO_EXTS = {".mp4", ".webm", ".mov", ".mkv", ".avi", ".m4v"}
AUDIO_EXTS = {".flac", ".mp3", ".opus", ".ogg", ".wav", ".m4a", ".aac"}
FILE_KEYS = {"images", "gifs", "audio", "video", "videos"}
KEY_MEDIA = {"audio": "audio", "gifs": "video", "video": "video", "videos": "video"}
JOB_STATUSES = {"pending", "in_progress", "completed", "failed", "cancelled"}


class MalformedAnswer(ValueError):
    """The answer parsed as JSON but is not shaped as ComfyUI's (the message names the field)."""


@dataclass(frozen=True)
class Outcome:
    """How a prompt ended, from its history entry (or the Jobs API's copy of it)."""

    status: str  # "success" | "error" (an interrupt is an error with execution_interrupted)
    messages: dict[str, JsonObject]  # execution_start / _cached / _success / _error / …
    outputs: list[OutputFile]
    output_nodes: list[str] | None = None  # the prompt's output nodes, when the entry says

    @property
    def interrupted(self) -> bool:
        return "execution_interrupted" in self.messages

    @property
    def failed(self) -> bool:
        return self.status != "success"


@dataclass(frozen=True)
class QueueState:
    running: tuple[str, ...]
    pending: tuple[str, ...]  # in the order the server will run them

    def holds(self, prompt_id: str) -> bool:
        return prompt_id in self.running or prompt_id in self.pending


@dataclass(frozen=True)
class JobState:
    """GET /api/jobs/{id}: where the prompt is; its outcome once it ended."""

    status: str  # pending | in_progress | completed | failed | cancelled
    outcome: Outcome | None
    ahead: int | None = None  # prompts before it (the running one included) while pending

    @property
    def ended(self) -> bool:
        return self.outcome is not None


def history_outcome(body: JsonValue, prompt_id: str) -> Outcome | None:
    """`/history/{id}` → the outcome; None while the server has no entry for it."""
    entry = _object(body, "the answer").get(prompt_id)
    if not entry:
        return None
    entry = _object(entry, f"history[{prompt_id}]")
    prompt = entry.get("prompt")
    output_nodes = prompt[4] if isinstance(prompt, list) and len(prompt) > 4 else None
    if output_nodes is not None:
        output_nodes = [str(node) for node in _list(output_nodes, "prompt[4]")]
    return _outcome(entry.get("status"), entry.get("outputs"), output_nodes)


def job_state(body: JsonValue) -> JobState:
    """`/api/jobs/{id}` → status and, once the job ended, its outcome."""
    job = _object(body, "the answer")
    status = job.get("status")
    if status not in JOB_STATUSES:
        raise MalformedAnswer(f"status {status!r} is not a job status")
    if status in ("pending", "in_progress"):
        return JobState(status, None)
    return JobState(status, _outcome(job.get("execution_status"), job.get("outputs"), None))


def queue_state(body: JsonValue) -> QueueState:
    queue = _object(body, "the answer")
    running = [_queue_item(item, "queue_running") for item in _list_at(queue, "queue_running")]
    pending = [_queue_item(item, "queue_pending") for item in _list_at(queue, "queue_pending")]
    return QueueState(
        tuple(pid for _, pid in running), tuple(pid for _, pid in sorted(pending, key=_number))
    )


def parse_outputs(outputs: JsonValue) -> list[OutputFile]:
    """History `outputs` → files (and texts); the media kind comes from the file extension."""
    files = []
    for node_id, ui in _object(outputs or {}, "outputs").items():
        ui = _object(ui, f"outputs[{node_id}]")
        animated = any(ui.get("animated") or []) if isinstance(ui.get("animated"), list) else False
        for key, items in ui.items():
            if key == "text":
                texts = _list(items, f"outputs[{node_id}].text")
                files += [OutputFile(node_id, "", "", "text", "text", text=_text(t)) for t in texts]
            elif key in FILE_KEYS:
                where = f"outputs[{node_id}].{key}"
                items = _list(items, where)
                files += [_file(node_id, key, item, animated, where) for item in items]
    return files


def media_of(filename: str, key: str = "images") -> str:
    ext = Path(filename).suffix.lower()
    if ext in VIDEO_EXTS:
        return "video"
    if ext in AUDIO_EXTS:
        return "audio"
    if ext in IMAGE_EXTS:
        return "image"
    return KEY_MEDIA.get(key, "image")


def seconds(data: JsonObject | None) -> float | None:
    """A message's `timestamp` (ms) in epoch seconds."""
    stamp = (data or {}).get("timestamp")
    return stamp / 1000 if isinstance(stamp, int | float) and not isinstance(stamp, bool) else None


# --- helpers -------------------------------------------------------------------------------


def _outcome(status: JsonValue, outputs: JsonValue, output_nodes: list[str] | None) -> Outcome:
    status = _object(status or {}, "status")
    messages: dict[str, JsonObject] = {}
    for message in _list(status.get("messages") or [], "status.messages"):
        if isinstance(message, list) and len(message) == 2 and isinstance(message[0], str):
            messages[message[0]] = message[1] if isinstance(message[1], dict) else {}
    status_str = status.get("status_str", "success")
    if not isinstance(status_str, str):
        raise MalformedAnswer("status.status_str is not a string")
    return Outcome(status_str, messages, parse_outputs(outputs), output_nodes)


def _file(node_id: str, key: str, item: JsonValue, animated: bool, where: str) -> OutputFile:
    item = _object(item, where)
    filename, subfolder = item.get("filename"), item.get("subfolder", "")
    kind = item.get("type", "output")
    if not all(isinstance(v, str) for v in (filename, subfolder, kind)) or not filename:
        raise MalformedAnswer(f"{where}: filename, subfolder and type must be texts")
    media = media_of(filename, key)
    is_animated = media == "video" or (media == "image" and animated)
    return OutputFile(node_id, filename, subfolder, kind, media, animated=is_animated)


def _text(value: JsonValue) -> str:
    if isinstance(value, list | tuple):  # ("text",) tuples arrive as lists
        return "".join(str(v) for v in value)
    return str(value)


def _queue_item(item: JsonValue, where: str) -> tuple[float, str]:
    if not isinstance(item, list) or len(item) < 2 or not isinstance(item[1], str):
        raise MalformedAnswer(f"{where}: an item is not [number, prompt_id, …]")
    number = item[0] if isinstance(item[0], int | float) else 0
    return number, item[1]


def _number(item: tuple[float, str]) -> float:
    return item[0]


def _object(value: JsonValue, what: str) -> JsonObject:
    if not isinstance(value, dict):
        raise MalformedAnswer(f"{what} is {type(value).__name__}, not an object")
    return value


def _list(value: JsonValue, what: str) -> list[JsonValue]:
    if not isinstance(value, list):
        raise MalformedAnswer(f"{what} is {type(value).__name__}, not a list")
    return value


def _list_at(body: JsonObject, key: str) -> list[JsonValue]:
    return _list(body.get(key, []), key)
