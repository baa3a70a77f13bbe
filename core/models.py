"""Domain records and the validated prompt data of each media kind (stdlib only).

Prompt data is declared as a table of fields per kind; `validate_data` turns user JSON into a
normalized dict (defaults filled in) or raises InputError naming the field and the fix.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from core.errors import InputError
from core.fields import Field, fail, free_params, integer, number, one_of, pattern, text, text_list
from core.jobs import JobSpec, RunState, Submission
from core.json_types import JsonObject, JsonValue

SEED_MAX = 2**64 - 1
QUALITY_TIERS = ("low", "standard", "high", "premium")
AUDIO_TASKS = ("song", "voice", "sfx")  # a song (ACE-Step), a voice conversion, a sound effect

E = TypeVar("E", bound=StrEnum)


class MediaKind(StrEnum):
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"


class PromptStatus(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    ERROR = "error"
    CANCELLED = "cancelled"


class JobStatus(StrEnum):
    QUEUED = "queued"
    WAITING = "waiting"  # queued, but held back: GPU memory, every server offline, a retry delay
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUSPECT = "suspect"  # crashed its server twice: parked, not retried automatically


def parse_enum(enum: type[E], value: object, what: str) -> E:
    """The enum member for `value`, or InputError listing the allowed values."""
    try:
        return enum(str(value))
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InputError(f"{what}: unknown value {value!r} — use one of: {allowed}") from None


ASPECT = pattern(r"\d{1,2}:\d{1,2}", "16:9", sides=":")
RESOLUTION = pattern(r"\d{2,4}x\d{2,4}", "832x480", sides="x")
SEED = Field(integer(0, SEED_MAX))
PARAMS = Field(free_params, default={})
# The function the prompt runs (an imported one, say); without it, routing rules decide.
FUNCTION = Field(pattern(r"[a-z][a-z0-9_]*", "create_image_anime"))

SCHEMAS: dict[MediaKind, dict[str, Field]] = {
    MediaKind.IMAGE: {
        "prompt": Field(text(non_empty=True), required=True),
        "negative_prompt": Field(text(), default=""),
        "aspect_ratio": Field(ASPECT, default="1:1"),
        "quality": Field(one_of(*QUALITY_TIERS), default="standard"),
        "style_tags": Field(text_list, default=[]),
        "seed": SEED,
        "reference_image": Field(text(non_empty=True)),
        "function": FUNCTION,
        "params": PARAMS,
    },
    MediaKind.AUDIO: {
        "task": Field(one_of(*AUDIO_TASKS), default="song"),
        "title": Field(text(max_len=300), default=""),
        "lyrics": Field(text(non_empty=True)),  # required for a song (checked below)
        "prompt": Field(text(non_empty=True)),  # what a sound effect sounds like
        "source_audio": Field(text(non_empty=True)),  # the recording a voice converts
        "tags": Field(text_list, default=[]),
        "tempo": Field(integer(20, 300)),
        "key": Field(pattern(r"[A-Ga-g][#b]?( ?(major|minor|maj|min|m))?", "F# minor")),
        "time_signature": Field(pattern(r"\d{1,2}/\d{1,2}", "4/4", sides="/"), default="4/4"),
        "duration_s": Field(number(1, 600), default=60),
        "quality": Field(one_of(*QUALITY_TIERS), default="standard"),
        "seed": SEED,
        "function": FUNCTION,
        "params": PARAMS,
    },
    MediaKind.VIDEO: {
        "prompt": Field(text(non_empty=True), required=True),
        "negative_prompt": Field(text(), default=""),
        "duration_s": Field(number(0.1, 600)),
        "frames": Field(integer(1, 10_000)),
        "fps": Field(integer(1, 120), default=16),
        "resolution": Field(RESOLUTION, default="832x480"),
        "quality": Field(one_of(*QUALITY_TIERS), default="standard"),
        "start_image": Field(text(non_empty=True)),
        "lora": Field(text(non_empty=True)),  # a character/style LoRA file name
        "seed": SEED,
        "function": FUNCTION,
        "params": PARAMS,
    },
}

DEFAULT_VIDEO_SECONDS = 5


def validate_data(kind: MediaKind | str, data: JsonValue) -> JsonObject:
    """Normalized prompt data for `kind`, or InputError naming the first bad field."""
    media = parse_enum(MediaKind, kind, "kind")
    if not isinstance(data, dict):
        raise InputError(f"data: expected a JSON object of {media} prompt fields, got {data!r}")
    schema = SCHEMAS[media]
    _reject_unknown(media, data, schema)
    out: JsonObject = {}
    for name, spec in schema.items():
        value = data.get(name)
        if value is None:
            if spec.required:
                raise fail(f"data.{name}", "required field missing", f"add {name!r} to the data")
            out[name] = _copy_default(spec.default)
        else:
            out[name] = spec.check(f"data.{name}", value)
    if media is MediaKind.VIDEO:
        _check_video_length(out)
    if media is MediaKind.AUDIO:
        _check_audio_task(out)
    return out


AUDIO_NEEDS = {"song": "lyrics", "sfx": "prompt", "voice": "source_audio"}


def _check_audio_task(out: JsonObject) -> None:
    needed = AUDIO_NEEDS[out["task"]]
    if out[needed] is None:
        raise fail(
            f"data.{needed}", "required field missing", f"a {out['task']} prompt needs {needed!r}"
        )


def _copy_default(value: JsonValue) -> JsonValue:
    return (
        list(value)
        if isinstance(value, list)
        else dict(value)
        if isinstance(value, dict)
        else value
    )


def _reject_unknown(kind: MediaKind, data: dict, schema: dict[str, Field]) -> None:
    for name in data:
        if name not in schema:
            close = difflib.get_close_matches(name, schema, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(schema)
            raise fail(f"data.{name}", f"unknown field for {kind} prompts", hint)


def _check_video_length(out: JsonObject) -> None:
    if out["duration_s"] is not None and out["frames"] is not None:
        raise fail("data.frames", "both duration_s and frames are given", "give only one of them")


def image_size(aspect_ratio: str, base: int = 1024, multiple: int = 64) -> tuple[int, int]:
    """Width and height of about base² pixels in the given ratio, rounded to `multiple`."""
    w_ratio, h_ratio = (int(part) for part in aspect_ratio.split(":"))
    if not w_ratio or not h_ratio:
        raise InputError(f"aspect_ratio: {aspect_ratio!r} has a zero side — write it like '16:9'")
    width = base * math.sqrt(w_ratio / h_ratio)
    height = base * math.sqrt(h_ratio / w_ratio)
    return _round_to(width, multiple), _round_to(height, multiple)


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, int(round(value / multiple)) * multiple)


def video_frames(data: JsonObject) -> int:
    """Frame count: given, or duration × fps + 1 (Wan's 4n+1 lengths for whole seconds)."""
    if data.get("frames"):
        return data["frames"]
    seconds = data.get("duration_s") or DEFAULT_VIDEO_SECONDS
    return int(round(seconds * data["fps"])) + 1


def template_values(kind: MediaKind, data: JsonObject) -> JsonObject:
    """The flat values a workflow template's parameters draw from (prompt fields + computed)."""
    values = {k: v for k, v in data.items() if k not in ("params", "function")}
    if kind is MediaKind.IMAGE:
        values["width"], values["height"] = image_size(data["aspect_ratio"])
        values["style_tags"] = ", ".join(data["style_tags"])
    elif kind is MediaKind.AUDIO:
        values["tags"] = ", ".join(data["tags"])
    else:
        width, height = data["resolution"].split("x")
        values["width"], values["height"] = int(width), int(height)
        values["frames"] = video_frames(data)
        values["duration_s"] = round((values["frames"] - 1) / data["fps"], 3)
    return {**values, **data.get("params", {})}


def search_text(kind: MediaKind, data: JsonObject) -> str:
    """The words of a prompt that full-text search covers besides title and tags."""
    parts = [data.get("prompt"), data.get("negative_prompt"), data.get("lyrics"), data.get("title")]
    parts += data.get("style_tags", []) + (data.get("tags", []) if kind is MediaKind.AUDIO else [])
    return "\n".join(p for p in parts if p)


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptRecord:
    id: int
    kind: MediaKind
    title: str
    data: JsonObject
    status: PromptStatus = PromptStatus.DRAFT
    error: str = ""
    tags: tuple[str, ...] = ()
    favorite: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    deleted_at: float | None = None
    take_count: int = 0
    version: int = 1  # the saved version this record is (prompt_version; history keeps all)
    circled_preview: str | None = None  # the preview of its circled take ("the take"), if any


@dataclass(frozen=True)
class PromptVersion:
    """One saved version of a prompt (every save keeps the one before)."""

    prompt_id: int
    version: int
    title: str
    data: JsonObject
    tags: tuple[str, ...]
    saved_at: float


@dataclass(frozen=True)
class ArtifactRecord:
    id: int
    prompt_id: int
    kind: MediaKind
    path: str
    preview_path: str | None
    sha256: str
    size: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    metadata: JsonObject = field(default_factory=dict)
    job_id: int | None = None
    created_at: float = 0.0
    rating: int = 0  # 0: not rated; 1-5 stars
    circled: bool = False  # "the take" of its prompt (at most one per prompt)


@dataclass(frozen=True)
class NewArtifact:
    """One file of a take to record: where it is (relative to the home) and what it is."""

    prompt_id: int
    kind: MediaKind
    path: str
    sha256: str
    size: int
    job_id: int | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    metadata: JsonObject = field(default_factory=dict)
    preview_path: str | None = None


@dataclass(frozen=True)
class ArtifactFile:
    """Where a take's file and its preview are (paths relative to the home), for checks that
    must not load every record's metadata."""

    id: int
    prompt_id: int
    job_id: int | None
    path: str
    preview_path: str | None


@dataclass(frozen=True)
class JobRecord:
    """A job as stored: its spec (what to run, frozen at queue time), where its current
    attempt went, what its attempts learned, and its row's state. `function` and `quality`
    are what runs now (routing and an out-of-memory drop change them; the spec keeps what was
    asked)."""

    id: int
    prompt_id: int
    function: str
    quality: str
    spec: JobSpec
    submission: Submission | None = None
    run: RunState = field(default_factory=RunState)
    status: JobStatus = JobStatus.QUEUED
    backend: str = ""
    remote_id: str = ""
    attempts: int = 0
    error_kind: str = ""
    error: str = ""
    priority: int = 0
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float = 0.0
    note: str = ""  # why it waits, or which tier it dropped to
    retry_at: float | None = None
    cancel_requested: bool = False


def validate_title(title: JsonValue) -> str:
    return text(non_empty=True, max_len=300)("title", title).strip()


def validate_tags(tags: JsonValue) -> tuple[str, ...]:
    """Tags given as a list (a tuple from a stored record is one too), duplicates dropped."""
    return tuple(dict.fromkeys(text_list("tags", list(tags) if isinstance(tags, tuple) else tags)))


PROMPT_SORTS = ("updated", "created", "title", "status", "kind", "id")


@dataclass(frozen=True)
class PromptQuery:
    """What the prompt list shows: words to search, filters and order."""

    search: str = ""
    kind: MediaKind | None = None
    status: PromptStatus | None = None
    tag: str | None = None
    favorite: bool | None = None
    trash: bool = False
    sort: str = "updated"
    descending: bool = True
    circled: bool = False  # only prompts with a circled take
    min_rating: int = 0  # only prompts with a take rated at least this (0: no filter)
