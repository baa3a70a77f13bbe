"""A job's records: what to run (JobSpec, frozen at queue time), where it went (Submission),
what its attempts learned (RunState), and what it reports while it runs: small frozen events,
safe to hand from a worker thread to the Tk thread or the CLI's printer. A job never touches
the UI; it only emits these.

The three records are stored as one JSON document per job (the job table's `params` column,
flat keys as every version since the job engine wrote them): `job_document` writes it,
`read_job_document` reads and validates it, so a library of any earlier version reads as is.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.json_types import JsonObject, JsonValue


@dataclass(frozen=True)
class JobSpec:
    """What to run, fixed when the job is queued; a retry runs the same spec.

    `function` and `tier` are what was asked (the job's row says what runs now: routing picks
    another function, an out-of-memory drops a tier). `route` lists the functions to try in
    order (a routing rule's fallback chain); empty means just `function`. `data` is the
    prompt's data as queued (None for a job queued before it was frozen: the prompt as it is).
    """

    function: str
    tier: str
    data: JsonObject | None = None
    prompt_version: int | None = None
    overrides: JsonObject = field(default_factory=dict)
    route: tuple[str, ...] = ()
    batch: JsonObject | None = None  # {id, axes, cell}: one variation of a batch

    @property
    def functions(self) -> tuple[str, ...]:
        """The functions to try, in order."""
        return self.route or (self.function,)

    @property
    def seed(self) -> int | None:
        """The seed the job pins (a variation's), or None: the prompt's own."""
        seed = self.overrides.get("seed")
        return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


@dataclass(frozen=True)
class Submission:
    """Where a job went: everything sent to a server, stored before it is sent, so that after a
    crash or a dropped connection the prompt is found there again (`remote_id`) instead of run
    twice. `workflow` is the rendered ComfyUI graph, or the flat request of another backend;
    `timeout_s` is the deadline: how long the run may go without progress."""

    remote_id: str
    server: str
    workflow: JsonObject
    template: JsonObject  # {function, quality, version, path} of the template that ran
    tier: str
    requested_tier: str
    backend: str = "comfyui"
    tier_reason: str | None = None
    seed: int | None = None
    values: JsonObject = field(default_factory=dict)  # the template values used
    timeout_s: float | None = None
    accepted: bool = False  # the server queued it: a later miss there means it was lost

    @classmethod
    def from_json(cls, doc: Mapping[str, JsonValue]) -> Submission:
        """ValueError when a field is missing or of the wrong type."""
        workflow = doc.get("workflow", doc.get("request"))  # "request": a tool backend's
        return cls(
            remote_id=_typed(doc, "remote_id", str),
            server=_typed(doc, "server", str),
            workflow=_object(workflow, "workflow"),
            template=_object(doc.get("template"), "template"),
            tier=_typed(doc, "tier", str),
            requested_tier=_typed(doc, "requested_tier", str),
            backend=str(doc.get("backend") or "comfyui"),
            tier_reason=doc.get("tier_reason") or None,
            seed=doc.get("seed"),
            values=_object(doc.get("values", {}), "values"),
            timeout_s=doc.get("timeout_s"),
            accepted=bool(doc.get("accepted")),
        )

    def to_json(self) -> JsonObject:
        graph = "workflow" if self.backend == "comfyui" else "request"
        return {
            "remote_id": self.remote_id,
            "server": self.server,
            "backend": self.backend,
            graph: self.workflow,
            "template": self.template,
            "tier": self.tier,
            "requested_tier": self.requested_tier,
            "tier_reason": self.tier_reason,
            "seed": self.seed,
            "values": self.values,
            "timeout_s": self.timeout_s,
            "accepted": self.accepted,
        }

    @property
    def template_name(self) -> str:
        return f"{self.template.get('function')}/{self.template.get('quality')}"


@dataclass(frozen=True)
class RunState:
    """What a job's attempts learned, for the next one; a retry starts it over."""

    lost: int = 0  # times its prompt vanished from its server
    avoid: tuple[str, ...] = ()  # servers that failed it transiently (tried last)
    cannot_run: tuple[str, ...] = ()  # servers that lack what its template needs (never)
    dropped_from: str = ""  # the tier it ran out of memory at (it runs one lower)


@dataclass(frozen=True)
class JobDocument:
    """A job's records as one stored document."""

    spec: JobSpec
    submission: Submission | None
    run: RunState


def job_document(doc: JobDocument) -> JsonObject:
    """The stored form: flat keys, None and empty values left out."""
    spec, run = doc.spec, doc.run
    out: JsonObject = {
        "function": spec.function,
        "tier": spec.tier,
        "data": spec.data,
        "prompt_version": spec.prompt_version,
        "overrides": spec.overrides,
        "route": list(spec.route),
        "batch": spec.batch,
        "submission": doc.submission.to_json() if doc.submission else None,
        "lost": run.lost,
        "avoid": list(run.avoid),
        "cannot_run": list(run.cannot_run),
        "dropped_from": run.dropped_from,
    }
    return {k: v for k, v in out.items() if v not in (None, "", 0, []) or k == "overrides"}


def read_job_document(doc: Mapping[str, JsonValue], function: str, tier: str) -> JobDocument:
    """The records of a stored document; `function` and `tier` (the job's row) stand in for
    what a document written before they were stored lacks. ValueError when it is damaged."""
    if not isinstance(doc, Mapping):
        raise ValueError("the job's parameters are not a JSON object")
    spec = JobSpec(
        function=str(doc.get("function") or _first(doc.get("route")) or function),
        tier=str(doc.get("tier") or doc.get("dropped_from") or tier),  # asked before a drop
        data=_object(doc["data"], "data") if doc.get("data") is not None else None,
        prompt_version=doc.get("prompt_version"),
        overrides=_object(doc.get("overrides") or {}, "overrides"),
        route=_names(doc.get("route"), "route"),
        batch=_object(doc["batch"], "batch") if doc.get("batch") else None,
    )
    submission = doc.get("submission")
    run = RunState(
        lost=int(doc.get("lost") or 0),
        avoid=_names(doc.get("avoid"), "avoid"),
        cannot_run=_names(doc.get("cannot_run"), "cannot_run"),
        dropped_from=str(doc.get("dropped_from") or ""),
    )
    return JobDocument(spec, Submission.from_json(submission) if submission else None, run)


def _typed(doc: Mapping[str, JsonValue], key: str, kind: type) -> JsonValue:
    value = doc.get(key)
    if not isinstance(value, kind):
        raise ValueError(f"{key}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _object(value: JsonValue, key: str) -> JsonObject:
    if not isinstance(value, dict):
        raise ValueError(f"{key}: expected an object, got {type(value).__name__}")
    return value


def _names(value: JsonValue, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key}: expected a list of names")
    return tuple(value)


def _first(value: JsonValue) -> str | None:
    return value[0] if isinstance(value, list) and value and isinstance(value[0], str) else None


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
