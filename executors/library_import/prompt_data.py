"""Prompt data (core/models.py schemas) from what a graph was made with and what the file is.

The exact size, the model and the LoRAs go into `params` (template values draw from them); a
value the schema refuses (a tempo of 500, an odd key name) is left out rather than failing the
file, so imported data always validates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from core.errors import InputError
from core.json_types import JsonObject, JsonValue
from core.models import MediaKind, validate_data
from executors.library_import.graph import Traced

TITLE_CHARS = 60
_FIELD = re.compile(r"data\.(\w+)")


@dataclass(frozen=True)
class PromptDraft:
    """A prompt to create for imported files: kind, title and validated data."""

    kind: MediaKind
    title: str
    data: JsonObject


def draft(kind: MediaKind, traced: Traced, facts: JsonObject, name: str) -> PromptDraft:
    """The prompt for a file of `kind` made with `traced` settings (`facts`: media_facts)."""
    build = {MediaKind.IMAGE: _image, MediaKind.AUDIO: _audio, MediaKind.VIDEO: _video}[kind]
    data = {key: value for key, value in build(traced, facts, name).items() if value is not None}
    data = _valid(kind, data)
    text = traced.positive if kind is not MediaKind.AUDIO else ", ".join(data["tags"])
    return PromptDraft(kind, _title(text or "") or name, data)


def _image(traced: Traced, facts: JsonObject, name: str) -> JsonObject:
    width = traced.width or facts.get("width")
    height = traced.height or facts.get("height")
    return {
        "prompt": traced.positive or f"imported {name}",
        "negative_prompt": traced.negative,
        "aspect_ratio": _aspect(width, height),
        "seed": traced.seed,
        "params": _params(traced, width, height),
    }


def _video(traced: Traced, facts: JsonObject, name: str) -> JsonObject:
    width = traced.width or facts.get("width")
    height = traced.height or facts.get("height")
    fps = traced.fps or facts.get("fps")
    return {
        "prompt": traced.positive or f"imported {name}",
        "negative_prompt": traced.negative,
        "frames": traced.frames or facts.get("frames"),
        "fps": round(fps) if fps else None,
        "resolution": f"{width}x{height}" if width and height else None,
        "lora": traced.loras[0] if traced.loras else None,
        "seed": traced.seed,
        "params": _params(traced, None, None),
    }


def _audio(traced: Traced, facts: JsonObject, name: str) -> JsonObject:
    song = traced.song
    lyrics = song.get("lyrics")
    tags = song["tags"] if isinstance(song.get("tags"), str) else ""
    duration = song.get("duration") or facts.get("duration_s")
    signature = str(song.get("timesignature") or "")
    return {
        "task": "song",
        "title": name,
        "lyrics": lyrics if isinstance(lyrics, str) and lyrics.strip() else "[instrumental]",
        "tags": [tag.strip() for tag in tags.split(",") if tag.strip()],
        "tempo": song.get("bpm"),
        "key": song.get("keyscale"),
        "time_signature": f"{signature}/4" if signature.isdigit() else signature or None,
        "duration_s": round(duration, 3) if isinstance(duration, int | float) else None,
        "seed": traced.seed,
        "params": _params(traced, None, None),
    }


def _params(traced: Traced, width: JsonValue, height: JsonValue) -> JsonObject:
    params = {"width": width, "height": height, "model": traced.model}
    if traced.loras:
        params["loras"] = list(traced.loras)
    return {key: value for key, value in params.items() if value is not None}


def _aspect(width: JsonValue, height: JsonValue) -> str | None:
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        return None
    ratio = Fraction(width, height).limit_denominator(99)
    if ratio.numerator > 99 or ratio.numerator == 0:
        return None
    return f"{ratio.numerator}:{ratio.denominator}"


def _valid(kind: MediaKind, data: JsonObject) -> JsonObject:
    """`data` validated, leaving out each optional field the schema refuses."""
    while True:
        try:
            return validate_data(kind, data)
        except InputError as exc:
            match = _FIELD.match(str(exc))
            if match is None or match.group(1) not in data or match.group(1) == "prompt":
                raise
            data = {key: value for key, value in data.items() if key != match.group(1)}


def _title(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"
