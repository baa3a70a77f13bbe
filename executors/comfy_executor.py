"""Turn one job into takes on a ComfyUI server: resolve template → check the server → render →
run → harvest files into a take folder → artifact records.

One executor serves image, audio and video alike: ComfyUI outputs describe themselves (file
extension, `animated`), and what differs per kind lives in the templates (data), not here.
Threads: `run` is called on a worker thread; it reports only through the `emit` callback.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from core.errors import BackendError, InputError, NotRunnableHere, PermanentBackendError
from core.jobs import JobAccepted, JobPreview, Submission
from core.json_types import JsonObject
from core.models import ArtifactRecord, JobRecord, PromptRecord, template_values
from core.ports import Emit
from executors.backends import comfyui
from executors.takes import TakeFile, TakeRecorder, job_started, progress_event, run_metadata
from executors.templates import (
    Resolution,
    Template,
    TemplateSet,
    check_against_object_info,
    render,
    run_facts,
)

log = logging.getLogger(__name__)


class ComfyExecutor:
    def __init__(
        self,
        templates: TemplateSet,
        takes: TakeRecorder,
        on_object_info: Callable[[str, JsonObject, JsonObject], None] | None = None,
        job_timeout_s: float = 600.0,
    ):
        """`job_timeout_s`: the stall limit of a template that sets no `timeout_s` of its own
        (config timeouts.job_s)."""
        self.templates = templates
        self.job_timeout_s = job_timeout_s
        self.takes = takes
        self.store = takes.store
        # told each server's object_info and node replacements (worker thread)
        self.on_object_info = on_object_info
        self._checked: set[tuple[str, str]] = set()  # (server, template) pairs found runnable

    def plan(self, job: JobRecord) -> Resolution:
        """The template that will run for this job (the asked tier, or the next lower one)."""
        return self.templates.resolve(job.function, job.quality)

    def prepare(
        self, job: JobRecord, prompt: PromptRecord, client: comfyui.ComfyClient, remote_id: str
    ) -> Submission:
        """Everything to submit, which the engine stores before submitting (so a crash or a
        dropped connection can find the prompt on the server again)."""
        resolution = self.plan(job)
        template = resolution.template
        if self.on_object_info is not None:
            self.on_object_info(client.name, client.object_info(), client.node_replacements())
        self._check_server(client, resolution)
        values = template_values(prompt.kind, prompt.data)
        overrides = self._uploads(client, template, values, job.spec.overrides)
        rendered = render(template, _given(values), overrides, client.object_info())
        facts = run_facts(resolution, rendered)
        return Submission.from_json(
            {
                **facts,
                "remote_id": remote_id,
                "server": client.name,
                "workflow": rendered.graph,
                "timeout_s": template.timeout_s or self.job_timeout_s,
            }
        )

    def execute(
        self,
        job: JobRecord,
        prompt: PromptRecord,
        client: comfyui.ComfyClient,
        submission: Submission,
        emit: Emit,
        cancel: threading.Event,
    ) -> list[ArtifactRecord]:
        """Submit and follow the prepared workflow, then harvest its files."""
        emit(job_started(job.id, client.name, submission))
        labels = ProgressLabels(job.id, emit)
        result = client.run(
            submission.workflow,
            prompt_id=submission.remote_id,
            cancel=cancel,
            timeout_s=submission.timeout_s or self.job_timeout_s,
            on_event=labels,
        )
        return self._finish(job, prompt, client, submission, result, emit)

    def resume(
        self,
        job: JobRecord,
        prompt: PromptRecord,
        client: comfyui.ComfyClient,
        submission: Submission,
        emit: Emit,
        cancel: threading.Event,
    ) -> list[ArtifactRecord] | None:
        """Harvest a prompt submitted before (still queued, running or finished on the server);
        None when the server does not know it any more, so it must be submitted again."""
        timeout_s = submission.timeout_s or self.job_timeout_s
        result = client.attach(submission.remote_id, cancel=cancel, timeout_s=timeout_s)
        if result is None:
            return None
        return self._finish(job, prompt, client, submission, result, emit)

    def _finish(
        self,
        job: JobRecord,
        prompt: PromptRecord,
        client: comfyui.ComfyClient,
        submission: Submission,
        result: comfyui.RunResult,
        emit: Emit,
    ) -> list[ArtifactRecord]:
        metadata = _metadata(submission, client, result)
        records = self._harvest(job, prompt, client, takes_of(result), metadata, emit)
        if not client.keep_history:
            _forget(client, submission.remote_id)
        return records

    def _check_server(self, client: comfyui.ComfyClient, resolution: Resolution) -> None:
        key = (client.url, resolution.template.name)
        if key in self._checked:
            return
        problems = check_against_object_info(
            resolution.template, client.object_info(), client.node_replacements()
        )
        if problems:
            raise NotRunnableHere(
                f"template {resolution.template.name} cannot run on {client.name}: "
                + "; ".join(problems),
                backend=client.name,
                url=client.shown_url,
            )
        self._checked.add(key)

    def _uploads(
        self,
        client: comfyui.ComfyClient,
        template: Template,
        values: JsonObject,
        overrides: JsonObject,
    ) -> JsonObject:
        """Upload local files for file_upload parameters; the graph gets the server's names."""
        out = dict(overrides)
        for spec in template.parameters.values():
            local = out.get(spec.name) or values.get(spec.name)
            if spec.type != "file_upload" or not local:
                continue
            path = Path(local).expanduser()
            if not path.is_file():
                raise InputError(
                    f"{spec.name}: file {path} does not exist — fix the path in the prompt"
                )
            out[spec.name] = client.upload_image(path)
        return out

    def _harvest(
        self,
        job: JobRecord,
        prompt: PromptRecord,
        client: comfyui.ComfyClient,
        result: comfyui.RunResult,
        metadata: JsonObject,
        emit: Emit,
    ) -> list[ArtifactRecord]:
        outputs = _kept_outputs(result.outputs)
        if not outputs:
            raise PermanentBackendError(
                f"the workflow finished on {client.name} but produced no output files — check "
                "the template has a Save node",
                backend=client.name,
                url=client.shown_url,
            )
        fetches = [
            functools.partial(
                self._fetch, client, output, {**metadata, "output": _output_dict(output)}
            )
            for output in outputs
        ]
        return self.takes.save_take(job, prompt, fetches, emit)

    def _fetch(
        self,
        client: comfyui.ComfyClient,
        output: comfyui.OutputFile,
        metadata: JsonObject,
        take_dir: Path,
    ) -> TakeFile:
        if output.media == "text":
            name = f"{output.node_id}_text.txt"
            stored = self.store.store_bytes((output.text or "").encode(), take_dir / name)
        else:
            dest = self.store.file_in(take_dir, output.filename, output.subfolder)
            stored = self.store.write_stream(client.stream(output), dest)
        return TakeFile(stored, metadata)

    def drain(self) -> None:
        self.takes.drain()


