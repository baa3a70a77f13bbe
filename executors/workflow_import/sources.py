"""Read a workflow from a file: JSON (API or UI format), or the graph ComfyUI embedded in a file
it saved.

Where ComfyUI puts the graph (Comfy-Org/ComfyUI):
- PNG (nodes.py SaveImage): tEXt chunks `prompt` (API) and `workflow` (UI).
- Animated WEBP (comfy_extras/nodes_images.py SaveAnimatedWEBP): EXIF tag 0x0110 holds
  `prompt:<json>` and 0x010F `workflow:<json>`; other writers use XMP, read the same way.
- FLAC/MP3/Opus (comfy_extras/nodes_audio.py save_audio) and MP4/WEBM (comfy_api video
  save_to): container metadata keys `prompt` and `workflow`, read here with PyAV.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import jsontext
from core.errors import InputError

IMAGE_EXTS = {".png", ".webp", ".jpg", ".jpeg", ".avif"}
MEDIA_EXTS = {".flac", ".mp3", ".opus", ".ogg", ".mp4", ".webm", ".mkv", ".mov", ".m4a", ".wav"}
EXIF_PROMPT, EXIF_WORKFLOW = 0x0110, 0x010F
MAX_JSON_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Source:
    """What a file holds: the API graph and/or the UI workflow (at least one)."""

    path: Path
    api: dict[str, Any] | None
    ui: dict[str, Any] | None


def read_source(path: Path) -> Source:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file — give the path of a workflow or a ComfyUI output")
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTS:
        found = _image_chunks(path)
    elif suffix in MEDIA_EXTS:
        found = _container_tags(path)
    else:
        return _json_source(path)
    return _embedded(path, found)


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


def _embedded(path: Path, found: dict[str, str]) -> Source:
    api, ui = _parsed(found.get("prompt")), _parsed(found.get("workflow"))
    if not is_api(api):
        api = None
    if not (isinstance(ui, dict) and isinstance(ui.get("nodes"), list)):
        ui = None
    if api is None and ui is None:
        raise InputError(
            f"{path}: has no ComfyUI workflow embedded (no 'prompt' or 'workflow' metadata) — "
            "use a file ComfyUI saved, or the workflow's .json"
        )
    return Source(path, api, ui)


def is_api(data: Any) -> bool:
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


def _image_chunks(path: Path) -> dict[str, str]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            found = {k: v for k, v in (image.info or {}).items() if isinstance(v, str)}
            exif = image.getexif()
            for tag in (EXIF_PROMPT, EXIF_WORKFLOW):
                key, _, text = str(exif.get(tag, "")).partition(":")
                if key in ("prompt", "workflow") and text:
                    found.setdefault(key, text)
            if image.info.get("xmp"):
                found.update(_xmp(image.info["xmp"]))
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as an image ({_reason(exc)})") from None
    return found


def _xmp(raw: Any) -> dict[str, str]:
    """`prompt`/`workflow` JSON in an XMP packet, as an element or attribute of that name
    (XML-escaped); the JSON object is read to its end, whatever follows it."""
    text = html.unescape(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))
    found = {}
    for key in ("prompt", "workflow"):
        match = re.search(rf"\b{key}\b[\"']?\s*(?:=\s*[\"']|>|:)\s*(?=\{{)", text)
        if match:
            try:
                _, end = json.JSONDecoder().raw_decode(text, match.end())
            except (ValueError, RecursionError):  # parsed for real (depth-checked) later
                continue
            found[key] = text[match.end() : end]
    return found


def _container_tags(path: Path) -> dict[str, str]:
    try:
        import av
    except ImportError:
        raise InputError(
            f"{path}: reading audio and video files needs PyAV — pip install 'takeboard[video]'"
        ) from None

    try:
        with av.open(str(path)) as container:
            tags = dict(container.metadata)
            for stream in container.streams:
                tags.update({k: v for k, v in stream.metadata.items() if k not in tags})
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as audio or video ({_reason(exc)})") from None
    return {key.lower(): value for key, value in tags.items() if isinstance(value, str)}


def _parsed(text: str | None) -> Any:
    if not text:
        return None
    try:
        value = jsontext.loads(text)
        return jsontext.loads(value) if isinstance(value, str) else value  # double-encoded tags
    except ValueError:
        return None


def _dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
