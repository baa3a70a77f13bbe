"""Writing a file into place with core.atomic, hashed on the way, and disk errors in plain words.

Every write goes to a temp file in the same folder, is fsynced and then ``os.replace``d into
place, so a crash never leaves a partial file under its final name.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core import atomic
from core.errors import StorageError

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    """A file written into place: where it is, its SHA-256 (hex) and its size in bytes."""

    path: Path
    sha256: str
    size: int


@contextlib.contextmanager
def disk_errors(action: str, path: Path) -> Iterator[None]:
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
    with disk_errors("create the folder for", dest):
        dest.parent.mkdir(parents=True, exist_ok=True)
        staged = atomic.Staged(dest)
    with staged:
        with disk_errors("write", dest):
            written = staged.fill(chunks)
        if check is not None:
            check(staged.path, dest)
        with disk_errors("move into place", dest):
            staged.commit()
    return StoredFile(dest, written.sha256, written.size)


def store_bytes(data: bytes, dest: Path) -> StoredFile:
    """Write data to dest atomically."""
    return write_stream([bytes(data)], dest)


def store_file(src: Path, dest: Path) -> StoredFile:
    """Copy src to dest atomically (streamed, hashed on the way)."""
    return write_stream(read_chunks(Path(src)), dest)


def read_chunks(src: Path) -> Iterator[bytes]:
    try:
        with src.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
    except OSError as exc:
        raise StorageError(
            f"Could not read {src}: {exc.strerror or exc}. Check that the file exists "
            "and is readable."
        ) from exc
