"""The library file's health: the check on open, automatic backups, and what a failure means.

On open the file is refused when it is empty while artifacts/ holds takes (it was truncated, not
new) and when `PRAGMA quick_check` finds damage; nothing is written into it then. A healthy file
is copied with SQLite's backup API into <home>/backups/ once a day and before each migration;
the newest BACKUPS_KEPT copies are kept. SQLite errors that mean "damaged" or "disk full" become
DamagedLibrary / DatabaseError messages that say so and what to do.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import time
from datetime import datetime
from pathlib import Path

from core import atomic
from core.errors import DatabaseError

log = logging.getLogger(__name__)

BACKUPS_KEPT = 5
BACKUP_EVERY_S = 24 * 3600
LOW_SPACE_BYTES = 1024 * 1024
_DAMAGE_WORDS = ("malformed", "not a database", "corrupt")
_FULL_WORDS = ("database or disk is full", "no space left")


class DamagedLibrary(DatabaseError):
    """The library file is damaged (or truncated): nothing may be written into it."""


def damaged(path: Path, what: str) -> DamagedLibrary:
    return DamagedLibrary(
        f"the library {path} is damaged ({what}) — nothing was changed; restore the newest backup "
        "with 'python main.py library repair' (see 'python main.py library check')"
    )


def refuse_truncated(path: Path) -> None:
    """An existing empty file is a new library only when no take exists beside it."""
    if path.is_file() and path.stat().st_size == 0 and _has_takes(path.parent / "artifacts"):
        raise damaged(path, "the file is empty but artifacts/ holds takes")


def _has_takes(root: Path) -> bool:
    return root.is_dir() and any(p.is_file() for p in root.rglob("*"))


def inspect(path: Path) -> list[str]:
    """The problems of the library file, read-only: truncation beside takes, then the full
    PRAGMA integrity_check (empty when the file is sound or does not exist yet)."""
    if not path.exists():
        return []
    try:
        refuse_truncated(path)
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return integrity_check(connection)
        finally:
            connection.close()
    except DamagedLibrary:
        return ["the file is empty but artifacts/ holds takes"]
    except sqlite3.Error as exc:
        return [str(exc)]


def quick_check(connection: sqlite3.Connection) -> list[str]:
    """The problems PRAGMA quick_check reports (empty when the file is sound)."""
    rows = [row[0] for row in connection.execute("PRAGMA quick_check").fetchall()]
    return [] if rows == ["ok"] else rows


def integrity_check(connection: sqlite3.Connection) -> list[str]:
    """The problems the full PRAGMA integrity_check reports (empty when sound)."""
    rows = [row[0] for row in connection.execute("PRAGMA integrity_check").fetchall()]
    return [] if rows == ["ok"] else rows


def first_problem(problems: list[str]) -> str:
    """The first line of a check's report that names a problem (not a "*** in database" header)."""
    lines = [line for row in problems for line in row.splitlines() if line.strip()]
    return next((line for line in lines if not line.startswith("***")), lines[0] if lines else "")


def translate(exc: Exception, path: Path) -> DatabaseError:
    """One line for a SQLite error: disk full, damaged, or what it said."""
    return serious(exc, path) or DatabaseError(
        f"cannot use the library database {path}: {exc} — check the file is a Takeboard "
        "database, or start with another --home"
    )


def serious(exc: Exception, path: Path) -> DatabaseError | None:
    """DatabaseError when a SQLite error means a full disk or a damaged file, else None."""
    text = str(exc).lower()
    if _disk_full(exc, text, path):
        return DatabaseError(
            f"disk full: cannot write the library {path} — free some space on its disk, then "
            "try again"
        )
    if any(word in text for word in _DAMAGE_WORDS):
        return damaged(path, str(exc))
    if "database is locked" in text:  # another connection kept its write lock past busy_timeout
        return DatabaseError(
            f"the library {path} stayed locked by another program — close it (or wait for "
            "it), then try again"
        )
    return None


def _disk_full(exc: Exception, text: str, path: Path) -> bool:
    if getattr(exc, "errno", None) == errno.ENOSPC or any(w in text for w in _FULL_WORDS):
        return True
    if "disk i/o error" not in text:
        return False
    try:  # SQLite reports a full disk while opening its journal as a plain I/O error
        return shutil.disk_usage(path.parent).free < LOW_SPACE_BYTES
    except OSError:
        return False


# --------------------------------------------------------------------------- backups


def backup_folder(library: Path) -> Path:
    return library.parent / "backups"


def backups(library: Path) -> list[Path]:
    """The backups of `library`, newest first."""
    folder = backup_folder(library)
    found = folder.glob(f"{library.stem}-*.db") if folder.is_dir() else []
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def backup_due(library: Path) -> bool:
    newest = backups(library)
    return not newest or time.time() - newest[0].stat().st_mtime >= BACKUP_EVERY_S


def backup(connection: sqlite3.Connection, library: Path, reason: str) -> Path | None:
    """Copy the open library into backups/ (SQLite backup API: a consistent copy even while
    others write) and keep the newest BACKUPS_KEPT; None, logged, when it cannot be written."""
    folder = backup_folder(library)
    dest = folder / f"{library.stem}-{datetime.now():%Y%m%d-%H%M%S-%f}-{reason}.db"
    try:
        folder.mkdir(exist_ok=True)
        with atomic.Staged(dest) as staged:
            target = sqlite3.connect(staged.path)
            try:
                connection.backup(target)
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                target.close()
            staged.commit()
    except (OSError, sqlite3.Error) as exc:
        log.warning("could not back up the library to %s: %s", dest, exc)
        return None
    for old in backups(library)[BACKUPS_KEPT:]:
        old.unlink(missing_ok=True)
    return dest


def restore_newest_good(library: Path) -> Path | None:
    """Move the library (and its -wal/-shm) aside and copy the newest backup that passes the
    integrity check into its place; that backup, or None (nothing changed) when none is good."""
    good = next((b for b in backups(library) if _sound(b)), None)
    if good is None:
        return None
    aside = backup_folder(library) / f"damaged-{library.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        with atomic.Staged(library) as staged:
            shutil.copy2(good, staged.path)  # first, so a full disk leaves everything as it was
            for suffix in ("", "-wal", "-shm"):  # the damaged file and its journal move aside
                if Path(f"{library}{suffix}").exists():
                    os.replace(f"{library}{suffix}", f"{aside}.db{suffix}")
            staged.commit()
    except OSError as exc:
        raise DatabaseError(
            f"could not restore {good} ({exc.strerror or exc}) — free some space on the disk, "
            "then run 'python main.py library repair' again"
        ) from exc
    return good


def _sound(path: Path) -> bool:
    return path.stat().st_size > 0 and not inspect(path)
