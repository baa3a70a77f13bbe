"""One dispatch round: every job that may start now gets a slot on a server (the first
function of its route whose backend is available) and is claimed and handed to a worker, or
waits with the reason shown, or — when waiting would not mend it — fails.
Threads: the dispatcher thread only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from core.jobs import JobWaiting
from core.models import JobRecord, JobStatus
from core.ports import Emit, JobStore
from executors.engine.outcomes import Outcomes
from executors.engine.placement import Placement
from executors.engine.state import EngineState
from executors.leases import Leases
from executors.pool import Lease, Refusal, ServerPool

log = logging.getLogger(__name__)

STOPPERS = ("busy", "offline", "breaker", "no_servers")  # refusals that hold for every job

StartWork = Callable[[JobRecord, Lease, threading.Event], bool]  # False: it could not start


class Dispatcher:
    def __init__(
        self,
        state: EngineState,
        jobs: JobStore,
        pool: ServerPool,
        leases: Leases,
        placement: Placement,
        outcomes: Outcomes,
        emit: Emit,
        offline_grace_s: float | None,
    ):
        """`offline_grace_s`: how long a job waits for any server to answer before it fails;
        None: for ever."""
        self.state, self.jobs, self.pool, self.leases = state, jobs, pool, leases
        self.placement, self.outcomes, self.emit = placement, outcomes, emit
        self.offline_grace_s = offline_grace_s

    def round(self, start_work: StartWork) -> None:
        stopped: set[tuple[str, ...]] = set()  # routes every member of which refused for all
        jobs = self.jobs.eligible(time.time(), only=self.state.only)
        if not jobs:
            self.state.note_progress()  # nothing to start now: done, or waiting for a retry
        for job in jobs:
            route = job.spec.functions
            if route in stopped:
                continue
            lease, function, why = self.placement.acquire_routed(job, route)
            if isinstance(lease, Refusal):
                self._refused(job, lease)
                if lease.reason in STOPPERS:
                    stopped.add(route)
                continue
            note = _rerouted(job, function, why) if function != job.function else None
            self._launch(job, lease, function, note, start_work)

    def _refused(self, job: JobRecord, refusal: Refusal) -> None:
        if refusal.reason == "template":  # waiting would not mend it: fail now, with why
            self.outcomes.end(job, JobStatus.FAILED, refusal.detail, "template")
            return
        if refusal.reason == "breaker":
            self.state.note_progress()  # it reopens by itself
        else:
            self.state.stall_reason = f"no job could start ({refusal.detail}); they stay queued"
        if refusal.reason == "too_big" and self.outcomes.drop_tier(job, refusal.detail):
            return
        if refusal.reason == "too_big":
            self.outcomes.end(job, JobStatus.FAILED, refusal.detail, "out_of_memory")
        elif refusal.reason in ("offline", "no_servers") and self._gave_up_waiting(job):
            self.outcomes.end(job, JobStatus.FAILED, refusal.detail, "offline")
        elif refusal.reason != "busy" and job.note != refusal.detail:
            self.jobs.update(job.id, status=JobStatus.WAITING, note=refusal.detail)
            self.emit(JobWaiting(job.id, refusal.detail))

    def _gave_up_waiting(self, job: JobRecord) -> bool:
        if self.offline_grace_s is None:
            return False
        since = self.state.offline_since.setdefault(job.id, time.monotonic())
        return time.monotonic() - since > self.offline_grace_s

    def _launch(
        self, job: JobRecord, lease: Lease, function: str, note: str | None, start: StartWork
    ) -> None:
        """Claim the job and hand it to a worker thread. The slot goes back when it does not
        start: another process claimed it first, or the claim could not be written."""
        self.state.offline_since.pop(job.id, None)
        if note is None:  # keep why the tier dropped
            note = job.note if job.run.dropped_from else ""
        cancel, started = threading.Event(), False
        try:
            with self.leases.lock:
                claimed = self.leases.claim(
                    job.id, function=function, backend=lease.server, note=note
                )
                if claimed is not None:
                    with self.state.lock:
                        self.state.running[job.id] = cancel
                        self.state.taken_over.discard(job.id)
            started = claimed is not None and start(claimed, lease, cancel)
        finally:
            if not started:
                self.pool.give_back(lease)
        if started:
            self.state.note_progress()


def _rerouted(job: JobRecord, function: str, why: str) -> str:
    note = f"routed to {function} ({why})"
    log.info("job %s %s", job.id, note)
    return note
