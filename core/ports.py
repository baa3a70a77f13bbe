"""The ports: what the engine and the executors need from the repositories and the backends,
as Protocols. repositories/ and executors/ never import each other; main.py hands the one the
other's objects, and these say what those objects must offer.

Each port's docstring names the threads that call it. Repository methods may be called from
any thread but Tk's for writes (peewee keeps one connection per thread; `release_thread`
closes the calling thread's); reads are short (< 5 ms) and safe on the Tk thread.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Collection, Sequence
from typing import Protocol, TypeVar

from core.jobs import Claim, JobEvent, JobSpec, RunState, Submission
from core.json_types import JsonObject
from core.models import (
    ArtifactFile,
    ArtifactRecord,
    JobRecord,
    JobStatus,
    MediaKind,
    NewArtifact,
    PromptRecord,
    PromptVersion,
)

Emit = Callable[[JobEvent], None]  # how a job reports: frozen events, from any thread


class Unchanged:
    """The default of an update argument that leaves the stored value as it is."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = Unchanged()


# --- repositories -----------------------------------------------------------------------------


class PromptSource(Protocol):
    """The prompts as the engine reads them (repositories.prompts.PromptRepository).
    Called on the caller's thread (queue) and on job worker threads."""

    def get(self, prompt_id: int, *, include_trash: bool = False) -> PromptRecord: ...

    def version(self, prompt_id: int, version: int) -> PromptVersion: ...


class PromptWriter(PromptSource, Protocol):
    """Prompts as the library importer adds them (its worker thread)."""

    def add(self, kind: MediaKind | str, title: str, data: JsonObject) -> PromptRecord: ...


class JobStore(Protocol):
    """The persistent queue (repositories.jobs.JobRepository). Called by the engine's
    dispatcher, lease, health and job worker threads, and by `queue`/`cancel` callers (any
    thread but Tk's: every method but `get` writes or may wait for the write lock)."""

    def add(self, *, prompt_id: int, spec: JobSpec, priority: int = 0) -> JobRecord: ...

    def get(self, job_id: int) -> JobRecord: ...

    def update(
        self,
        job_id: int,
        *,
        submission: Submission | None | Unchanged = UNCHANGED,
        run: RunState | Unchanged = UNCHANGED,
        status: JobStatus | Unchanged = UNCHANGED,
        quality: str | Unchanged = UNCHANGED,
        note: str | Unchanged = UNCHANGED,
        error: str | Unchanged = UNCHANGED,
        error_kind: str | Unchanged = UNCHANGED,
        remote_id: str | Unchanged = UNCHANGED,
        retry_at: float | None | Unchanged = UNCHANGED,
        cancel_requested: bool | Unchanged = UNCHANGED,
    ) -> JobRecord: ...

    def eligible(
        self, now: float, limit: int = 50, only: Collection[int] | None = None
    ) -> builtins.list[JobRecord]: ...

    def list(
        self, *, status: JobStatus | None = None, prompt_id: int | None = None, limit: int = 1000
    ) -> builtins.list[JobRecord]: ...

    def unfinished(self) -> builtins.list[JobRecord]: ...

    def request_cancel(self, job_id: int) -> JobRecord: ...

    def requeue(self, job_id: int, *, priority: int | None = None) -> JobRecord: ...

    def paused(self) -> bool: ...

    def set_paused(self, paused: bool) -> None: ...

    def claim(
        self, job_id: int, owner: str, lease_until: float, *, function: str, backend: str, note: str
    ) -> JobRecord | None: ...

    def renew(self, owner: str, job_ids: Collection[int], lease_until: float) -> set[int]: ...

    def claims(self) -> builtins.list[Claim]: ...

    def take_over(self, claim: Claim, note: str) -> bool: ...

    def release_thread(self) -> None:
        """Close the calling thread's database connection (a thread that ends calls it)."""


class ArtifactRecords(Protocol):
    """The takes' records as the take recorder writes them (repositories.artifacts
    .ArtifactRepository): job worker threads (add_take) and the thumbnail thread."""

    def add_take(self, files: Sequence[NewArtifact]) -> list[ArtifactRecord]: ...

    def set_preview(self, artifact_id: int, preview_path: str) -> None: ...

    def files(
        self, *, after_id: int = 0, limit: int = 5000, without_preview: bool = False
    ) -> list[ArtifactFile]: ...

    def forget(self, artifact_ids: list[int]) -> int: ...

    def count(self) -> int: ...


class ImportedArtifacts(Protocol):
    """What the library importer asks of the takes' records (its worker thread)."""

    def known_sha256(self, digests: list[str]) -> set[str]: ...

    def prompt_for_settings(self, settings: str) -> int | None: ...


# --- executors ----------------------------------------------------------------------------------


class BackendClient(Protocol):
    """A leased server's client, as the engine and the pool see it (every backend family)."""

    kind: str  # "comfyui" | "wangp" | "gradio" | "command"
    name: str


ClientT = TypeVar("ClientT", bound=BackendClient, contravariant=True)


class JobRunner(Protocol[ClientT]):
    """Turns one job into takes on one backend family (executors.comfy_executor.ComfyExecutor,
    executors.tool_executor.ToolExecutor). `prepare`, `execute` and `resume` run on a job's
    worker thread and report only through `emit`; `drain` runs on the engine's stopping
    thread."""

    def prepare(
        self, job: JobRecord, prompt: PromptRecord, client: ClientT, remote_id: str
    ) -> Submission:
        """Everything to submit, stored by the engine before it is sent."""

    def execute(
        self,
        job: JobRecord,
        prompt: PromptRecord,
        client: ClientT,
        submission: Submission,
        emit: Emit,
        cancel: threading.Event,
    ) -> list[ArtifactRecord]:
        """Send the submission, follow it and record its takes."""

    def resume(
        self,
        job: JobRecord,
        prompt: PromptRecord,
        client: ClientT,
        submission: Submission,
        emit: Emit,
        cancel: threading.Event,
    ) -> list[ArtifactRecord] | None:
        """Harvest a submission made before; None when the server does not know it."""

    def drain(self) -> None:
        """Wait for the takes' previews still being made."""
