"""What the engine's threads share: which jobs run here (with their cancel flags), the ends
still to write, and the events that wake the dispatcher and `run_until_done`.

Threads: the dispatcher, the lease thread, the job worker threads and the caller of
`run_until_done` all read and write it; `lock` guards the dicts and sets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class EngineState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    running: dict[int, threading.Event] = field(default_factory=dict)  # job id → cancel flag
    unsettled: dict[int, Callable[[], None]] = field(default_factory=dict)  # its end, to write
    taken_over: set[int] = field(default_factory=set)  # another process took them over
    offline_since: dict[int, float] = field(default_factory=dict)  # jobs waiting for a server
    # Wakes the dispatcher at once when a job is queued or a slot frees; its tick is only the
    # fallback for changes made by other processes (cancel requests, pause, CLI queue).
    wake: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)  # a job ended
    stop: threading.Event = field(default_factory=threading.Event)
    only: frozenset[int] | None = None  # run_until_done(ids): start only these
    progress_at: float = field(default_factory=time.monotonic)  # a job last ran or waited
    stall_reason: str = ""  # why nothing could start, for EngineStuck

    def holds(self, job_id: int) -> bool:
        """Does a thread here hold the job (running, or its end still to write)?"""
        with self.lock:
            return job_id in self.running or job_id in self.unsettled

    def held(self) -> set[int]:
        """The jobs whose leases this engine renews."""
        with self.lock:
            return {*self.running, *self.unsettled} - self.taken_over

    def busy(self) -> bool:
        with self.lock:
            return bool(self.running or self.unsettled)

    def note_progress(self) -> None:
        self.progress_at = time.monotonic()
