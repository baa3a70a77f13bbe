"""Artifact files on disk: safe names, atomic writes, take folders and media facts.

Layout: ``<home>/artifacts/<kind>/<prompt id>_<timestamp>/<file>`` with kind image|audio|video.
Every write goes to a temp file in the same folder, is fsynced and then ``os.replace``d into
place, so a crash never leaves a partial file under its final name. A take file is bounded
(``Limits``: size, stall, time) and must be the media its name says (magic bytes; images also
pass Pillow's verify) before it is moved into place. PyAV is optional and is imported lazily
(``load_av``); without it, audio/video facts are what the file name tells.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import math
import mimetypes
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import ModuleType
from typing import Any, BinaryIO

from core.errors import StorageError
from executors.downloads import Limits, bounded

log = logging.getLogger(__name__)

KINDS = ("image", "audio", "video")
MAX_NAME_BYTES = 200
CHUNK = 1024 * 1024
TEMP_SUFFIX = ".part"

_BAD_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_ANCHORED = re.compile(r"/|[A-Za-z]:")  # a stored path that is not relative to the home
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{dev}{n}" for dev in ("COM", "LPT") for n in [*"123456789", "¹", "²", "³"]
}

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


@dataclass(frozen=True)
class StoredFile:
    """A file written into place: where it is, its SHA-256 (hex) and its size in bytes."""

    path: Path
    sha256: str
    size: int


def load_av() -> ModuleType | None:
    """PyAV if installed, else None. Imported lazily: it is heavy and optional."""
    try:
        import av
    except ImportError:
        return None
    return av


# --------------------------------------------------------------------------- safe names


def safe_filename(name: str, subfolder: str = "") -> str:
    """A plain file name for whatever a server reported; subfolder parts are folded in.

    The result never contains a separator, is never empty, ``.`` or ``..``, is not a Windows
    device name and is at most MAX_NAME_BYTES bytes (UTF-8); the extension is kept.
    """
    base = _clean_part(_parts(name)[-1] if _parts(name) else "")
    folded = [_clean_part(part) for part in _parts(subfolder)]
    stem, ext = _split_ext(base or "file")
    stem = "_".join(part for part in [*folded, stem] if part) or "file"
    if stem.split(".")[0].strip().upper() in _RESERVED:
        stem = f"_{stem}"
    return _truncate(stem, MAX_NAME_BYTES - len(ext.encode())) + ext


def _parts(path: str) -> list[str]:
    """Path components of a reported name, with `.`/`..`/empty parts dropped."""
    parts = str(path).replace("\\", "/").split("/")
    return [part for part in parts if part.strip(" .")]


def _clean_part(part: str) -> str:
    """NFC, without format characters (bidi overrides such as U+202E, zero-width marks) and
    with controls and separators replaced."""
    part = "".join(map(_clean_char, unicodedata.normalize("NFC", part)))
    return _BAD_CHARS.sub("_", part).strip(" .")


def _clean_char(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cf":
        return ""
    return "_" if category in ("Cc", "Zl", "Zp") else char


def _split_ext(name: str) -> tuple[str, str]:
    stem, ext = os.path.splitext(name)
    if not stem or len(ext) > 16 or not ext[1:].isalnum():
        return name, ""
    return stem, ext


def _truncate(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: max(limit, 1)].decode(errors="ignore").rstrip(" .") or "file"


# --------------------------------------------------------------------------- atomic writes


@contextlib.contextmanager
def _disk(action: str, path: Path) -> Iterator[None]:
    """Translate OSError into a StorageError that says what failed and what to do."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise StorageError(
                f"Could not {action} {path}: disk full — free some space on the disk that "
                f"holds {path.parent}, then retry."
            ) from exc
        reason = exc.strerror or str(exc)
        raise StorageError(
            f"Could not {action} {path}: {reason}. "
            f"Check free disk space and write permission for {path.parent}."
        ) from exc


def write_stream(
    chunks: Iterable[bytes], dest: Path, check: Callable[[Path, Path], None] | None = None
) -> StoredFile:
    """Write chunks to dest atomically (temp file, fsync, os.replace) and hash them; `check`
    (temp file, dest) may refuse the finished file before it is moved into place.

    Exceptions raised by the chunk iterator or the check propagate unchanged; disk errors
    (closing the file included) become StorageError. Either way no temp file and no partial
    dest remains.
    """
    dest = Path(dest)
    with _disk("create the folder for", dest):
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{dest.name[:60]}.", suffix=TEMP_SUFFIX, dir=dest.parent
        )
    tmp = Path(tmp_name)
    try:
        with _disk("write", dest), os.fdopen(fd, "wb") as fh:
            sha256, size = _fill(fh, chunks, dest)
        if check is not None:
            check(tmp, dest)
        with _disk("move into place", dest):
            os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(dest.parent)
    return StoredFile(dest, sha256, size)


