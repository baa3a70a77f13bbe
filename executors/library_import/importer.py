"""Import a folder of ComfyUI outputs: each file with an embedded graph becomes a take.

Files made from the same settings (the API graph with its seeds left out, and the same media
kind) become takes of ONE prompt, in this run and across runs (the settings key is kept in the
take's metadata and looked up by index). A file already in the library (same SHA-256) is a
duplicate and adds nothing. Each take keeps the exact API graph as `workflow` (as generated
takes do) and the UI graph as `ui_workflow`. A file is copied into its take folder (atomic, like
downloads) or, with `link`, referenced in place by a symbolic link there. A bad file is
reported and skipped; `cancel` stops between two files, keeping what was done.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import AppError, NotFound, StorageError
from core.jobs import JobEvent
from core.json_types import JsonObject
from core.models import MediaKind, PromptRecord
from core.ports import ImportedArtifacts, PromptWriter
from executors import storage
from executors.library_import.embedded import Embedded, UnreadableFile, read_embedded
from executors.library_import.graph import is_api_graph, settings_key, trace
from executors.library_import.prompt_data import draft
from executors.takes import TakeFile, TakeRecorder

log = logging.getLogger(__name__)
READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ImportProgress:
    """After each file: how many of how many, files per second and the seconds left."""

    done: int
    total: int
    files_per_s: float
    remaining_s: float | None
    current: str


@dataclass(frozen=True)
class ImportSummary:
    folder: str
    seen: int = 0
    imported: int = 0
    duplicates: int = 0
    without_graph: tuple[str, ...] = ()
    not_media: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()  # (path, one-line reason)
    prompts_created: tuple[int, ...] = ()
    cancelled: bool = False

    def as_json(self) -> JsonObject:
        return {
            "folder": self.folder,
            "files_seen": self.seen,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "without_graph": list(self.without_graph),
            "not_media": list(self.not_media),
            "failed": [{"path": path, "reason": reason} for path, reason in self.failed],
            "prompts_created": list(self.prompts_created),
            "cancelled": self.cancelled,
        }


@dataclass
class _Tally:
    imported: int = 0
    duplicates: int = 0
    without_graph: list[str] = field(default_factory=list)
    not_media: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    created: list[int] = field(default_factory=list)


class LibraryImport:
    def __init__(self, prompts: PromptWriter, artifacts: ImportedArtifacts, takes: TakeRecorder):
        self.prompts = prompts
        self.artifacts = artifacts
        self.takes = takes
        self._prompt_by_key: dict[str, PromptRecord] = {}
        self._digests: set[str] = set()

    def run(
        self,
        folder: Path,
        *,
        link: bool = False,
        cancel: threading.Event | None = None,
        progress: Callable[[ImportProgress], None] = lambda _p: None,
        emit: Callable[[JobEvent], None] = lambda _e: None,
    ) -> ImportSummary:
        """Import every file under `folder` (subfolders included, in name order)."""
        files = media_files(folder)
        tally, started, done = _Tally(), time.monotonic(), 0
        for done, path in enumerate(files, 1):
            if cancel is not None and cancel.is_set():
                done -= 1
                break
            self._one(path, link, tally, emit)
            progress(_progress(done, len(files), started, path))
        cancelled = done < len(files)
        return _summary(folder, done, tally, cancelled)

    def _one(self, path: Path, link: bool, tally: _Tally, emit: Callable) -> None:
        kind = storage.guess_media(path)[0]
        if kind not in storage.KINDS:
            tally.not_media.append(str(path))
            return
        try:
            digest = sha256_of(path)
            if digest in self._digests or self.artifacts.known_sha256([digest]):
                tally.duplicates += 1
                return
            embedded = read_embedded(path)
            if embedded.prompt is None or not is_api_graph(embedded.prompt):
                tally.without_graph.append(str(path))
                return
            self._take(path, MediaKind(kind), embedded, digest, link, tally, emit)
            self._digests.add(digest)
            tally.imported += 1
        except (UnreadableFile, AppError) as exc:
            tally.failed.append((str(path), str(exc)))
        except Exception as exc:  # noqa: BLE001 - a file from the wild must not stop the rest
            log.exception("importing %s failed", path)
            reason = f"could not be imported ({type(exc).__name__}: {exc}); details are in the log"
            tally.failed.append((str(path), reason))

    def _take(
        self, path: Path, kind: MediaKind, embedded: Embedded, digest: str, link: bool, tally, emit
    ) -> None:
        graph = embedded.prompt or {}
        key = settings_key(graph, kind.value)
        traced = trace(graph)
        prompt = self._prompt_by_key.get(key) or self._prompt_for(key)
        if prompt is None:
            made = draft(kind, traced, storage.media_facts(path), path.stem)
            prompt = self.prompts.add(made.kind, made.title, made.data)
            tally.created.append(prompt.id)
        self._prompt_by_key[key] = prompt
        metadata = {
            "workflow": graph,
            "ui_workflow": embedded.workflow,
            "seed": traced.seed,
            "import": {"settings": key, "source": str(path), "linked": link},
        }
        fetch = _linker(path, digest) if link else _copier(path)
        self.takes.save_take(None, prompt, [lambda d: TakeFile(fetch(d), metadata)], emit)

    def _prompt_for(self, key: str) -> PromptRecord | None:
        prompt_id = self.artifacts.prompt_for_settings(key)
        try:
            return self.prompts.get(prompt_id) if prompt_id is not None else None
        except NotFound:  # in the trash: the files start a new prompt
            return None


def media_files(folder: Path) -> list[Path]:
    """Every file under `folder` in name order; hidden files and folders are left out."""
    found: list[Path] = []
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        found += [Path(root, name) for name in sorted(names) if not name.startswith(".")]
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(READ_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise UnreadableFile(f"could not read it: {exc.strerror or exc}") from None
    return digest.hexdigest()


def _copier(source: Path) -> Callable[[Path], storage.StoredFile]:
    name = storage.safe_filename(source.name)
    return lambda take_dir: storage.store_file(source, take_dir / name)


def _linker(source: Path, digest: str) -> Callable[[Path], storage.StoredFile]:
    def link(take_dir: Path) -> storage.StoredFile:
        dest = take_dir / storage.safe_filename(source.name)
        try:  # absolute, so the link holds wherever the library is opened from
            os.symlink(source.resolve(), dest)
        except OSError as exc:
            raise StorageError(
                f"could not link {dest} to it: {exc.strerror or exc} — import with --copy"
            ) from None
        return storage.StoredFile(dest, digest, source.stat().st_size)

    return link


def _progress(done: int, total: int, started: float, path: Path) -> ImportProgress:
    elapsed = max(time.monotonic() - started, 1e-6)
    rate = done / elapsed
    return ImportProgress(done, total, rate, (total - done) / rate if rate else None, str(path))


def _summary(folder: Path, seen: int, tally: _Tally, cancelled: bool) -> ImportSummary:
    return ImportSummary(
        str(folder),
        seen,
        tally.imported,
        tally.duplicates,
        tuple(tally.without_graph),
        tuple(tally.not_media),
        tuple(tally.failed),
        tuple(tally.created),
        cancelled,
    )
