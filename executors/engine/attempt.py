"""One attempt at a job on its leased server: find an earlier submission there and harvest it,
or prepare a new one, store it (before anything is sent, so a crash finds the prompt on the
server again instead of running it twice) and run it.
Threads: a job's worker thread; it reports only through `emit`.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from core.jobs import JobAccepted, JobEvent, Submission
from core.models import ArtifactRecord, JobRecord, PromptRecord
from core.ports import Emit, JobRunner, JobStore, PromptSource
from executors.backends.base import ToolClient
from executors.backends.comfyui import ComfyClient
from executors.comfy_executor import new_remote_id
from executors.engine.outcomes import SuspectJob
from executors.pool import Lease

LOST_LIMIT = 2  # a job whose prompt vanished from its server this often is parked as suspect


class Attempts:
    def __init__(
        self,
        prompts: PromptSource,
        jobs: JobStore,
        executor: JobRunner[ComfyClient],
        tools: JobRunner[ToolClient] | None,
        emit: Emit,
    ):
        self.prompts, self.jobs, self.emit = prompts, jobs, emit
        self.executor, self.tools = executor, tools

    def run(self, job: JobRecord, lease: Lease, cancel: threading.Event) -> list[ArtifactRecord]:
        prompt = self._frozen_prompt(job)
        earlier = job.submission
        if earlier is not None and earlier.server == lease.server:
            records = self._resume(job, prompt, lease, earlier, cancel)
            if records is not None:
                return records
            if earlier.accepted:  # a POST that never got through was not lost
                job = self._lost(job, earlier)
        client, remote_id = lease.client, new_remote_id(job.id)
        if isinstance(client, ComfyClient):
            submission = self.executor.prepare(job, prompt, client, remote_id)
        else:
            submission = self._tools().prepare(job, prompt, client, remote_id)
        job = self.jobs.update(job.id, remote_id=submission.remote_id, submission=submission)
        emit = self._recording_acceptance(job, submission)
        if isinstance(client, ComfyClient):
            return self.executor.execute(job, prompt, client, submission, emit, cancel)
        return self._tools().execute(job, prompt, client, submission, emit, cancel)

    def _resume(
        self,
        job: JobRecord,
        prompt: PromptRecord,
        lease: Lease,
        earlier: Submission,
        cancel: threading.Event,
    ) -> list[ArtifactRecord] | None:
        client = lease.client
        if isinstance(client, ComfyClient):
            return self.executor.resume(job, prompt, client, earlier, self.emit, cancel)
        return self._tools().resume(job, prompt, client, earlier, self.emit, cancel)

    def _tools(self) -> JobRunner[ToolClient]:
        if self.tools is None:  # the placement leases no such server without one
            raise RuntimeError("a tool backend was leased but the engine has no tool executor")
        return self.tools

    def _recording_acceptance(self, job: JobRecord, submission: Submission) -> Emit:
        """Pass events on; when the server accepts the prompt, note it on the job, so a later
        miss on that server counts as a lost prompt (not as a submission that never arrived)."""

        def emit(event: JobEvent) -> None:
            if isinstance(event, JobAccepted):
                self.jobs.update(job.id, submission=replace(submission, accepted=True))
            self.emit(event)

        return emit

    def _lost(self, job: JobRecord, earlier: Submission) -> JobRecord:
        """The server forgot a prompt we submitted (it restarted or crashed)."""
        lost = job.run.lost + 1
        if lost >= LOST_LIMIT:
            raise SuspectJob(
                f"its prompt vanished from {earlier.server} {lost} times (the "
                "server restarted or crashed while running it) — parked; check "
                "the server's log, then 'jobs retry'"
            )
        return self.jobs.update(job.id, run=replace(job.run, lost=lost))

    def _frozen_prompt(self, job: JobRecord) -> PromptRecord:
        """The prompt as it was when the job was queued (later edits don't change the job)."""
        prompt = self.prompts.get(job.prompt_id, include_trash=True)
        data = job.spec.data
        return prompt if data is None else PromptRecord(**{**vars(prompt), "data": data})