def new_remote_id(job_id: int) -> str:
    """A client-chosen ComfyUI prompt_id, unique per attempt: a canonical UUID, the only form
    current servers accept (the job is traced through the stored submission, not the id)."""
    return comfyui.new_prompt_id()


def takes_of(result: comfyui.RunResult) -> comfyui.RunResult:
    """The result with only what becomes takes: the media the workflow made. Text displays
    (PreviewAny, "Show Text") stay in the metadata; a workflow whose only output is text
    makes text takes."""
    if not result.files:
        return result
    return dataclasses.replace(result, outputs=result.files)


def _forget(client: comfyui.ComfyClient, prompt_id: str) -> None:
    """Delete the prompt from the server's history (a per-server option): the takes are
    recorded, so a failed clean-up must not fail (and re-run) the job."""
    try:
        client.delete_history(prompt_id)
    except BackendError as exc:
        log.info("could not delete history %s on %s: %s", prompt_id, client.name, exc)


def _given(values: JsonObject) -> JsonObject:
    """Prompt values the user actually set: empty texts leave the template's own default."""
    return {k: v for k, v in values.items() if v not in ("", None)}


def _kept_outputs(outputs: list[comfyui.OutputFile]) -> list[comfyui.OutputFile]:
    """Saved outputs; previews (type temp) only when the workflow saved nothing else."""
    saved = [o for o in outputs if o.type != "temp"]
    return saved or list(outputs)


STAGES = (  # class-name fragments → words a user understands
    ("Sampler", "Sampling"),
    ("VAEDecode", "Decoding"),
    ("VAEEncode", "Encoding image"),
    ("Save", "Saving"),
    ("Loader", "Loading model"),
    ("TextEncode", "Reading prompt"),
    ("Upscale", "Upscaling"),
    ("LoadImage", "Loading image"),
)


class ProgressLabels:
    """Turns the client's node events into JobProgress with words and an ETA."""

    def __init__(self, job_id: int, emit: Emit):
        self.job_id, self.emit = job_id, emit
        self.started = time.monotonic()
        self.stage = "Starting"

    def __call__(self, event: comfyui.Event) -> None:
        if isinstance(event, comfyui.Accepted):
            self.emit(JobAccepted(self.job_id, event.prompt_id))
        elif isinstance(event, comfyui.NodeStarted):
            self.stage = stage_label(event.class_type)
            self._progress(event.fraction, self.stage)
        elif isinstance(event, comfyui.Progress):
            steps = f" {event.value}/{event.max}" if event.max > 1 else ""
            self._progress(event.fraction, self.stage + steps)
        elif isinstance(event, comfyui.Preview):
            self.emit(JobPreview(self.job_id, event.data, event.mime))

    def _progress(self, fraction: float | None, label: str) -> None:
        """The client's fractions never go backwards, so neither does the job's progress."""
        self.emit(progress_event(self.job_id, self.started, fraction, label))


def stage_label(class_type: str) -> str:
    return next((words for part, words in STAGES if part in class_type), class_type)


def _metadata(
    submission: Submission, client: comfyui.ComfyClient, result: comfyui.RunResult
) -> JsonObject:
    return {
        "workflow": submission.workflow,
        **run_metadata(submission),
        "server": {"name": client.name, "url": client.shown_url},
        "remote_prompt_id": submission.remote_id,
        "cached": result.cached,
        "texts": result.texts,
        "timings": {**result.timings, "harvested": time.time()},
    }


def _output_dict(output: comfyui.OutputFile) -> JsonObject:
    return {
        "node_id": output.node_id,
        "filename": output.filename,
        "subfolder": output.subfolder,
        "type": output.type,
        "media": output.media,
        "animated": output.animated,
    }
