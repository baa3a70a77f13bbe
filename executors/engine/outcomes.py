"""How a job's attempt ends: done, or after a failure retried later, tried on another server,
dropped to a lower tier, parked as suspect, or failed with a one-line reason.
Threads: a job's worker thread (its end) and the dispatcher (a refusal that ends the job).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace

import tenacity

from core.config import RetryConfig
from core.errors import (
    AppError,
    DatabaseError,
    InputError,
    JobCancelled,
    NotRunnableHere,
    OutOfMemory,
    PermanentBackendError,
    StorageError,
    TemplateError,
    TransientBackendError,
)
from core.jobs import JobFinished, JobRetrying
from core.models import QUALITY_TIERS, JobRecord, JobStatus
from core.ports import Emit, JobStore
from executors.comfy_executor import ComfyExecutor
from executors.engine.placement import Placement
from executors.pool import Lease

log = logging.getLogger(__name__)

RETRYING = re.compile(r"\s*—\s*retrying\b.*$")  # the tail of a transient error's message
# Worth another attempt: the server did not answer, or the library could not record the take
# (disk full, locked) — the next attempt finds the prompt on its server and harvests it.
RETRIED = (TransientBackendError, DatabaseError)

ERROR_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (InputError, "input"),
    (TemplateError, "template"),
    (OutOfMemory, "out_of_memory"),
    (TransientBackendError, "transient"),
    (PermanentBackendError, "permanent"),
    (StorageError, "storage"),
    (AppError, "error"),
)


class SuspectJob(AppError):
    """A job that keeps taking its server down: parked instead of retried."""


class Outcomes:
    def __init__(
        self,
        jobs: JobStore,
        executor: ComfyExecutor,
        placement: Placement,
        retry: RetryConfig,
        emit: Emit,
    ):
        self.jobs, self.executor, self.placement = jobs, executor, placement
        self.retry, self.emit = retry, emit
        self._wait = tenacity.wait_exponential_jitter(
            multiplier=retry.initial_s, max=retry.max_s, exp_base=2, jitter=retry.jitter_s
        )

    def after_failure(self, job: JobRecord, lease: Lease, exc: BaseException) -> None:
        job = self.jobs.get(job.id)
        if isinstance(exc, JobCancelled):
            self.end(job, JobStatus.CANCELLED, str(exc) or "cancelled")
        elif isinstance(exc, SuspectJob):
            self.end(job, JobStatus.SUSPECT, str(exc), "suspect")
        elif isinstance(exc, OutOfMemory):
            if not self.drop_tier(job, f"out of GPU memory on {lease.server}"):
                self.end(job, JobStatus.FAILED, _oom_message(job), "out_of_memory")
        elif isinstance(exc, NotRunnableHere):
            self._try_elsewhere(job, lease, exc)
        elif isinstance(exc, RETRIED) and job.attempts < self.retry.attempts:
            self._retry_later(job, lease, exc)
        elif isinstance(exc, TransientBackendError):
            self.end(job, JobStatus.FAILED, _gave_up(job, exc), "transient")
        else:
            self._fail(job, exc)

    def _try_elsewhere(self, job: JobRecord, lease: Lease, exc: NotRunnableHere) -> None:
        """This server lacks a node or model the template needs: queue the job again for the
        pool's other servers (never this one again); fail when none is left to try."""
        ruled_out = sorted({*job.run.cannot_run, lease.server})
        template = self.executor.templates.resolve(job.function, job.quality).template
        left = [name for name in self.placement.members(template) if name not in ruled_out]
        if not left:
            self._fail(job, exc)
            return
        note = f"{exc} — trying {', '.join(left)}"
        run = replace(job.run, cannot_run=tuple(ruled_out))
        self.jobs.update(job.id, status=JobStatus.QUEUED, note=note, run=run, submission=None)
        self.emit(JobRetrying(job.id, job.attempts + 1, 0.0, note))

    def _retry_later(self, job: JobRecord, lease: Lease, exc: BaseException) -> None:
        state = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})
        state.attempt_number = job.attempts
        delay = self._wait(state)
        avoid = tuple(sorted({*job.run.avoid, lease.server}))
        self.jobs.update(
            job.id,
            status=JobStatus.QUEUED,
            retry_at=time.time() + delay,
            note=f"retrying: {exc}",
            run=replace(job.run, avoid=avoid),
        )
        self.emit(JobRetrying(job.id, job.attempts + 1, delay, str(exc)))

    def drop_tier(self, job: JobRecord, why: str) -> bool:
        """Requeue one tier lower; False when there is no lower tier to drop to."""
        ran = self.executor.plan(job).tier
        lower = [
            t
            for t in self.executor.templates.tiers(job.function)
            if QUALITY_TIERS.index(t) < QUALITY_TIERS.index(ran)
        ]
        if not lower or job.run.dropped_from:
            return False
        note = f"{why} at '{ran}': dropped to '{lower[-1]}'"
        self.jobs.update(
            job.id,
            status=JobStatus.QUEUED,
            quality=lower[-1],
            note=note,
            run=replace(job.run, dropped_from=ran),
            submission=None,
        )
        self.emit(JobRetrying(job.id, job.attempts + 1, 0.0, note))
        return True

    def _fail(self, job: JobRecord, exc: BaseException) -> None:
        kind = next((name for cls, name in ERROR_KINDS if isinstance(exc, cls)), "internal")
        message = str(exc)
        if kind == "internal":
            log.exception("job %s failed unexpectedly", job.id, exc_info=exc)
            message = f"internal error: {exc!r} — details are in logs/takeboard.log"
        self.end(job, JobStatus.FAILED, message, kind)

    def end(
        self,
        job: JobRecord,
        status: JobStatus,
        error: str,
        error_kind: str = "",
        artifact_ids: tuple[int, ...] = (),
    ) -> None:
        """Record the outcome; the prompt's status follows by a database trigger."""
        self.jobs.update(
            job.id, status=status, error=error, error_kind=error_kind, cancel_requested=False
        )
        self.emit(JobFinished(job.id, status.value, error, artifact_ids))


def _gave_up(job: JobRecord, exc: BaseException) -> str:
    """A transient error's message once the retries are used up: no "— retrying" left in it."""
    reason = RETRYING.sub("", str(exc))
    advice = " — check the server and its log, then 'jobs retry'" if reason != str(exc) else ""
    return f"gave up after {job.attempts} attempts: {reason}{advice}"


def _oom_message(job: JobRecord) -> str:
    return (
        f"not enough GPU memory for '{job.quality}': try a lower quality tier, a smaller "
        "size or length, or free GPU memory on the server (close other apps, restart it)"
    )
