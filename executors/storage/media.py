"""What a file is: its media and MIME type from its first bytes or its name, and whether a take
file is the media its name says (magic bytes; images also pass Pillow's verify)."""

from __future__ import annotations

import contextlib
import mimetypes
from pathlib import Path

from core.errors import StorageError
from executors.storage.files import disk_errors

KINDS = ("image", "audio", "video")

# extension -> (media, mime); our own table so results do not depend on the platform.
_BY_EXTENSION: dict[str, tuple[str, str]] = {
    ".png": ("image", "image/png"),
    ".apng": ("image", "image/apng"),
    ".jpg": ("image", "image/jpeg"),
    ".jpeg": ("image", "image/jpeg"),
    ".webp": ("image", "image/webp"),
    ".gif": ("image", "image/gif"),
    ".bmp": ("image", "image/bmp"),
    ".tif": ("image", "image/tiff"),
    ".tiff": ("image", "image/tiff"),
    ".mp4": ("video", "video/mp4"),
    ".m4v": ("video", "video/mp4"),
    ".mov": ("video", "video/quicktime"),
    ".webm": ("video", "video/webm"),
    ".mkv": ("video", "video/x-matroska"),
    ".avi": ("video", "video/x-msvideo"),
    ".flac": ("audio", "audio/flac"),
    ".mp3": ("audio", "audio/mpeg"),
    ".opus": ("audio", "audio/ogg"),
    ".ogg": ("audio", "audio/ogg"),
    ".oga": ("audio", "audio/ogg"),
    ".wav": ("audio", "audio/wav"),
    ".m4a": ("audio", "audio/mp4"),
    ".aac": ("audio", "audio/aac"),
    ".txt": ("text", "text/plain"),
    ".md": ("text", "text/markdown"),
    ".json": ("text", "application/json"),
    ".csv": ("text", "text/csv"),
    ".yaml": ("text", "application/yaml"),
    ".yml": ("text", "application/yaml"),
}

# leading magic bytes -> (media, mime); checked in order.
_MAGIC: list[tuple[int, bytes, tuple[str, str]]] = [
    (0, b"\x89PNG\r\n\x1a\n", ("image", "image/png")),
    (0, b"\xff\xd8\xff", ("image", "image/jpeg")),
    (0, b"GIF8", ("image", "image/gif")),
    (8, b"WEBP", ("image", "image/webp")),
    (8, b"WAVE", ("audio", "audio/wav")),
    (8, b"AVI ", ("video", "video/x-msvideo")),
    (0, b"BM", ("image", "image/bmp")),
    (0, b"II*\x00", ("image", "image/tiff")),
    (0, b"MM\x00*", ("image", "image/tiff")),
    (0, b"\x1a\x45\xdf\xa3", ("video", "video/webm")),
    (0, b"fLaC", ("audio", "audio/flac")),
    (0, b"OggS", ("audio", "audio/ogg")),
    (0, b"ID3", ("audio", "audio/mpeg")),
    (4, b"ftypM4A", ("audio", "audio/mp4")),
    (4, b"ftyp", ("video", "video/mp4")),
]


# extension -> the sniffed mimes (from _MAGIC) a file of that name may have; others unchecked.
_EXPECTED: dict[str, frozenset[str]] = {
    ext: frozenset(mimes.split())
    for ext, mimes in {
        ".png": "image/png",
        ".apng": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".webp": "image/webp",
        ".gif": "image/gif",
        ".bmp": "image/bmp",
        ".tif": "image/tiff",
        ".tiff": "image/tiff",
        ".mp4": "video/mp4 audio/mp4",
        ".m4v": "video/mp4",
        ".mov": "video/mp4",
        ".m4a": "audio/mp4 video/mp4",
        ".webm": "video/webm",
        ".mkv": "video/webm",
        ".avi": "video/x-msvideo",
        ".flac": "audio/flac",
        ".mp3": "audio/mpeg",
        ".aac": "audio/mpeg",
        ".opus": "audio/ogg",
        ".ogg": "audio/ogg",
        ".oga": "audio/ogg",
        ".wav": "audio/wav",
    }.items()
}


def guess_media(path: Path) -> tuple[str, str]:
    """(media, mime) from the file's first bytes, else from its extension."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError:
        head = b""
    return _sniff(head) or _by_extension(path) or _text_or_other(head)


def _sniff(head: bytes) -> tuple[str, str] | None:
    for offset, magic, result in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return result
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return ("audio", "audio/mpeg")  # MPEG audio frame sync
    return None


def verify_media(path: Path, dest: Path) -> None:
    """StorageError unless the file at `path` is the media `dest`'s name says (magic bytes;
    images must also pass Pillow's verify). Names of other types are not checked."""
    expected = _EXPECTED.get(Path(dest).suffix.lower())
    if expected is None:
        return
    with disk_errors("read", path), Path(path).open("rb") as fh:
        head = fh.read(64)
    sniffed = _sniff(head)
    if sniffed is None or sniffed[1] not in expected:
        raise StorageError(
            f"{dest.name}: the server sent {_describe(head)}, not the {dest.suffix[1:].upper()} "
            "file its name says — nothing was stored; check the server's address and login (a "
            "proxy or login page may have answered) and its log"
        )
    if sniffed[0] == "image":
        _verify_image(path, dest)


def _describe(head: bytes) -> str:
    if not head:
        return "an empty file"
    sniffed = _sniff(head)
    if sniffed is not None:
        return f"{sniffed[1]} data"
    if head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    kind = _text_or_other(head)[0]
    return "text" if kind == "text" else "unrecognised data"


def _verify_image(path: Path, dest: Path) -> None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.verify()
    except Exception as exc:  # noqa: BLE001 - any decoder complaint means a broken file
        raise StorageError(
            f"{dest.name}: the image is damaged or incomplete ({exc}) — nothing was stored; "
            "retry the job"
        ) from exc


def _by_extension(path: Path) -> tuple[str, str] | None:
    suffix = path.suffix.lower()
    if suffix in _BY_EXTENSION:
        return _BY_EXTENSION[suffix]
    mime = mimetypes.guess_type(path.name)[0]
    if mime is None:
        return None
    media = mime.split("/")[0]
    return (media if media in (*KINDS, "text") else "other", mime)


def _text_or_other(head: bytes) -> tuple[str, str]:
    if head and b"\x00" not in head:
        with contextlib.suppress(UnicodeDecodeError):
            head.decode("utf-8")
            return ("text", "text/plain")
    return ("other", "application/octet-stream")
