"""The graph ComfyUI embeds in the files it saves, read without decoding any pixel or sample.

Where each saver puts it (Comfy-Org/ComfyUI):
- PNG (SaveImage): tEXt chunks `prompt` (API graph) and `workflow` (UI graph), one per
  extra_pnginfo key (comfy_api/latest/_ui.py@255ec426 ImageSaveHelper._create_png_metadata);
  iTXt/zTXt are read too, as other tools rewrite them so.
- APNG (SaveAnimatedPNG): private `comf` chunks `key\\0json` after IDAT
  (_create_animated_png_metadata).
- Animated WEBP (SaveAnimatedWEBP): EXIF in IFD0, 0x0110 `prompt:json` and 0x010f, 0x010e…
  `key:json` (_create_webp_metadata; comfy_extras/nodes_images.py).
- FLAC/MP3/Opus (AudioSaveHelper.save_audio) and MP4/WEBM (comfy_api/latest/_input_impl/
  video_types.py@2802bf95 save_to, comfy_extras/nodes_video.py SaveWEBM): container metadata
  `prompt`, `workflow` as JSON text (Ogg keeps it in the stream's comments, WEBM upper-cases keys).

A file that is cut short or whose chunks are damaged raises UnreadableFile with one line.
"""

from __future__ import annotations

import html
import json
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core import jsontext
from core.json_types import JsonObject
from executors.storage import load_av

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GRAPH_KEYS = ("prompt", "workflow")
AV_SUFFIXES = {".flac", ".mp3", ".opus", ".ogg", ".oga", ".m4a", ".mp4", ".m4v", ".mov"}
AV_SUFFIXES |= {".webm", ".mkv"}
_PNG_TEXT_CHUNKS = {b"tEXt", b"zTXt", b"iTXt", b"comf"}
_MAX_TEXT = 64 * 1024 * 1024  # a text chunk larger than this is not a graph


class UnreadableFile(Exception):
    """The file is cut short, damaged, or carries a graph that is not JSON (one line)."""


@dataclass(frozen=True)
class Embedded:
    """The API graph (`prompt`) and the UI graph (`workflow`) a file carries, if any."""

    prompt: JsonObject | None
    workflow: JsonObject | None


NOTHING = Embedded(None, None)


def read_embedded(path: Path) -> Embedded:
    """What `path` carries; NOTHING for a file of a kind ComfyUI embeds nothing in."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            fh.seek(0)
            if head.startswith(PNG_SIGNATURE):
                texts = _png_texts(fh)
            elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
                texts = _webp_texts(fh, Path(path).stat().st_size)
            elif Path(path).suffix.lower() in AV_SUFFIXES:
                texts = _av_texts(path)
            else:
                return NOTHING
    except OSError as exc:
        raise UnreadableFile(f"could not read it: {exc.strerror or exc}") from exc
    return Embedded(_graph(texts, "prompt"), _graph(texts, "workflow"))


def _graph(texts: dict[str, str], key: str) -> JsonObject | None:
    text = texts.get(key)
    if text is None:
        return None
    try:  # core.jsontext: nothing too deep, no NaN, no lone surrogate (SQLite cannot hold one)
        value = jsontext.loads(text)
        if isinstance(value, str):  # some tools store the JSON text JSON-encoded once more
            value = jsontext.loads(value)
    except ValueError as exc:
        raise UnreadableFile(f"its embedded {key} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise UnreadableFile(f"its embedded {key} is {type(value).__name__}, not a graph")
    return value


# --------------------------------------------------------------------------- PNG


def _png_texts(fh: BinaryIO) -> dict[str, str]:
    """Text chunks up to IEND; IDAT and other chunks are skipped, never decoded."""
    fh.seek(len(PNG_SIGNATURE))
    texts: dict[str, str] = {}
    while True:
        offset = fh.tell()
        header = _exactly(fh, 8, offset, "a chunk header")
        length, kind = struct.unpack(">I4s", header)
        if kind == b"IEND":
            return texts
        if kind in _PNG_TEXT_CHUNKS and length <= _MAX_TEXT:
            data = _exactly(fh, length, offset, f"the {kind.decode('latin-1')} chunk")
            crc = _exactly(fh, 4, offset, "a chunk checksum")
            if zlib.crc32(kind + data) != struct.unpack(">I", crc)[0]:
                raise UnreadableFile(f"its {kind.decode()} chunk at byte {offset} is damaged")
            key, text = _png_text(kind, data, offset)
            if key in GRAPH_KEYS:
                texts.setdefault(key, text)
        else:
            _skip(fh, length + 4, offset, kind)


def _png_text(kind: bytes, data: bytes, offset: int) -> tuple[str, str]:
    key, sep, rest = data.partition(b"\0")
    try:
        if not sep:
            raise ValueError("no keyword separator")
        if kind == b"zTXt":
            return key.decode("latin-1"), zlib.decompress(rest[1:]).decode("latin-1")
        if kind == b"iTXt":
            compressed, rest = rest[0], rest[2:]
            text = rest.split(b"\0", 2)[2]
            text = zlib.decompress(text) if compressed else text
            return key.decode("latin-1"), text.decode("utf-8")
        return key.decode("latin-1"), rest.decode("latin-1")
    except (ValueError, IndexError, zlib.error) as exc:
        problem = f"its {kind.decode()} chunk at byte {offset} is malformed ({exc})"
        raise UnreadableFile(problem) from None


def _exactly(fh: BinaryIO, size: int, offset: int, what: str) -> bytes:
    data = fh.read(size)
    if len(data) < size:
        raise UnreadableFile(f"it is cut short: {what} at byte {offset} is incomplete")
    return data


def _skip(fh: BinaryIO, size: int, offset: int, kind: bytes) -> None:
    end = fh.seek(size, 1)
    if fh.seek(0, 2) < end:
        name = kind.decode("latin-1", "replace")
        raise UnreadableFile(f"it is cut short: the {name} chunk at byte {offset} is incomplete")
    fh.seek(end)


# --------------------------------------------------------------------------- WEBP


def _webp_texts(fh: BinaryIO, file_size: int) -> dict[str, str]:
    """The EXIF chunk's `key:json` strings; the RIFF sizes must fit the file."""
    declared = struct.unpack("<I", fh.read(8)[4:])[0] + 8
    if declared > file_size:
        raise UnreadableFile(f"it is cut short: {file_size} of {declared} bytes")
    fh.seek(12)
    exif = xmp = b""
    while fh.tell() + 8 <= declared:
        offset = fh.tell()
        kind, size = struct.unpack("<4sI", fh.read(8))
        if offset + 8 + size > declared:
            name = kind.decode("latin-1", "replace")
            raise UnreadableFile(f"its {name} chunk at byte {offset} is malformed")
        if kind == b"EXIF":
            exif = fh.read(size)
        elif kind == b"XMP ":
            xmp = fh.read(size)
        fh.seek(offset + 8 + size + (size & 1))
    return {**_xmp_texts(xmp), **(_exif_texts(exif) if exif else {})}


