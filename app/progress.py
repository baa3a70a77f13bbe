"""Prints job events for the CLI: a redrawn bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

from core.jobs import (
    ArtifactSaved,
    JobEvent,
    JobFinished,
    JobProgress,
    JobRetrying,
    JobStarted,
    JobWaiting,
)

BAR_WIDTH = 30


class ProgressPrinter:
    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr  # looked up now: tests and tools may replace it
        self.tty = self.stream.isatty()
        self._last_step: dict[int, int] = {}

    def __call__(self, event: JobEvent) -> None:
        if isinstance(event, JobStarted):
            note = f" ({event.note})" if event.note else ""
            self._line(f"job {event.job_id}: {event.template} on {event.server}{note}")
        elif isinstance(event, JobProgress):
            self._progress(event)
        elif isinstance(event, JobWaiting):
            self._line(f"job {event.job_id}: waiting — {event.reason}")
        elif isinstance(event, JobRetrying):
            self._line(
                f"job {event.job_id}: retry {event.attempt} in {event.delay_s:.0f} s — "
                f"{event.reason}"
            )
        elif isinstance(event, ArtifactSaved):
            self._line(f"job {event.job_id}: saved {event.path}")
        elif isinstance(event, JobFinished):
            self._line(f"job {event.job_id}: {outcome_text(event)}")

    def _progress(self, event: JobProgress) -> None:
        percent = int(max(0.0, min(1.0, event.fraction)) * 100)
        if self.tty:
            filled = BAR_WIDTH * percent // 100
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            eta = f" ~{event.eta_s:.0f}s left" if event.eta_s else ""
            line = f"\r[{bar}] {percent:3d}% job {event.job_id} {event.label}{eta}"
            self.stream.write(line[:110])
            self.stream.flush()
        elif percent // 25 > self._last_step.get(event.job_id, -1):
            self._last_step[event.job_id] = percent // 25
            self._line(f"job {event.job_id}: {percent}%")

    def _line(self, text: str) -> None:
        prefix = "\r\x1b[K" if self.tty else ""
        self.stream.write(f"{prefix}{text}\n")
        self.stream.flush()


def outcome_text(event: JobFinished) -> str:
    """The outcome once: 'failed: node 3 …', but 'cancelled' (never 'cancelled: cancelled')
    when the error already says the status."""
    error = (event.error or "").strip()
    if not error or error == event.status:
        return event.status
    return error if error.startswith(event.status) else f"{event.status}: {error}"
