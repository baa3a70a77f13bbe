"""The library database: one SQLite file in WAL mode, versioned migrations, one writer at a time.

Opening checks the file first (repositories/library.py): a damaged or truncated library is
refused before anything is written, a healthy one is backed up daily and before migrations.

Threads: any thread may read (peewee keeps one connection per thread; WAL readers never block).
Every write goes through `Database.write()`: an app-level lock plus BEGIN IMMEDIATE, which the
measurements in tk-notes.md show is what keeps "database is locked" away under 4 writer threads.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import peewee

from core.errors import DatabaseError
from repositories import library
from repositories.tables import DB

PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "busy_timeout": 5000,
    "foreign_keys": 1,
    "cache_size": -64000,
    "temp_store": "memory",
}

MIGRATIONS: tuple[str, ...] = (
    # 1: records
    """
    CREATE TABLE prompt (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL, title TEXT NOT NULL, data TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'draft', error TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]', favorite INTEGER NOT NULL DEFAULT 0,
        search_text TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL, updated_at REAL NOT NULL, deleted_at REAL);
    CREATE INDEX prompt_live_updated ON prompt (deleted_at, updated_at, id);
    CREATE INDEX prompt_status_updated ON prompt (status, deleted_at, updated_at, id);
    CREATE INDEX prompt_kind_updated ON prompt (kind, deleted_at, updated_at, id);
    CREATE TABLE prompt_tag (
        tag TEXT NOT NULL,
        prompt_id INTEGER NOT NULL REFERENCES prompt (id) ON DELETE CASCADE,
        PRIMARY KEY (tag, prompt_id)) WITHOUT ROWID;
    CREATE INDEX prompt_tag_prompt ON prompt_tag (prompt_id);
    CREATE TABLE job (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        prompt_id INTEGER NOT NULL REFERENCES prompt (id) ON DELETE CASCADE,
        function TEXT NOT NULL, quality TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'queued',
        backend TEXT NOT NULL DEFAULT '', remote_id TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0, error_kind TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '', params TEXT NOT NULL DEFAULT '{}',
        priority INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL, started_at REAL, finished_at REAL, updated_at REAL NOT NULL);
    CREATE INDEX job_status ON job (status, priority, id);
    CREATE INDEX job_prompt ON job (prompt_id);
    CREATE TABLE artifact (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        prompt_id INTEGER NOT NULL REFERENCES prompt (id) ON DELETE CASCADE,
        job_id INTEGER REFERENCES job (id) ON DELETE SET NULL,
        kind TEXT NOT NULL, path TEXT NOT NULL UNIQUE, preview_path TEXT,
        sha256 TEXT NOT NULL, size INTEGER NOT NULL,
        width INTEGER, height INTEGER, duration_s REAL,
        metadata TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL);
    CREATE INDEX artifact_prompt ON artifact (prompt_id, created_at);
    """,
    # 2: full-text search over title, prompt words and tags, kept in sync by triggers
    """
    CREATE VIRTUAL TABLE prompt_fts USING fts5 (
        title, search_text, tags, content='prompt', content_rowid='id',
        tokenize='porter unicode61');
    CREATE TRIGGER prompt_fts_insert AFTER INSERT ON prompt BEGIN
        INSERT INTO prompt_fts (rowid, title, search_text, tags)
        VALUES (new.id, new.title, new.search_text, new.tags);
    END;
    CREATE TRIGGER prompt_fts_delete AFTER DELETE ON prompt BEGIN
        INSERT INTO prompt_fts (prompt_fts, rowid, title, search_text, tags)
        VALUES ('delete', old.id, old.title, old.search_text, old.tags);
    END;
    CREATE TRIGGER prompt_fts_update AFTER UPDATE OF title, search_text, tags ON prompt BEGIN
        INSERT INTO prompt_fts (prompt_fts, rowid, title, search_text, tags)
        VALUES ('delete', old.id, old.title, old.search_text, old.tags);
        INSERT INTO prompt_fts (rowid, title, search_text, tags)
        VALUES (new.id, new.title, new.search_text, new.tags);
    END;
    INSERT INTO prompt_fts (prompt_fts) VALUES ('rebuild');
    """,
    # 3: the job engine (retry times, cancel requests from other processes, notes, settings);
    # a prompt's status follows its jobs, in the same transaction as the job change
    """
    ALTER TABLE job ADD COLUMN retry_at REAL;
    ALTER TABLE job ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE job ADD COLUMN note TEXT NOT NULL DEFAULT '';
    CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TRIGGER job_insert_prompt_status AFTER INSERT ON job BEGIN
        UPDATE prompt SET status = 'queued', updated_at = new.updated_at
        WHERE id = new.prompt_id;
    END;
    CREATE TRIGGER job_update_prompt_status AFTER UPDATE OF status ON job
    WHEN new.status != old.status BEGIN
        UPDATE prompt SET
            status = CASE
                WHEN EXISTS (SELECT 1 FROM job WHERE prompt_id = new.prompt_id
                             AND status = 'running') THEN 'processing'
                WHEN EXISTS (SELECT 1 FROM job WHERE prompt_id = new.prompt_id
                             AND status IN ('queued', 'waiting')) THEN 'queued'
                ELSE (SELECT CASE status WHEN 'done' THEN 'ready'
                             WHEN 'cancelled' THEN 'cancelled' ELSE 'error' END
                      FROM job WHERE prompt_id = new.prompt_id
                      ORDER BY finished_at DESC, id DESC LIMIT 1)
            END,
            error = CASE WHEN new.status IN ('failed', 'suspect') THEN new.error
                    WHEN new.status = 'done' THEN '' ELSE error END,
            updated_at = new.updated_at
        WHERE id = new.prompt_id;
    END;
    """,
    # 4: job ownership: the process running a job (host/pid/token) and until when its lease
    # holds (renewed while it runs); a running job is taken over only when its owner is gone
    """
    ALTER TABLE job ADD COLUMN owner TEXT NOT NULL DEFAULT '';
    ALTER TABLE job ADD COLUMN lease_until REAL;
    """,
    # 5: library import (issue 12): a file already in the library is found by its SHA-256, and
    # an imported take's prompt by the settings its graph was made with (seeds left out)
    """
    CREATE INDEX artifact_sha256 ON artifact (sha256);
    CREATE INDEX artifact_import_settings ON artifact (json_extract(metadata, '$.import.settings'))
        WHERE json_extract(metadata, '$.import.settings') IS NOT NULL;
    """,
    # 6: choosing and prompt history (issue 14): a take's rating (0 = none, 1-5) and circle (at
    # most one circled take per prompt: a partial unique index); every saved version of a
    # prompt (the current one is the highest number; existing prompts start at version 1)
    """
    ALTER TABLE artifact ADD COLUMN rating INTEGER NOT NULL DEFAULT 0
        CHECK (rating BETWEEN 0 AND 5);
    ALTER TABLE artifact ADD COLUMN circled INTEGER NOT NULL DEFAULT 0;
    CREATE UNIQUE INDEX artifact_circled ON artifact (prompt_id) WHERE circled = 1;
    CREATE INDEX artifact_rated ON artifact (prompt_id, rating) WHERE rating > 0;
    CREATE TABLE prompt_version (
        prompt_id INTEGER NOT NULL REFERENCES prompt (id) ON DELETE CASCADE,
        version INTEGER NOT NULL, title TEXT NOT NULL, data TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]', saved_at REAL NOT NULL,
        PRIMARY KEY (prompt_id, version)) WITHOUT ROWID;
    INSERT INTO prompt_version (prompt_id, version, title, data, tags, saved_at)
        SELECT id, 1, title, data, tags, updated_at FROM prompt;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


