"""Carries engine events from worker threads to the Tk thread, and runs the window's calls to
the engine API (database writes, network) off it.

Workers call `put` (thread-safe, never blocks); the Tk thread drains the queue with after() every
`interval_ms`, at most `batch` events a tick, and within a tick keeps only the newest progress
and preview of each job, so a burst of progress never stalls the window (tk-notes §4).
`call(work, done)` runs `work` on the bridge's one worker thread, in the order the calls were
made, and hands its result to `done` through the same queue, so a job's JobQueued event reaches
the window before the result of the call that queued it.
"""

from __future__ import annotations

import logging
import queue
import threading
import tkinter as tk
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.errors import AppError
from core.jobs import JobEvent, JobPreview, JobProgress

log = logging.getLogger(__name__)
SUPERSEDED = (JobProgress, JobPreview)  # only the newest of these per job matters


@dataclass(frozen=True)
class _Done:
    """A call's result (or the AppError it raised), for `done` on the Tk thread."""

    done: Callable[[Any], None]
    result: Any


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
        self._events: queue.SimpleQueue[JobEvent | _Done] = queue.SimpleQueue()
        self._job: str | None = None
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], Callable[[Any], None]] | None]
        self._calls = queue.SimpleQueue()
        self._worker: threading.Thread | None = None

    def put(self, event: JobEvent) -> None:
        """Any thread."""
        self._events.put(event)

    def call(self, work: Callable[[], Any], done: Callable[[Any], None] = lambda _r: None) -> None:
        """Tk thread: run `work` on the worker; `done(result)` on the Tk thread, where the
        result is an AppError when `work` raised one (any other failure is logged and becomes
        a one-line AppError)."""
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="engine-calls", daemon=True)
            self._worker.start()
        self._calls.put((work, done))

    def _work(self) -> None:
        while (call := self._calls.get()) is not None:
            work, done = call
            self._events.put(_Done(done, _result_of(work)))

    def start(self) -> None:
        self._job = self.root.after(self.interval_ms, self._drain)

    def stop(self) -> None:
        """Stop draining; the worker ends after the call in hand (its result is dropped)."""
        if self._job is not None:
            self.root.after_cancel(self._job)
            self._job = None
        if self._worker is not None:
            self._calls.put(None)
            self._worker = None

    def drain_now(self) -> int:
        """Handle what is waiting (one batch); returns how many items were handled."""
        taken = self._take()
        for item in latest_only(taken):
            if isinstance(item, _Done):
                item.done(item.result)
            else:
                self.handle(item)
        return len(taken)

    def _drain(self) -> None:
        try:
            self.drain_now()
        finally:
            self._job = self.root.after(self.interval_ms, self._drain)

    def _take(self) -> list[JobEvent | _Done]:
        taken: list[JobEvent | _Done] = []
        while len(taken) < self.batch:
            try:
                taken.append(self._events.get_nowait())
            except queue.Empty:
                break
        return taken


def _result_of(work: Callable[[], Any]) -> Any:
    try:
        return work()
    except AppError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 — one line for the user, the rest in the log
        log.exception("a call to the engine failed")
        return AppError(f"that failed ({type(exc).__name__}: {exc}) — see the log")


def latest_only(events: list[Any]) -> list[Any]:
    """Drop progress/preview events that a newer one of the same kind and job replaces."""
    newest = {(type(e), e.job_id): i for i, e in enumerate(events) if isinstance(e, SUPERSEDED)}
    return [
        e
        for i, e in enumerate(events)
        if not isinstance(e, SUPERSEDED) or newest[(type(e), e.job_id)] == i
    ]
