"""Atomic file writes: the one way a file is replaced.

A write goes to a temporary file in the destination's folder, is flushed to disk (fsync), then
renamed over the destination (os.replace) and the folder is synced (POSIX, best effort): a crash
or a full disk leaves the old file or the new one, never a part of one, and no temporary file.
OSError propagates; each caller says in its own words what failed and what to do.

`write_text` / `write_bytes` / `write_chunks` (streamed and hashed) cover ordinary writes; a
writer that fills a file by its path (SQLite's backup API, a copy) uses `Staged` directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

FILE_MODE = 0o644  # mkstemp makes 0600; an ordinary file is readable like any other
PRIVATE_MODE = 0o600  # for a file that holds a secret
TEMP_SUFFIX = ".part"


@dataclass(frozen=True)
class Written:
    """What `write_chunks` put in place: its SHA-256 (hex) and its size in bytes."""

    sha256: str
    size: int


class Staged:
    """A new, empty temporary file beside `dest` that `commit()` moves over `dest`.

    Used as a context manager: when the block ends without a commit (an exception, a refused
    check) the temporary file is removed and `dest` is left as it was.
    """

    def __init__(self, dest: Path, mode: int = FILE_MODE):
        self.dest = Path(dest)
        fd, name = tempfile.mkstemp(
            dir=self.dest.parent, prefix=f".{self.dest.name[:60]}.", suffix=TEMP_SUFFIX
        )
        self.path = Path(name)
        self._committed = False
        try:
            if hasattr(os, "fchmod"):
                with contextlib.suppress(OSError):
                    os.fchmod(fd, mode)
        finally:
            os.close(fd)

    def __enter__(self) -> Staged:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if not self._committed:
            with contextlib.suppress(OSError):
                self.path.unlink()

    def fill(self, chunks: Iterable[bytes]) -> Written:
        """Write `chunks` to the temporary file, hashing them, and flush it to disk."""
        digest, size = hashlib.sha256(), 0
        with self.path.open("wb") as handle:
            for chunk in chunks:
                digest.update(chunk)
                size += handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        return Written(digest.hexdigest(), size)

    def commit(self) -> None:
        """Move the temporary file over `dest` and sync the folder."""
        os.replace(self.path, self.dest)
        self._committed = True
        sync_folder(self.dest.parent)


def write_chunks(
    chunks: Iterable[bytes],
    dest: Path,
    *,
    mode: int = FILE_MODE,
    check: Callable[[Path], None] | None = None,
) -> Written:
    """Write `chunks` to `dest` atomically; `check` (the finished temporary file) may refuse it
    by raising, before it is moved into place."""
    with Staged(dest, mode) as staged:
        written = staged.fill(chunks)
        if check is not None:
            check(staged.path)
        staged.commit()
    return written


def write_bytes(dest: Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    write_chunks([data], dest, mode=mode)


def write_text(
    dest: Path,
    text: str,
    *,
    mode: int = FILE_MODE,
    check: Callable[[Path], None] | None = None,
) -> None:
    """Write `text` (UTF-8) to `dest` atomically; `check` as for `write_chunks`."""
    write_chunks([text.encode("utf-8")], dest, mode=mode, check=check)


def sync_folder(folder: Path) -> None:
    """Persist a rename in `folder` (POSIX); best effort."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