_WRITE_LOCK = threading.RLock()  # re-entrant: nested writes in one thread must not deadlock


class Database:
    """The library file. peewee's deferred database is process-wide, so one process works on one
    library at a time: opening another re-points every repository at the new file.
    Opening checks the file (`check=False` skips that, for bench/library_check.py), migrates
    it to SCHEMA_VERSION and makes the daily backup."""

    def __init__(self, path: Path, *, migrate_to: int = SCHEMA_VERSION, check: bool = True):
        self.path = Path(path)
        self.peewee = DB
        if check:
            library.refuse_truncated(self.path)
        DB.init(str(self.path), pragmas=PRAGMAS, timeout=5)
        try:
            self.peewee.connect(reuse_if_open=True)
            if check:
                self._check()
            self._migrate(migrate_to)
        except (peewee.DatabaseError, sqlite3.DatabaseError) as exc:
            self.peewee.close()
            raise library.translate(exc, self.path) from exc
        except DatabaseError:
            self.peewee.close()
            raise

    def _check(self) -> None:
        problems = library.quick_check(self.peewee.connection())
        if problems:
            raise library.damaged(self.path, f"quick_check: {library.first_problem(problems)}")

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE) at a time across all threads. A full disk
        or a damaged file is reported as such (DatabaseError), not as SQLite's words."""
        try:
            with _WRITE_LOCK, self.peewee.atomic():
                yield
        except (peewee.DatabaseError, sqlite3.DatabaseError) as exc:
            translated = library.serious(exc, self.path)
            if translated is None:
                raise
            raise translated from exc

    def version(self) -> int:
        self.peewee.execute_sql(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
        )
        row = self.peewee.execute_sql("SELECT max(version) FROM schema_version").fetchone()
        return row[0] or 0

    def _migrate(self, target: int) -> None:
        current = self.version()
        if 0 < current < target or (current and library.backup_due(self.path)):
            reason = f"before-v{target}" if current < target else "daily"
            library.backup(self.peewee.connection(), self.path, reason)
        with self.write():
            current = self.version()
            if current > SCHEMA_VERSION:
                raise DatabaseError(
                    f"the library database {self.path} has schema version {current}, made by a "
                    f"newer Takeboard (this one knows up to {SCHEMA_VERSION}) — update Takeboard, "
                    "or use another --home"
                )
            for version in range(current + 1, target + 1):
                self._run_script(MIGRATIONS[version - 1])
                self.peewee.execute_sql("INSERT INTO schema_version VALUES (?)", (version,))

    def _run_script(self, script: str) -> None:
        for statement in _split_statements(script):
            self.peewee.execute_sql(statement)

    def close(self) -> None:
        """Close this thread's connection (call at the end of a worker thread, and at quit)."""
        if not self.peewee.is_closed():
            with contextlib.suppress(peewee.DatabaseError):
                self.peewee.execute_sql("PRAGMA optimize")
            self.peewee.close()


def _split_statements(script: str) -> list[str]:
    """Split a migration into statements; trigger bodies stay whole (sqlite3.complete_statement)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
