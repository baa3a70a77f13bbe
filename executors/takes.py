"""Recording takes: stored files become artifact records, then gallery previews.

Every executor (ComfyUI and the other backend families) saves its files through one
`TakeRecorder.save_take`, so artifacts look alike whichever backend made them; `job_started` and
`progress_event` make their start and progress events alike too. A take is all its files or
none: every file is stored in a new take folder first, then all its records are written in one
transaction; any failure removes the folder and writes no record. Records are written on the
job's worker thread; previews are made on one low-priority thumbnail thread and announced with
PreviewReady. `recover` (on start, on that thread) forgets records whose files are gone and makes
the previews a crash left unmade.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from core.errors import StorageError
from core.jobs import ArtifactSaved, JobProgress, JobStarted, PreviewReady, Submission
from core.json_types import JsonObject
from core.models import ArtifactFile, ArtifactRecord, JobRecord, NewArtifact, PromptRecord
from core.ports import ArtifactRecords, Emit
from executors import previews, storage
from executors.storage import StoredFile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TakeFile:
    """One file of a take, stored in its take folder, and what to record with it."""

    stored: StoredFile
    metadata: JsonObject


Fetch = Callable[[Path], TakeFile]  # stores one output into the given take folder
SWEEP_MARKER = ".takes-checked"  # in the home: when records were last checked against files
SWEEP_EVERY_S = 24 * 3600


@dataclass(frozen=True)
class Recovery:
    """What `recover` found: records whose files are gone (removed unless held back), and
    previews made for takes that had none."""

    missing: tuple[str, ...] = ()
    removed: int = 0
    previews: int = 0
    held_back: str = ""  # why missing records were kept (every file gone: a moved folder?)


class TakeRecorder:
    def __init__(self, store: storage.ArtifactStore, artifacts: ArtifactRecords, thumbnails: Path):
        self.store = store
        self.artifacts = artifacts
        self.thumbnails = thumbnails
        self._thumbnailer = ThreadPoolExecutor(1, "thumbnails", initializer=_lower_priority)
        self._pending: list[Future[object]] = []
        self._stopping = threading.Event()  # the start-up sweep ends early (quitting)

    def save_take(
        self, job: JobRecord | None, prompt: PromptRecord, fetches: Iterable[Fetch], emit: Emit
    ) -> list[ArtifactRecord]:
        """Store every file of a take in a new take folder, then write all their records in
        one transaction; on any failure the folder is removed and no record is written. `job`
        is None for a take no job made (library import); its events carry job id 0."""
        take_dir = self.store.make_take_dir(prompt.kind.value, prompt.id)
        try:
            files = [fetch(take_dir) for fetch in fetches]
            records = self.artifacts.add_take([self._row(job, prompt, file) for file in files])
        except BaseException:
            self.store.discard(take_dir)
            raise
        for record in records:
            emit(ArtifactSaved(job.id if job else 0, record.id, record.path))
        self.preview_later(job.id if job else 0, records, emit)
        return records

    def _row(self, job: JobRecord | None, prompt: PromptRecord, file: TakeFile) -> NewArtifact:
        """The record of one stored file (media facts read from the file)."""
        facts = storage.media_facts(file.stored.path)
        return NewArtifact(
            prompt_id=prompt.id,
            job_id=job.id if job else None,
            kind=prompt.kind,
            path=self.store.relative(file.stored.path),
            sha256=file.stored.sha256,
            size=file.stored.size,
            width=facts.get("width"),
            height=facts.get("height"),
            duration_s=facts.get("duration_s"),
            metadata={**file.metadata, "media": facts, **_from_job(job)},
        )

    def preview_later(self, job_id: int, records: list[ArtifactRecord], emit: Emit) -> None:
        """Queue the gallery pictures of a take's records on the thumbnail thread."""
        for record in records:
            self._pending.append(
                self._thumbnailer.submit(self._make_preview, job_id, record.id, record.path, emit)
            )

    def _make_preview(self, job_id: int, artifact_id: int, path: str, emit: Emit) -> bool:
        source = self.store.absolute(path)
        folder = self.thumbnails / source.parent.relative_to(self.store.root)
        preview = previews.make_preview(source, folder)
        if preview is None:
            return False
        relative = self.store.relative(preview)
        self.artifacts.set_preview(artifact_id, relative)
        emit(PreviewReady(job_id, artifact_id, relative))
        return True

    def recover_later(self, emit: Emit) -> None:
        """At start, on the thumbnail thread (`drain` waits for it too): make the previews a
        crash left unmade, and once a day `recover` (~2 s at 300k records: bench/RESULTS.md)."""
        self._pending.append(self._thumbnailer.submit(self._recover_on_start, emit))

    def _recover_on_start(self, emit: Emit) -> None:
        marker = self.store.home / SWEEP_MARKER
        try:
            if _older_than(marker, SWEEP_EVERY_S):
                marker.touch()
                self.recover(emit)
            else:
                self._preview_all(self._all_files(without_preview=True), emit)
        except Exception:  # noqa: BLE001 - a failed check must not fail the jobs that follow
            log.exception("could not check the take files")

    def scan(self) -> tuple[list[ArtifactFile], list[ArtifactFile]]:
        """(records whose files are gone, records with a file but no preview), read in pages
        without loading any record's metadata."""
        missing, unpreviewed = [], []
        for file in self._all_files():
            if not self._exists(file.path):
                missing.append(file)
            elif file.preview_path is None:
                unpreviewed.append(file)
        return missing, unpreviewed

    def recover(self, emit: Emit, *, force: bool = False) -> Recovery:
        """Forget records whose files are gone (each logged) and make missing previews.

        When every record's file is gone the folder was more likely moved or unmounted than
        damaged: the records are kept (and the reason returned) unless `force`."""
        missing, unpreviewed = self.scan()
        made = self._preview_all(unpreviewed, emit)
        total = self.artifacts.count()
        held_back = ""
        if missing and len(missing) == total and total > 1 and not force:
            held_back = f"none of the {total} take files is in {self.store.root}"
            log.warning("%s: moved or unmounted? No record changed", held_back)
        removed = 0 if held_back else self._forget(missing)
        return Recovery(tuple(f.path for f in missing), removed, made, held_back)

    def _all_files(self, *, without_preview: bool = False) -> Iterable[ArtifactFile]:
        after = 0
        while page := self.artifacts.files(after_id=after, without_preview=without_preview):
            yield from page
            after = page[-1].id

    def _exists(self, path: str) -> bool:
        try:
            return self.store.exists(path)
        except StorageError:
            return False

    def _forget(self, missing: list[ArtifactFile]) -> int:
        for file in missing:
            log.warning(
                "take record %s (prompt %s, job %s) removed: its file %s is gone",
                file.id, file.prompt_id, file.job_id, file.path,
            )  # fmt: skip
        removed = self.artifacts.forget([f.id for f in missing]) if missing else 0
        if removed:
            log.warning("removed %d take records whose files are gone", removed)
        return removed

    def _preview_all(self, files: Iterable[ArtifactFile], emit: Emit) -> int:
        """Previews for takes found without one; stops early when quitting (made next start)."""
        made = 0
        for file in files:
            if self._stopping.is_set():
                break
            made += self._make_preview(file.job_id or 0, file.id, file.path, emit)
        return made

    def stop_sweep(self) -> None:
        """Quitting: the start-up sweep stops at the next take (takes' own previews still
        finish: `drain` waits for them)."""
        self._stopping.set()

    def drain(self) -> None:
        """Wait until every take's preview is made (the CLI does before it reports)."""
        while self._pending:
            self._pending.pop(0).result()