def _xmp_texts(raw: bytes) -> dict[str, str]:
    """`prompt`/`workflow` JSON in an XMP packet (how other tools than ComfyUI store it), as
    an element or attribute of that name (XML-escaped), read to the end of the JSON object."""
    text = html.unescape(raw.decode("utf-8", "replace"))
    found = {}
    for key in GRAPH_KEYS:
        match = re.search(rf"\b{key}\b[\"']?\s*(?:=\s*[\"']|>|:)\s*(?=\{{)", text)
        if match:
            try:
                _, end = json.JSONDecoder().raw_decode(text, match.end())
            except (ValueError, RecursionError):  # parsed for real (depth-checked) later
                continue
            found[key] = text[match.end() : end]
    return found


def _exif_texts(exif: bytes) -> dict[str, str]:
    """ASCII entries of IFD0 written as `key:value` (tags 0x0110 downwards)."""
    data = exif[6:] if exif.startswith(b"Exif\0\0") else exif
    try:
        order = {b"II": "<", b"MM": ">"}[data[:2]]
        (ifd,) = struct.unpack_from(order + "I", data, 4)
        (count,) = struct.unpack_from(order + "H", data, ifd)
        texts: dict[str, str] = {}
        for n in range(count):
            tag, kind, size, value = struct.unpack_from(order + "HHII", data, ifd + 2 + 12 * n)
            if kind == 2 and 0x0100 <= tag <= 0x0110:
                raw = data[value : value + size] if size > 4 else data[ifd + 10 + 12 * n :][:size]
                key, sep, text = raw.rstrip(b"\0").decode("utf-8").partition(":")
                if sep and key in GRAPH_KEYS:
                    texts.setdefault(key, text)
        return texts
    except (KeyError, struct.error, UnicodeDecodeError) as exc:
        raise UnreadableFile(f"its EXIF block is malformed ({type(exc).__name__})") from None


# --------------------------------------------------------------------------- audio and video


def _av_texts(path: Path) -> dict[str, str]:
    """Container (and, for Ogg, stream) metadata; the file is opened, never decoded."""
    av = load_av()
    if av is None:
        raise UnreadableFile("PyAV is not installed, so audio and video files cannot be read")
    try:
        with av.open(str(path), metadata_errors="replace") as container:
            found = [container.metadata, *(stream.metadata for stream in container.streams)]
    except av.FFmpegError as exc:
        raise UnreadableFile(f"it is damaged or cut short ({_av_reason(exc)})") from None
    texts: dict[str, str] = {}
    for metadata in found:
        for key, value in metadata.items():
            if key.lower() in GRAPH_KEYS:
                texts.setdefault(key.lower(), value)
    return texts


def _av_reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc).split(":")[0] or type(exc).__name__
