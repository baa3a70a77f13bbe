"""Recording takes: a stored file becomes an artifact record, then a gallery preview.

Every executor (ComfyUI and the other backend families) records its files through one
`TakeRecorder`, so artifacts look alike whichever backend made them; `job_started` and
`progress_event` make their start and progress events alike too. Records are written on
the job's worker thread; previews are made on one low-priority thumbnail thread and announced
with PreviewReady.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from core.jobs import ArtifactSaved, JobEvent, JobProgress, JobStarted, PreviewReady
from core.models import ArtifactRecord, JobRecord, PromptRecord
from executors import previews, storage
from executors.storage import StoredFile

Emit = Callable[[JobEvent], None]


class TakeRecorder:
    def __init__(self, store: storage.ArtifactStore, artifacts: Any, thumbnails: Path):
        self.store = store
        self.artifacts = artifacts
        self.thumbnails = thumbnails
        self._thumbnailer = ThreadPoolExecutor(1, "thumbnails", initializer=_lower_priority)
        self._pending: list[Future] = []

    def record(
        self,
        job: JobRecord,
        prompt: PromptRecord,
        stored: StoredFile,
        metadata: dict[str, Any],
        emit: Emit,
    ) -> ArtifactRecord:
        """The artifact record of one stored file (media facts read from the file)."""
        facts = storage.media_facts(stored.path)
        record = self.artifacts.add(
            prompt_id=prompt.id,
            job_id=job.id,
            kind=prompt.kind,
            path=self.store.relative(stored.path),
            sha256=stored.sha256,
            size=stored.size,
            width=facts.get("width"),
            height=facts.get("height"),
            duration_s=facts.get("duration_s"),
            metadata={**metadata, "media": facts},
        )
        emit(ArtifactSaved(job.id, record.id, record.path))
        return record

    def preview_later(self, job_id: int, records: list[ArtifactRecord], emit: Emit) -> None:
        """Queue the gallery pictures of a take's records on the thumbnail thread."""
        for record in records:
            take_dir = self.store.absolute(record.path).parent
            folder = self.thumbnails / take_dir.relative_to(self.store.root)
            self._pending.append(
                self._thumbnailer.submit(self._make_preview, job_id, record, folder, emit)
            )

    def _make_preview(self, job_id: int, record: ArtifactRecord, folder: Path, emit: Emit) -> None:
        preview = previews.make_preview(self.store.absolute(record.path), folder)
        if preview is not None:
            relative = self.store.relative(preview)
            self.artifacts.set_preview(record.id, relative)
            emit(PreviewReady(job_id, record.id, relative))

    def drain(self) -> None:
        """Wait until every take's preview is made (the CLI does before it reports)."""
        while self._pending:
            self._pending.pop(0).result()


def job_started(job_id: int, server: str, submission: dict[str, Any]) -> JobStarted:
    """The start event of a prepared submission: its template, tier and why that tier."""
    template = submission["template"]
    return JobStarted(
        job_id,
        server,
        f"{template['function']}/{template['quality']}",
        submission["tier"],
        submission["tier_reason"] or "",
    )


def progress_event(job_id: int, started: float, fraction: float | None, label: str) -> JobProgress:
    """Progress with an ETA extrapolated from the time since `started` (time.monotonic);
    no ETA until 2 % is done."""
    elapsed = time.monotonic() - started
    eta = elapsed * (1 - fraction) / fraction if fraction and fraction > 0.02 else None
    return JobProgress(job_id, fraction or 0.0, label, eta)


def _lower_priority() -> None:
    """Thumbnail work yields to the window and the job threads (tk-notes: p99 stall 31 -> 7 ms)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