def _from_job(job: JobRecord | None) -> JsonObject:
    """The saved prompt version a take was made from, as its job froze it at queue time, and
    the batch of variations it belongs to (if any)."""
    spec = job.spec if job else None
    found = {
        "prompt_version": spec.prompt_version if spec else None,
        "batch": spec.batch if spec else None,
    }
    return {key: value for key, value in found.items() if value is not None}


def run_metadata(submission: Submission) -> JsonObject:
    """What a take's metadata records of the template run that made it (every backend)."""
    return {
        "template": submission.template,
        "tier": submission.tier,
        "requested_tier": submission.requested_tier,
        "tier_reason": submission.tier_reason,
        "seed": submission.seed,
        "values": submission.values,
    }


def job_started(job_id: int, server: str, submission: Submission) -> JobStarted:
    """The start event of a prepared submission: its template, tier and why that tier."""
    return JobStarted(
        job_id, server, submission.template_name, submission.tier, submission.tier_reason or ""
    )


def progress_event(job_id: int, started: float, fraction: float | None, label: str) -> JobProgress:
    """Progress with an ETA extrapolated from the time since `started` (time.monotonic);
    no ETA until 2 % is done."""
    elapsed = time.monotonic() - started
    eta = elapsed * (1 - fraction) / fraction if fraction and fraction > 0.02 else None
    return JobProgress(job_id, fraction or 0.0, label, eta)


def _older_than(marker: Path, seconds: float) -> bool:
    try:
        return time.time() - marker.stat().st_mtime >= seconds
    except OSError:
        return True


def _lower_priority() -> None:
    """Thumbnail work yields to the window and the job threads (tk-notes: p99 stall 31 -> 7 ms)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
