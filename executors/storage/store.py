"""The artifact files under ``<home>/artifacts``: take folders, safe paths, paths relative to home.

Layout: ``<home>/artifacts/<kind>/<prompt id>_<timestamp>/<file>`` with kind image|audio|video.
A take file is bounded (``Limits``: size, stall, time) and must be the media its name says
before it is moved into place; paths in the database are relative to the home.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import shutil
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath

from core.errors import StorageError
from executors.downloads import Limits, bounded
from executors.storage.files import StoredFile, disk_errors, read_chunks, write_stream
from executors.storage.media import KINDS, verify_media
from executors.storage.names import clean_part, safe_filename, split_ext

log = logging.getLogger(__name__)

_ANCHORED = re.compile(r"/|[A-Za-z]:")  # a stored path that is not relative to the home


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
        base = self.root / kind / f"{clean_part(str(prompt_id)) or 'prompt'}_{stamp}"
        with disk_errors("create the take folder", base):
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
        stem, ext = split_ext(path.name)
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
        return self.write_stream(read_chunks(Path(src)), dest)

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
