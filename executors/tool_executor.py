"""Turn one job into takes on a WanGP, Gradio or command-line backend.

Same shape as the ComfyUI executor: resolve the template → render its flat request → run it
on the leased client → store the returned files as one take → artifact records + previews.
The files come back in a scratch folder under `<home>/tmp/` that is removed afterwards; a
failure leaves no half take behind. These backends keep no job the engine could re-attach to
after a crash, so `resume` always answers "run it again".
Threads: called on a job's worker thread; reports only through `emit`.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import threading
import time
from pathlib import Path

from core.errors import InputError, PermanentBackendError
from core.jobs import JobPreview, Submission
from core.json_types import JsonObject
from core.models import ArtifactRecord, JobRecord, PromptRecord, template_values
from core.ports import Emit
from executors.backends.base import Event, Preview, Progress, ToolClient
from executors.takes import TakeFile, TakeRecorder, job_started, progress_event, run_metadata
from executors.templates import Resolution, Template, TemplateSet, render, run_facts


class ToolExecutor:
    def __init__(self, templates: TemplateSet, takes: TakeRecorder, scratch: Path):
        self.templates = templates
        self.takes = takes
        self.store = takes.store
        self.scratch = scratch  # where backends write their files before they are stored

    def plan(self, job: JobRecord) -> Resolution:
        return self.templates.resolve(job.function, job.quality)

    def prepare(
        self, job: JobRecord, prompt: PromptRecord, client: ToolClient, remote_id: str
    ) -> Submission:
        """The rendered request, which the engine stores before running it."""
        resolution = self.plan(job)
        template = resolution.template
        values = template_values(prompt.kind, prompt.data)
        values = {k: v for k, v in values.items() if v not in ("", None)}
        overrides = job.spec.overrides
        files = _local_files(template, {**values, **overrides})
        rendered = render(template, values, {**overrides, **files})
        request = template.request(rendered.graph)
        return Submission.from_json(
            {
                **run_facts(resolution, rendered),
                "remote_id": remote_id,
                "server": client.name,
                "backend": client.kind,
                "request": {**request, "files": sorted(files)} if files else request,
            }
        )

    def execute(
        self,
        job: JobRecord,
        prompt: PromptRecord,
        client: ToolClient,
        submission: Submission,
        emit: Emit,
        cancel: threading.Event,
    ) -> list[ArtifactRecord]:
        emit(job_started(job.id, client.name, submission))
        self.scratch.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"job{job.id}-", dir=self.scratch))
        try:
            started = time.time()
            files = client.run(
                submission.workflow,
                workdir=workdir,
                on_event=_Reporter(job.id, emit),
                cancel=cancel,
                timeout_s=submission.timeout_s,
            )
            metadata = _metadata(submission, client, started)
            return self._store(job, prompt, client, files, metadata, emit)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def resume(
        self,
        job: JobRecord,
        prompt: PromptRecord,
        client: ToolClient,
        submission: Submission,
        emit: Emit,
        cancel: threading.Event,
    ) -> list[ArtifactRecord] | None:
        """Nothing to re-attach to on these backends: the engine runs the job again."""
        return None

    def _store(
        self,
        job: JobRecord,
        prompt: PromptRecord,
        client: ToolClient,
        files: list[Path],
        metadata: JsonObject,
        emit: Emit,
    ) -> list[ArtifactRecord]:
        if not files:
            raise PermanentBackendError(
                f"{client.name} finished but returned no file — check the function's template "
                "(which output is the file) and the backend's own log",
                backend=client.name,
                url=client.url,
            )
        fetches = [
            functools.partial(self._copy, path, {**metadata, "output": _output(path, client)})
            for path in files
        ]
        return self.takes.save_take(job, prompt, fetches, emit)

    def _copy(self, path: Path, metadata: JsonObject, take_dir: Path) -> TakeFile:
        stored = self.store.store_file(path, self.store.file_in(take_dir, path.name))
        return TakeFile(stored, metadata)

    def drain(self) -> None:
        self.takes.drain()


class _Reporter:
    """Backend events → JobProgress (with an ETA) and JobPreview."""

    def __init__(self, job_id: int, emit: Emit):
        self.job_id, self.emit = job_id, emit
        self.started = time.monotonic()

    def __call__(self, event: Event) -> None:
        if isinstance(event, Preview):
            self.emit(JobPreview(self.job_id, event.data, event.mime))
        elif isinstance(event, Progress):
            self.emit(progress_event(self.job_id, self.started, event.fraction, event.label))


def _local_files(template: Template, values: JsonObject) -> dict[str, str]:
    """The file parameters given, as absolute paths of files that exist."""
    files = {}
    for spec in template.parameters.values():
        if spec.type != "file_upload" or not values.get(spec.name):
            continue
        path = Path(values[spec.name]).expanduser().resolve()
        if not path.is_file():
            raise InputError(f"{spec.name}: file {path} does not exist — fix the path")
        files[spec.name] = str(path)
    return files


def _output(path: Path, client: ToolClient) -> JsonObject:
    return {"filename": path.name, "backend": client.kind}


def _metadata(submission: Submission, client: ToolClient, started: float) -> JsonObject:
    return {
        "request": submission.workflow,
        "backend": submission.backend,
        **run_metadata(submission),
        "server": {"name": client.name, "url": client.url, "kind": client.kind},
        "remote_prompt_id": submission.remote_id,
        "timings": {"started": started, "harvested": time.time()},
    }
