"""Read a workflow from a file: JSON (API or UI format), or the graph ComfyUI embedded in a file
it saved — read by the same reader `library import` uses (executors/library_import/embedded.py:
PNG text chunks, WEBP EXIF/XMP, audio and video container metadata)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core import jsontext
from core.errors import InputError
from core.json_types import JsonObject, JsonValue
from executors.library_import.embedded import AV_SUFFIXES, UnreadableFile, read_embedded

EMBEDDING_EXTS = {".png", ".webp", ".jpg", ".jpeg", ".avif", *AV_SUFFIXES, ".wav"}
MAX_JSON_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Source:
    """What a file holds: the API graph and/or the UI workflow (at least one)."""

    path: Path
    api: JsonObject | None
    ui: JsonObject | None


def read_source(path: Path) -> Source:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file — give the path of a workflow or a ComfyUI output")
    if path.suffix.lower() in EMBEDDING_EXTS:
        return _embedded(path)
    return _json_source(path)


def _json_source(path: Path) -> Source:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise InputError(f"{path}: too large for a workflow (over 64 MB) — is this the right file?")
    try:
        data = jsontext.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # not UTF-8, not JSON, nested too deep (core.jsontext)
        raise InputError(
            f"{path}: not a workflow (not valid JSON: {_reason(exc)}) — give a ComfyUI workflow "
            "file (.json) or a file ComfyUI saved"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("prompt"), dict) and not is_api(data):
        return Source(path, data["prompt"], _dict(data.get("workflow")))  # {prompt, workflow}
    if isinstance(data, dict) and isinstance(data.get("nodes"), list):
        return Source(path, None, data)
    if is_api(data):
        return Source(path, data, None)
    raise InputError(
        f"{path}: not a ComfyUI workflow (neither API format nor a saved workflow with "
        "'nodes' and 'links') — export it from ComfyUI with Save or Export (API)"
    )


def _embedded(path: Path) -> Source:
    try:
        found = read_embedded(path)
    except UnreadableFile as exc:
        raise InputError(f"{path}: cannot be read ({exc}) — use a file ComfyUI saved") from None
    api = found.prompt if is_api(found.prompt) else None
    ui = found.workflow if isinstance((found.workflow or {}).get("nodes"), list) else None
    if api is None and ui is None:
        raise InputError(
            f"{path}: has no ComfyUI workflow embedded (no 'prompt' or 'workflow' metadata) — "
            "use a file ComfyUI saved, or the workflow's .json"
        )
    return Source(path, api, ui)


def is_api(data: JsonValue) -> bool:
    """An API-format graph: an object of nodes, each with a class_type and inputs."""
    return (
        isinstance(data, dict)
        and bool(data)
        and all(
            isinstance(n, dict)
            and isinstance(n.get("class_type"), str)
            and isinstance(n.get("inputs"), dict)
            for n in data.values()
        )
    )


def _dict(value: JsonValue) -> JsonObject | None:
    return value if isinstance(value, dict) else None


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