def _fill(fh: BinaryIO, chunks: Iterable[bytes], dest: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    if hasattr(os, "fchmod"):  # mkstemp makes 0600; artifacts are ordinary files
        with contextlib.suppress(OSError):
            os.fchmod(fh.fileno(), 0o644)
    for chunk in chunks:
        digest.update(chunk)
        with _disk("write", dest):
            size += fh.write(chunk)
    with _disk("write", dest):
        fh.flush()
        os.fsync(fh.fileno())
    return digest.hexdigest(), size


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself (POSIX); best effort."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def store_bytes(data: bytes, dest: Path) -> StoredFile:
    """Write data to dest atomically."""
    return write_stream([bytes(data)], dest)


def store_file(src: Path, dest: Path) -> StoredFile:
    """Copy src to dest atomically (streamed, hashed on the way)."""
    return write_stream(_read_chunks(Path(src)), dest)


def _read_chunks(src: Path) -> Iterator[bytes]:
    try:
        with src.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
    except OSError as exc:
        raise StorageError(
            f"Could not read {src}: {exc.strerror or exc}. Check that the file exists "
            "and is readable."
        ) from exc


# --------------------------------------------------------------------------- the store


class ArtifactStore:
    """Artifact files under ``<home>/artifacts``; paths in the database are relative to home."""

    def __init__(self, home: Path, limits: Limits | None = None):
        self.home = Path(os.path.abspath(home))
        self.root = self.home / "artifacts"
        self.limits = limits or Limits()

    def make_take_dir(self, kind: str, prompt_id: int | str, now: datetime | None = None) -> Path:
        """Create and return a new, unique ``artifacts/<kind>/<prompt id>_<timestamp>/``."""
        kind = str(getattr(kind, "value", kind))
        if kind not in KINDS:
            raise StorageError(f"Unknown artifact kind {kind!r}; use one of {', '.join(KINDS)}.")
        now = now or datetime.now()
        stamp = f"{now:%Y%m%d-%H%M%S}-{now.microsecond // 1000:03d}"
        base = self.root / kind / f"{_clean_part(str(prompt_id)) or 'prompt'}_{stamp}"
        with _disk("create the take folder", base):
            base.parent.mkdir(parents=True, exist_ok=True)
            for n in range(1, 10_000):
                folder = base if n == 1 else base.with_name(f"{base.name}-{n}")
                with contextlib.suppress(FileExistsError):
                    folder.mkdir()
                    return folder
        raise StorageError(f"Could not find a free take folder name next to {base}.")

    def file_in(self, take_dir: Path, name: str, subfolder: str = "") -> Path:
        """A safe, not yet existing path in take_dir for a server-reported file name."""
        path = Path(take_dir) / safe_filename(name, subfolder)
        stem, ext = _split_ext(path.name)
        n = 1
        while path.exists():
            n += 1
            path = path.with_name(f"{stem}_{n}{ext}")
        return path

    def write_stream(
        self, chunks: Iterable[bytes], dest: Path, deadline: float | None = None
    ) -> StoredFile:
        """Store a take file within the limits (and by `deadline`, time.time() seconds, if
        given), only if it is the media its name says; else StorageError and nothing stored."""
        dest = self._inside_artifacts(dest)
        deadline = min(
            math.inf if deadline is None else deadline, time.time() + self.limits.total_s
        )
        return write_stream(bounded(chunks, self.limits, deadline, dest.name), dest, verify_media)

    def store_file(self, src: Path, dest: Path) -> StoredFile:
        return self.write_stream(_read_chunks(Path(src)), dest)

    def store_bytes(self, data: bytes, dest: Path) -> StoredFile:
        return self.write_stream([bytes(data)], dest)

    def relative(self, path: Path | str) -> str:
        """The posix path of path relative to home (a relative path is taken as relative to
        home); refuses a path outside the home."""
        path = Path(path) if Path(path).is_absolute() else self.home / path
        for home, candidate in self._forms(path):
            if candidate.is_relative_to(home) and candidate != home:
                return candidate.relative_to(home).as_posix()
        raise StorageError(
            f"{path} is outside the data home {self.home}; artifacts must be stored under "
            f"{self.root}."
        )

    def absolute(self, rel: str) -> Path:
        """The absolute path for a relative path stored in the database; refuses escapes."""
        rel = str(rel)
        if not rel.strip() or "\x00" in rel or _is_anchored(rel):
            raise StorageError(f"{rel!r} is not a relative artifact path; the record is damaged.")
        path = Path(os.path.normpath(self.home / rel))
        if not path.is_relative_to(self.home) or path == self.home:
            raise StorageError(
                f"{rel!r} points outside the data home {self.home}; the record is damaged "
                "— re-import or delete it."
            )
        return path

    def exists(self, rel: str) -> bool:
        """Whether the stored relative path names a file (one stat for an ordinary path; a
        path that escapes the home raises StorageError, as for `absolute`)."""
        posix = rel.replace("\\", "/")
        plain = rel and not _ANCHORED.match(posix) and "/../" not in f"/{posix}/"
        path = os.path.join(self.home, rel) if plain else self.absolute(rel)
        return os.path.isfile(path)

    def discard(self, take_dir: Path) -> bool:
        """Remove a half-finished take folder; True if something was removed.

        Refuses anything that is not a take folder under artifacts/<kind>/. Removal errors
        are logged, not raised, since this runs while handling another failure.
        """
        folder = Path(os.path.abspath(take_dir))
        rel = folder.relative_to(self.root) if folder.is_relative_to(self.root) else None
        if rel is None or len(rel.parts) != 2 or rel.parts[0] not in KINDS:
            raise StorageError(
                f"Refusing to delete {folder}: it is not a take folder in {self.root}."
            )
        if not folder.exists():
            return False
        shutil.rmtree(folder, ignore_errors=True)
        if folder.exists():
            log.warning(
                "Could not fully remove the failed take folder %s; delete it by hand.", folder
            )
            return False
        return True

    def _forms(self, path: Path) -> list[tuple[Path, Path]]:
        lexical = (self.home, Path(os.path.normpath(path)))
        return [lexical, (self.home.resolve(), path.resolve())]

    def _inside_artifacts(self, dest: Path) -> Path:
        dest = Path(os.path.abspath(dest))
        if not dest.is_relative_to(self.root) or dest.parent == self.root:
            raise StorageError(
                f"Refusing to write {dest}: artifact files belong in a take folder under "
                f"{self.root}."
            )
        return dest


def _is_anchored(rel: str) -> bool:
    return bool(PurePosixPath(rel).anchor or PureWindowsPath(rel).anchor)


# --------------------------------------------------------------------------- media facts


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
    with _disk("read", path), Path(path).open("rb") as fh:
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


def media_facts(path: Path) -> dict[str, Any]:
    """What the file is: media, mime, width, height, frames, duration_s, fps, has_audio.

    Images via Pillow (headers only where possible), audio/video via PyAV when installed.
    Never raises: on a broken file the known facts come back with an "error" message.
    """
    path = Path(path)
    media, mime = guess_media(path)
    facts: dict[str, Any] = {
        "media": media,
        "mime": mime,
        "width": None,
        "height": None,
        "frames": None,
        "duration_s": None,
        "fps": None,
        "has_audio": media == "audio",
        "animated": False,
    }
    if not path.is_file():
        return {**facts, "error": f"{path} does not exist or is not a file"}
    try:
        if media == "image":
            facts.update(_image_facts(path))
        elif media in ("video", "audio"):
            facts.update(_av_facts(path))
    except Exception as exc:  # noqa: BLE001 - a corrupt file must never break a caller
        facts["error"] = f"could not read {path.name}: {type(exc).__name__}: {exc}"
    return facts


def _image_facts(path: Path) -> dict[str, Any]:
    from PIL import Image

    with Image.open(path) as im:
        frames = getattr(im, "n_frames", 1)
        facts = {"width": im.width, "height": im.height, "frames": frames, "animated": frames > 1}
        if frames > 1:
            total_ms = _webp_duration_ms(path) if im.format == "WEBP" else _seek_duration_ms(im)
            facts["duration_s"] = total_ms / 1000 if total_ms else None
            facts["fps"] = round(frames * 1000 / total_ms, 3) if total_ms else None
        return facts


def _seek_duration_ms(im: Any) -> float:
    total = 0.0
    for index in range(im.n_frames):
        im.seek(index)
        total += float(im.info.get("duration") or 0)
    return total


def _webp_duration_ms(path: Path) -> float:
    """Sum of ANMF frame durations read from the RIFF chunks (no pixel decoding)."""
    total = 0
    with path.open("rb") as fh:
        fh.seek(12)
        while len(header := fh.read(8)) == 8:
            size = int.from_bytes(header[4:], "little")
            payload = fh.read(16) if header[:4] == b"ANMF" else b""
            total += int.from_bytes(payload[12:15], "little") if len(payload) == 16 else 0
            fh.seek(fh.tell() - len(payload) + size + (size & 1))
    return float(total)


def _av_facts(path: Path) -> dict[str, Any]:
    av = load_av()
    if av is None:
        return {}
    with av.open(str(path)) as container:
        video = next((s for s in container.streams.video if not is_cover_stream(s)), None)
        facts: dict[str, Any] = {
            "has_audio": bool(container.streams.audio),
            "duration_s": av_duration(container),
        }
        if video is not None:
            facts.update(_video_stream_facts(video, facts["duration_s"]))
        else:
            facts.update(media="audio" if container.streams.audio else "other")
        return facts


def _video_stream_facts(stream: Any, duration_s: float | None) -> dict[str, Any]:
    rate = stream.average_rate or stream.guessed_rate
    fps = round(float(rate), 3) if rate else None
    frames = stream.frames or (round(duration_s * fps) if duration_s and fps else None)
    ctx = stream.codec_context
    return {
        "media": "video",
        "width": ctx.width or None,
        "height": ctx.height or None,
        "fps": fps,
        "frames": frames,
    }


def av_duration(container: Any) -> float | None:
    """Seconds, from the container or else the first stream that knows; None if unknown."""
    if container.duration:
        return container.duration / 1_000_000  # AV_TIME_BASE
    for stream in container.streams:
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
    return None


def is_cover_stream(stream: Any) -> bool:
    """An mp3/flac cover picture shows up as a one-frame video stream."""
    return bool(int(getattr(stream, "disposition", 0) or 0) & 0x400)  # ATTACHED_PIC
