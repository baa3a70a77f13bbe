"""What a job reports while it runs: small frozen events, safe to hand from a worker thread to
the Tk thread or the CLI's printer. A job never touches the UI; it only emits these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobEvent:
    job_id: int


@dataclass(frozen=True)
class JobQueued(JobEvent):
    prompt_id: int


@dataclass(frozen=True)
class JobStarted(JobEvent):
    server: str
    template: str
    tier: str
    note: str = ""  # e.g. why another tier runs than the one asked for


@dataclass(frozen=True)
class JobAccepted(JobEvent):
    """The server queued the job's prompt (from here on it may run even if we lose contact)."""

    remote_id: str


@dataclass(frozen=True)
class JobProgress(JobEvent):
    fraction: float  # 0..1 over the whole job, as far as it can be known
    label: str = ""  # in the user's words: "Sampling 12/30", "Decoding", "Saving"
    eta_s: float | None = None


@dataclass(frozen=True)
class JobPreview(JobEvent):
    data: bytes
    mime: str


@dataclass(frozen=True)
class ArtifactSaved(JobEvent):
    artifact_id: int
    path: str


@dataclass(frozen=True)
class PreviewReady(JobEvent):
    """A take's gallery picture exists (made on a background thread after ArtifactSaved)."""

    artifact_id: int
    preview_path: str


@dataclass(frozen=True)
class JobWaiting(JobEvent):
    """Not started yet, and why (GPU memory, servers offline or busy, a paused queue)."""

    reason: str


@dataclass(frozen=True)
class JobRetrying(JobEvent):
    attempt: int
    delay_s: float
    reason: str


@dataclass(frozen=True)
class JobFinished(JobEvent):
    status: str  # done, failed or cancelled
    error: str = ""
    artifact_ids: tuple[int, ...] = ()
