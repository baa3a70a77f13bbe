"""Carries engine events from worker threads to the Tk thread.

Workers call `put` (thread-safe, never blocks); the Tk thread drains the queue with after() every
`interval_ms`, at most `batch` events a tick, and within a tick keeps only the newest progress
and preview of each job, so a burst of progress never stalls the window (tk-notes §4).
"""

from __future__ import annotations

import queue
import tkinter as tk
from collections.abc import Callable

from core.jobs import JobEvent, JobPreview, JobProgress

SUPERSEDED = (JobProgress, JobPreview)  # only the newest of these per job matters


class EventBridge:
    def __init__(
        self,
        root: tk.Misc,
        handle: Callable[[JobEvent], None],
        *,
        interval_ms: int = 30,
        batch: int = 200,
    ):
        self.root, self.handle = root, handle
        self.interval_ms, self.batch = interval_ms, batch
        self._events: queue.SimpleQueue[JobEvent] = queue.SimpleQueue()
        self._job: str | None = None

    def put(self, event: JobEvent) -> None:
        """Any thread."""
        self._events.put(event)

    def start(self) -> None:
        self._job = self.root.after(self.interval_ms, self._drain)

    def stop(self) -> None:
        if self._job is not None:
            self.root.after_cancel(self._job)
            self._job = None

    def drain_now(self) -> int:
        """Handle what is waiting (one batch); returns how many events were handled."""
        taken = self._take()
        for event in latest_only(taken):
            self.handle(event)
        return len(taken)

    def _drain(self) -> None:
        try:
            self.drain_now()
        finally:
            self._job = self.root.after(self.interval_ms, self._drain)

    def _take(self) -> list[JobEvent]:
        taken: list[JobEvent] = []
        while len(taken) < self.batch:
            try:
                taken.append(self._events.get_nowait())
            except queue.Empty:
                break
        return taken


def latest_only(events: list[JobEvent]) -> list[JobEvent]:
    """Drop progress/preview events that a newer one of the same kind and job replaces."""
    newest = {(type(e), e.job_id): i for i, e in enumerate(events) if isinstance(e, SUPERSEDED)}
    return [
        e
        for i, e in enumerate(events)
        if not isinstance(e, SUPERSEDED) or newest[(type(e), e.job_id)] == i
    ]
