"""WanGP's job events as Takeboard's Progress and Preview (pure functions, any thread).

A WanGP job snapshot (`wangp_get_job`) carries the newest `event_limit` events, each `{kind,
timestamp, data}`: `progress` data is WanGP's ProgressUpdate (phase, status, progress 0-100,
current_step, total_steps), `preview` data its PreviewUpdate, optionally with `media` (base64
`data`, `mime_type`; shared/mcp_server.py `_json_safe`).
"""

from __future__ import annotations

import base64
import binascii
import math

from core.json_types import JsonObject, JsonValue
from executors.backends.base import Event, Preview, Progress

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


class EventCursor:
    """Hands out each job event once. WanGP's snapshots carry only the newest `event_limit`
    events (a sliding window), so an index into the window drifts once older events fall out;
    events are ordered by their timestamps instead, ties counted."""

    def __init__(self) -> None:
        self._last_ts = -math.inf
        self._seen_at_last = 0

    def take_new(self, events: list[JsonObject]) -> list[JsonObject]:
        new: list[JsonObject] = []
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


def convert_event(event: JsonObject) -> Event | None:
    """A WanGP job event as a Takeboard Progress/Preview; None for the kinds not shown."""
    kind, data = event.get("kind"), event.get("data")
    if kind == "progress" and isinstance(data, dict):
        return Progress(_fraction(data.get("progress")), _label(data))
    if kind == "preview" and isinstance(data, dict):
        return _preview(data.get("media"))
    return None


def _fraction(progress: JsonValue) -> float | None:
    if isinstance(progress, bool) or not isinstance(progress, int | float):
        return None
    return max(0.0, min(1.0, float(progress) / 100.0))


def _label(data: JsonObject) -> str:
    """Words from WanGP's phase: "Denoising 12/30", "Loading model"."""
    phase = str(data.get("phase") or "")
    words = PHASE_WORDS.get(phase) or str(data.get("raw_phase") or data.get("status") or phase)
    words = words or "Working"
    step, total = data.get("current_step"), data.get("total_steps")
    if isinstance(step, int) and isinstance(total, int) and total > 0:
        return f"{words} {step}/{total}"
    return words


def _preview(media: JsonValue) -> Preview | None:
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


def events_of(snapshot: JsonObject) -> list[JsonObject]:
    return [e for e in snapshot.get("events") or [] if isinstance(e, dict)]


def _number(value: JsonValue, default: float) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )
