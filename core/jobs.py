"""What a job reports while it runs: small frozen events, safe to hand from a worker thread to
the Tk thread or the CLI's printer. A job never touches the UI; it only emits these."""

from __future__ import annotations

import os
import socket
import uuid
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


# --- who runs a job (several processes may share one library) ------------------------------


@dataclass(frozen=True)
class Owner:
    """The engine that claimed a job: its host, process id and a token of its own (two engines
    in one process, or a process that got a dead one's pid, differ by it). Stored on the job
    as "host/pid/token"."""

    host: str
    pid: int
    token: str

    @classmethod
    def new(cls) -> Owner:
        return cls(socket.gethostname(), os.getpid(), uuid.uuid4().hex[:12])

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        """None for a job claimed before owners were recorded (or a damaged value)."""
        host, _, rest = text.partition("/")
        pid, _, token = rest.partition("/")
        return cls(host, int(pid), token) if host and pid.isdigit() and token else None

    def __str__(self) -> str:
        return f"{self.host}/{self.pid}/{self.token}"


@dataclass(frozen=True)
class Claim:
    """A running job, who runs it and until when its lease holds (epoch seconds)."""

    job_id: int
    owner: str
    lease_until: float | None


def pid_alive(pid: int) -> bool:
    """Is process `pid` alive on this machine? Without a cheap check (Windows, where signal 0
    would be a Ctrl+C) it counts as alive, and the lease alone decides."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
