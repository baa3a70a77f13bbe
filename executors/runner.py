"""Queue jobs for prompts and run them to the end, one after another, on the calling thread.

Every job is written to SQLite before anything runs; a failure of one job never stops the
others. (The job engine issue replaces the loop with a dispatcher over a server pool.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from core.errors import (
    AppError,
    InputError,
    JobCancelled,
    OutOfMemory,
    PermanentBackendError,
    StorageError,
    TemplateError,
    TransientBackendError,
)
from core.jobs import JobEvent, JobFinished
from core.models import QUALITY_TIERS, JobRecord, JobStatus, PromptRecord
from executors.comfy_executor import ComfyExecutor, new_remote_id

log = logging.getLogger(__name__)

ERROR_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (InputError, "input"),
    (TemplateError, "template"),
    (OutOfMemory, "out_of_memory"),
    (TransientBackendError, "transient"),
    (PermanentBackendError, "permanent"),
    (StorageError, "storage"),
    (AppError, "error"),
)


class JobRunner:
    def __init__(
        self,
        prompts: Any,
        jobs: Any,
        executor: ComfyExecutor,
        connect: Callable[[], Any],
        default_quality: str = "standard",
    ):
        self.prompts, self.jobs, self.executor = prompts, jobs, executor
        self.connect = connect  # returns the ComfyUI client to run on
        self.default_quality = default_quality

    def queue(
        self,
        prompt_ids: Iterable[int],
        *,
        quality: str | None = None,
        function: str | None = None,
        overrides: dict[str, Any] | None = None,
        priority: int = 0,
    ) -> list[JobRecord]:
        """Validate every request first (bad input writes nothing), then store the jobs."""
        if quality is not None and quality not in QUALITY_TIERS:
            raise InputError(
                f"--quality: unknown tier {quality!r} — use one of: " + ", ".join(QUALITY_TIERS)
            )
        plans = [self._plan(self.prompts.get(pid), quality, function) for pid in prompt_ids]
        jobs = []
        for prompt, chosen_function, tier in plans:
            params = {"data": prompt.data, "kind": prompt.kind.value, "overrides": overrides or {}}
            jobs.append(
                self.jobs.add(
                    prompt_id=prompt.id,
                    function=chosen_function,
                    quality=tier,
                    params=params,
                    priority=priority,
                )
            )
        return jobs

    def _plan(
        self, prompt: PromptRecord, quality: str | None, function: str | None
    ) -> tuple[PromptRecord, str, str]:
        tier = quality or prompt.data.get("quality") or self.default_quality
        chosen = function or self.executor.templates.default_function(prompt.kind.value)
        template = self.executor.templates.resolve(chosen, tier).template
        if template.kind != prompt.kind.value:
            raise InputError(
                f"--function: {chosen} makes {template.kind}, but prompt "
                f"{prompt.id} is {prompt.kind.value} — pick a function for "
                f"{prompt.kind.value} prompts (see 'functions')"
            )
        return prompt, chosen, tier

    def run(
        self, job_ids: Iterable[int], emit: Callable[[JobEvent], None], cancel: threading.Event
    ) -> list[JobRecord]:
        """Run the jobs in order; returns once their takes' previews are made too."""
        try:
            return [self.run_one(self.jobs.get(job_id), emit, cancel) for job_id in job_ids]
        finally:
            self.executor.drain()

    def run_one(
        self, job: JobRecord, emit: Callable[[JobEvent], None], cancel: threading.Event
    ) -> JobRecord:
        if cancel.is_set():
            return self._finish(job, JobStatus.CANCELLED, "cancelled before it started", emit)
        remote_id = new_remote_id(job.id)
        try:
            client = self.connect()
            job = self.jobs.update(
                job.id,
                status=JobStatus.RUNNING,
                backend=client.name,
                remote_id=remote_id,
                attempts=job.attempts + 1,
                error="",
                error_kind="",
            )
            records = self.executor.run(
                job, self._frozen_prompt(job), client, emit, cancel, remote_id
            )
        except JobCancelled as exc:
            return self._finish(job, JobStatus.CANCELLED, str(exc) or "cancelled", emit)
        except Exception as exc:  # noqa: BLE001 — one job's failure never stops the batch
            return self._fail(job, exc, emit)
        return self._finish(job, JobStatus.DONE, "", emit, tuple(r.id for r in records))

    def _frozen_prompt(self, job: JobRecord) -> PromptRecord:
        """The prompt as it was when the job was queued (later edits don't change the job)."""
        prompt = self.prompts.get(job.prompt_id, include_trash=True)
        data = job.params.get("data")
        return prompt if data is None else PromptRecord(**{**vars(prompt), "data": data})

    def _fail(self, job: JobRecord, exc: Exception, emit: Callable[[JobEvent], None]) -> JobRecord:
        kind = next((name for cls, name in ERROR_KINDS if isinstance(exc, cls)), "internal")
        message = str(exc)
        if kind == "internal":
            log.exception("job %s failed unexpectedly", job.id)
            message = f"internal error: {exc!r} — details are in logs/takeboard.log"
        return self._finish(job, JobStatus.FAILED, message, emit, error_kind=kind)

    def _finish(
        self,
        job: JobRecord,
        status: JobStatus,
        error: str,
        emit: Callable[[JobEvent], None],
        artifact_ids: tuple[int, ...] = (),
        error_kind: str = "",
    ) -> JobRecord:
        """Record the outcome; the prompt's status follows by a database trigger."""
        job = self.jobs.update(job.id, status=status, error=error, error_kind=error_kind)
        emit(JobFinished(job.id, status.value, error, artifact_ids))
        return job
