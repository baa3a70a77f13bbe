"""The job engine: a persistent queue (the job table) fed to a pool of backend servers.

Routing: a job runs its function's template on a pool member of the template's backend family
(ComfyUI, WanGP, a Gradio app, a command line). A job queued without --function takes its
functions from the first matching routing rule (config.json "routing"): it runs the first one
whose backend is online, falls back to the next when that one is offline or paused, and its
note says which ran.

Threads: `start()` runs one dispatcher thread, a health thread and a lease thread; each admitted
job runs on a worker thread. Jobs report only through `emit` (frozen events).

Several processes may run one library's queue (the window, `worker`, `generate --wait`): jobs
are claimed atomically and held under a lease (executors/leases.py), so each runs once.

Everything a job needs to survive a crash is in SQLite before it is submitted: the workflow
sent and its client-chosen prompt_id, so after a crash, a dropped connection or a retry the
engine first asks that server whether the prompt is queued, running or finished, and harvests
it instead of running it twice.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import tenacity

from core.config import RetryConfig, Route
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
from core.jobs import (
    JobAccepted,
    JobEvent,
    JobFinished,
    JobQueued,
    JobRetrying,
    JobSpec,
    JobWaiting,
    Submission,
)
from core.models import QUALITY_TIERS, JobRecord, JobStatus, PromptRecord
from executors.cloud import CloudMonitor
from executors.comfy_executor import ComfyExecutor, new_remote_id
from executors.leases import LEASE_S, Leases
from executors.pool import FAMILIES, Lease, Refusal, ServerPool
from executors.templates import Template, TemplateSet
from executors.tool_executor import ToolExecutor

log = logging.getLogger(__name__)

Emit = Callable[[JobEvent], None]
TICK_S = 0.1
HEALTH_S = 30.0  # seconds between server health refreshes (config: health.interval_s)
LOST_LIMIT = 2  # a job whose prompt vanished from its server this often is parked as suspect
PAUSED = "the queue is paused — run 'queue resume' (or Resume queue in the window)"
RETRYING = re.compile(r"\s*—\s*retrying\b.*$")  # the tail of a transient error's message
STOPPERS = ("busy", "offline", "breaker", "no_servers")  # refusals that hold for every job
UNAVAILABLE = ("offline", "breaker", "no_servers", "template")  # a routed job tries its next

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


class Engine:
    def __init__(
        self,
        prompts: Any,
        jobs: Any,
        executor: ComfyExecutor,
        pool: ServerPool,
        retry: RetryConfig,
        emit: Emit,
        default_quality: str = "standard",
        offline_grace_s: float | None = None,
        *,
        tools: ToolExecutor | None = None,
        routing: tuple[Route, ...] = (),
        health_s: float = HEALTH_S,
        cloud: CloudMonitor | None = None,
        lease_s: float = LEASE_S,
        load_templates: Callable[[], TemplateSet] | None = None,
    ):
        self.load_templates = load_templates  # reload_templates reads the folders again
        self.prompts, self.jobs, self.executor, self.pool = prompts, jobs, executor, pool
        self.tools, self.routing, self.health_s = tools, routing, health_s
        self.cloud = cloud  # ticked with the health checks: idle/budget stops, pool membership
        self.retry, self.emit, self.default_quality = retry, emit, default_quality
        # How long a job waits for any server to answer before it fails; None: for ever.
        self.offline_grace_s = offline_grace_s
        self._offline_since: dict[int, float] = {}
        self._wait = tenacity.wait_exponential_jitter(
            multiplier=retry.initial_s, max=retry.max_s, exp_base=2, jitter=retry.jitter_s
        )
        self._workers: ThreadPoolExecutor | None = None
        self._running: dict[int, threading.Event] = {}  # job id → its cancel flag
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Wakes the dispatcher at once when a job is queued or a slot frees; the tick is only
        # the fallback for changes made by other processes (cancel requests, pause, CLI queue).
        self._wake = threading.Event()
        self._finished = threading.Event()  # wakes run_until_done when a job ends
        self._threads: list[threading.Thread] = []
        self.leases = Leases(jobs, self._holds, lease_s)
        self._unsettled: dict[int, Callable[[], None]] = {}  # job id → its end, to write again
        self._taken_over: set[int] = set()  # jobs another process took over while they ran here
        self._only: frozenset[int] | None = None  # run_until_done(ids): start only these
        self._progress_at = time.monotonic()  # last time a job ran here or waited on a timer
        self._stall_reason = ""  # why nothing could start, for EngineStuck

    def reload_templates(self) -> TemplateSet:
        """Read the template folders again (a function imported or a tier added since start)
        and swap the new set in: one attribute assignment per executor, so the dispatcher and
        running jobs see the old set or the new one, never half of each. Any thread but Tk's."""
        if self.load_templates is None:
            raise TemplateError("this engine was built without a template loader")
        templates = self.load_templates()
        with self._lock:
            self.executor.templates = templates
            if self.tools is not None:
                self.tools.templates = templates
        return templates

    # --- queueing (any thread) ----------------------------------------------------------------

    def queue(
        self,
        prompt_ids: Iterable[int],
        *,
        quality: str | None = None,
        function: str | None = None,
        overrides: dict[str, Any] | None = None,
        front: bool = False,
        version: int | None = None,
        batch: dict[str, Any] | None = None,
    ) -> list[JobRecord]:
        """Validate every request first (bad input writes nothing), then store the jobs. With
        `version`, the prompt's saved version of that number runs (regenerate from a take);
        `batch` ({id, axes, cell}: one variation of a batch) is kept in the spec and takes."""
        if quality is not None and quality not in QUALITY_TIERS:
            raise InputError(
                f"--quality: unknown tier {quality!r} — use one of: " + ", ".join(QUALITY_TIERS)
            )
        prompts = [self._saved_prompt(pid, version) for pid in prompt_ids]
        plans = [self._plan(prompt, quality, function) for prompt in prompts]
        priority = int(time.time()) if front else 0  # the latest "front" request goes first
        jobs = [
            self.jobs.add(
                prompt_id=prompt.id,
                priority=priority,
                spec=JobSpec(
                    function=route[0],
                    tier=tier,
                    data=prompt.data,
                    prompt_version=prompt.version,
                    overrides=overrides or {},
                    route=tuple(route),
                    batch=batch or None,
                ),
            )
            for prompt, route, tier in plans
        ]
        for job in jobs:
            self.emit(JobQueued(job.id, job.prompt_id))
        self._wake.set()
        return jobs

    def _saved_prompt(self, prompt_id: int, version: int | None) -> PromptRecord:
        """The prompt as it is now, or as it was saved in `version`."""
        prompt = self.prompts.get(prompt_id)
        if version is None or version == prompt.version:
            return prompt
        old = self.prompts.version(prompt_id, version)
        return PromptRecord(
            **{**vars(prompt), "title": old.title, "data": old.data, "version": old.version}
        )

    def _plan(
        self, prompt: PromptRecord, quality: str | None, function: str | None
    ) -> tuple[PromptRecord, list[str], str]:
        """(prompt, the functions to try in order, tier); InputError for a wrong function."""
        tier = quality or prompt.data.get("quality") or self.default_quality
        function = function or prompt.data.get("function")  # the one the editor picked
        if function is not None:
            self._check_kind(function, tier, prompt)
            return prompt, [function], tier
        return prompt, self._route(prompt, tier), tier

    def _check_kind(self, function: str, tier: str, prompt: PromptRecord) -> None:
        template = self.executor.templates.resolve(function, tier).template
        if template.kind != prompt.kind.value:
            raise InputError(
                f"--function: {function} makes {template.kind}, but prompt "
                f"{prompt.id} is {prompt.kind.value} — pick a function for "
                f"{prompt.kind.value} prompts (see 'functions')"
            )

    def _route(self, prompt: PromptRecord, tier: str) -> list[str]:
        """The functions of the first routing rule the prompt matches that has one for its
        kind; else the kind's default function."""
        templates = self.executor.templates
        known = set(templates.names())
        for rule in self.routing:
            if not route_matches(rule, prompt, tier):
                continue
            usable = [
                f
                for f in rule.use
                if f in known and templates.resolve(f, tier).template.kind == prompt.kind.value
            ]
            if usable:
                return usable
            log.warning("routing rule %r names no usable function; skipped", rule.name)
        return [templates.default_function(prompt.kind.value)]

    def cancel(self, job_id: int) -> JobRecord:
        """Cancel a queued job, or stop a running one (here or in another process)."""
        job = self.jobs.request_cancel(job_id)
        with self._lock:
            flag = self._running.get(job_id)
        if flag is not None:
            flag.set()
        if job.status is JobStatus.CANCELLED:
            self.emit(JobFinished(job.id, job.status.value, job.error))
        return job

    # --- running ------------------------------------------------------------------------------

    def start(self) -> None:
        self.leases.live(True)
        self.reconcile()
        self._stop.clear()
        self._progress_at = math.inf  # the clock starts once the first health check is done
        members = len(self.pool.names()) + 1  # room for a cloud machine that joins later
        self._workers = ThreadPoolExecutor(members * 2, "job")
        self._threads = [
            threading.Thread(target=self._dispatch_loop, name="dispatcher", daemon=True),
            threading.Thread(target=self._health_loop, name="health", daemon=True),
            threading.Thread(target=self._lease_loop, name="leases", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop dispatching and let running jobs finish (queued ones stay queued). A job whose
        end still cannot be written stays claimed; the next engine takes it over."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join()
        if self._workers is not None:
            self._workers.shutdown(wait=True)
        self._settle_pending()
        self.executor.takes.stop_sweep()  # a long start-up sweep must not hold the quit
        self.executor.drain()
        self.leases.live(False)

    def idle(self, job_ids: Iterable[int] | None = None) -> bool:
        """No job left to run (among `job_ids`, or at all) and no worker busy."""
        with self._lock:
            if self._running or self._unsettled:
                return False
        unfinished = {job.id for job in self.jobs.unfinished()}
        return not (unfinished & set(job_ids) if job_ids is not None else unfinished)

    def run_until_done(
        self,
        job_ids: Iterable[int] | None = None,
        stop: threading.Event | None = None,
        stall_s: float | None = None,
    ) -> None:
        """Run until the jobs (only these are started here) or the whole queue are finished.
        `stop` set (Ctrl+C) cancels the jobs running here; queued ones stay queued. With
        `stall_s`, raise EngineStuck when the engine cannot make progress for that long."""
        ids = None if job_ids is None else list(job_ids)
        self._only = None if ids is None else frozenset(ids)
        self.start()
        try:
            while not self.idle(ids):
                if stop is not None and stop.is_set():
                    return self._cancel_here(ids)
                if stall_s is not None:
                    self._check_progress(stall_s)
                self._finished.wait(TICK_S)  # set when a job ends: no polling delay
                self._finished.clear()
        finally:
            self.stop()
            self._only = None

    def _cancel_here(self, ids: list[int] | None) -> None:
        self._stop.set()
        with self._lock:
            running = list(self._running)
        for job_id in set(running) | set(ids or []):
            self.cancel(job_id)
        while self._running:
            time.sleep(TICK_S)

    def _check_progress(self, stall_s: float) -> None:
        """The engine cannot make progress when, for `stall_s`, no job ran here, none was
        started, and the dispatcher had jobs it could start now but could not: every server
        refused them (for any reason but an open breaker, which reopens by itself), the queue
        was paused, or a job's end could not be written. Having nothing to start now (jobs
        wait for a retry time, or run in another process) counts as progress."""
        with self._lock:
            if self._running:
                self._progress_at = time.monotonic()
        if time.monotonic() - self._progress_at > stall_s:
            raise EngineStuck(
                f"no progress for {stall_s:g} s: {self._stall_reason or 'nothing could start'}"
            )

    def _note_progress(self) -> None:
        self._progress_at = time.monotonic()

    def reconcile(self) -> None:
        """Running jobs whose owner is gone (a crash, a kill) go back to the queue; their
        stored submission lets the next dispatch find the prompt on its server instead of
        running it twice. Jobs a live process runs are left to it."""
        for claim in self.leases.take_over():
            log.info("job %s: its owner %s is gone; queued again", claim.job_id, claim.owner)
            self._wake.set()

    def _holds(self, job_id: int) -> bool:
        with self._lock:
            return job_id in self._running or job_id in self._unsettled

    # --- the dispatcher thread ----------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        try:
            self.pool.refresh()  # know which servers answer before placing the first job
        except Exception:  # noqa: BLE001 — the health thread tries again
            log.exception("first health refresh failed")
        self._note_progress()
        while not self._stop.is_set():
            try:
                self._settle_pending()
                self._forward_cancel_requests()
                if self.jobs.paused():
                    self._stall_reason = PAUSED
                else:
                    self._dispatch_round()
            except Exception as exc:  # noqa: BLE001 — the dispatcher must outlive any one bad job
                log.exception("dispatch round failed")
                self._stall_reason = (
                    f"starting jobs failed ({exc}) — details are in logs/takeboard.log"
                )
            self._wake.wait(TICK_S)
            self._wake.clear()
        self.jobs.release_thread()

    def _lease_loop(self) -> None:
        """Renew the leases of the jobs held here; take over jobs whose owner is gone."""
        while not self._stop.wait(self.leases.lease_s / 3):
            try:
                self._renew_leases()
                self.reconcile()
            except Exception:  # noqa: BLE001 — a failed write is tried again next beat
                log.exception("lease renewal failed")
        self.jobs.release_thread()

    def _renew_leases(self) -> None:
        with self._lock:
            held = {*self._running, *self._unsettled} - self._taken_over
        lost = self.leases.renew(held)
        with self._lock:
            for job_id in lost:
                self._unsettled.pop(job_id, None)
                if job_id in self._running:  # another process took it over after a stall
                    # Not cancelled: that would interrupt the prompt its new owner now tracks
                    # on the server. Its end is left to the new owner.
                    log.warning("job %s was taken over by another process", job_id)
                    self._taken_over.add(job_id)

    def _health_loop(self) -> None:
        """Keep each server's online state, VRAM and queue depth fresh for admission: every
        HEALTH_S, and every second while jobs wait for a server to answer."""
        last = time.monotonic()
        while not self._stop.wait(1.0):
            due = 1.0 if self._offline_since else self.health_s
            if time.monotonic() - last < due:
                continue
            last = time.monotonic()
            try:
                self.pool.refresh()
                if self.cloud is not None:
                    self.cloud.tick()
            except Exception:  # noqa: BLE001 — a failed probe must not stop the monitor
                log.exception("health refresh failed")

    def _forward_cancel_requests(self) -> None:
        with self._lock:
            running = dict(self._running)
        for job_id, flag in running.items():
            if not flag.is_set() and self.jobs.get(job_id).cancel_requested:
                flag.set()

    def _dispatch_round(self) -> None:
        stopped: set[tuple[str, ...]] = set()  # routes every member of which refused for all
        jobs = self.jobs.eligible(time.time(), only=self._only)
        if not jobs:
            self._note_progress()  # nothing to start now: done, or waiting for a retry time
        for job in jobs:
            route = job.spec.functions
            if route in stopped:
                continue
            lease, function, why = self._acquire_routed(job, route)
            if isinstance(lease, Refusal):
                self._refused(job, lease)
                if lease.reason in STOPPERS:
                    stopped.add(route)
                continue
            note = self._rerouted(job, function, why) if function != job.function else None
            self._launch(job, lease, function, note)

    def _acquire_routed(
        self, job: JobRecord, route: tuple[str, ...]
    ) -> tuple[Lease | Refusal, str, str]:
        """A slot for the first function of the route whose backend is available (a busy
        one is waited for); with the function chosen and why earlier ones were passed over."""
        first: Refusal | None = None
        passed: list[str] = []
        for function in route:
            lease = self._acquire(job, function)
            if isinstance(lease, Lease) or lease.reason not in UNAVAILABLE:
                return lease, function, "; ".join(passed)
            first = first or lease
            passed.append(f"{function}: {lease.detail}")
        return first, job.function, ""

    def _rerouted(self, job: JobRecord, function: str, why: str) -> str:
        note = f"routed to {function} ({why})"
        log.info("job %s %s", job.id, note)
        return note

    def _acquire(self, job: JobRecord, function: str) -> Lease | Refusal:
        """A slot for the job's `function`: back on the server that has its earlier submission
        (to find the prompt there), else away from servers that failed it, else anywhere."""
        try:
            template = self.executor.templates.resolve(function, job.quality).template
        except TemplateError as exc:  # no template for it, or the user's is broken
            return Refusal("template", str(exc))
        ruled_out = job.run.cannot_run  # they lack what the template needs
        members = [name for name in self._members(template) if name not in ruled_out]
        if not members:
            return Refusal("no_servers", _no_member(template))
        need = template.vram_gb
        earlier = job.submission
        if earlier is not None and earlier.server in members:
            lease = self.pool.acquire(need, only=[earlier.server])
            if not isinstance(lease, Refusal) or lease.reason not in ("offline", "breaker"):
                return lease
        avoid = job.run.avoid
        lease = self.pool.acquire(need, exclude=avoid, only=members)
        if isinstance(lease, Refusal) and avoid:
            lease = self.pool.acquire(need, only=members)
        return lease

    def _members(self, template: Template) -> list[str]:
        """The pool members that can run `template`: its backend family, and its named
        servers when it names some."""
        family = self.pool.names(template.backend)
        if template.backend != "comfyui" and self.tools is None:
            return []
        return [n for n in family if not template.servers or n in template.servers]

    def _refused(self, job: JobRecord, refusal: Refusal) -> None:
        if refusal.reason == "template":  # waiting would not mend it: fail now, with why
            self._end(job, JobStatus.FAILED, refusal.detail, "template")
            return
        if refusal.reason == "breaker":
            self._note_progress()  # it reopens by itself
        else:
            self._stall_reason = f"no job could start ({refusal.detail}); they stay queued"
        if refusal.reason == "too_big" and self._drop_tier(job, refusal.detail):
            return
        if refusal.reason == "too_big":
            self._end(job, JobStatus.FAILED, refusal.detail, "out_of_memory")
        elif refusal.reason in ("offline", "no_servers") and self._gave_up_waiting(job):
            self._end(job, JobStatus.FAILED, refusal.detail, "offline")
        elif refusal.reason != "busy" and job.note != refusal.detail:
            self.jobs.update(job.id, status=JobStatus.WAITING, note=refusal.detail)
            self.emit(JobWaiting(job.id, refusal.detail))

    def _gave_up_waiting(self, job: JobRecord) -> bool:
        if self.offline_grace_s is None:
            return False
        since = self._offline_since.setdefault(job.id, time.monotonic())
        return time.monotonic() - since > self.offline_grace_s

    def _launch(self, job: JobRecord, lease: Lease, function: str, note: str | None) -> None:
        """Claim the job and hand it to a worker thread. The slot goes back when it does not
        start: another process claimed it first, or the claim could not be written."""
        self._offline_since.pop(job.id, None)
        if note is None:  # keep why the tier dropped
            note = job.note if job.run.dropped_from else ""
        cancel, started = threading.Event(), False
        try:
            with self.leases.lock:
                claimed = self.leases.claim(
                    job.id, function=function, backend=lease.server, note=note
                )
                if claimed is not None:
                    with self._lock:
                        self._running[job.id] = cancel
                        self._taken_over.discard(job.id)
            started = claimed is not None and self._submit(claimed, lease, cancel)
        finally:
            if not started:
                self.pool.give_back(lease)
        if started:
            self._note_progress()

    def _submit(self, job: JobRecord, lease: Lease, cancel: threading.Event) -> bool:
        try:
            self._workers.submit(self._work, job, lease, cancel)
            return True
        except RuntimeError:  # the interpreter is shutting down: undo the claim
            log.warning("job %s not started: shutting down", job.id)
            with self._lock:
                self._running.pop(job.id, None)
            self.jobs.update(job.id, status=JobStatus.QUEUED)
            return False

    # --- worker threads -----------------------------------------------------------------------

    def _work(self, job: JobRecord, lease: Lease, cancel: threading.Event) -> None:
        started, outcome, records = time.monotonic(), None, []
        try:
            records = self._attempt(job, lease, cancel)
            outcome = "ok"
        except BaseException as exc:  # noqa: BLE001 — sorted into retry / degrade / fail
            outcome = exc
        finally:
            self._release(lease, outcome, time.monotonic() - started)  # free whatever follows
            self._settle(job.id, functools.partial(self._record, job, lease, outcome, records))

    def _record(self, job: JobRecord, lease: Lease, outcome: Any, records: list) -> None:
        if outcome == "ok":
            self._end(job, JobStatus.DONE, "", artifact_ids=tuple(r.id for r in records))
        else:
            self._after_failure(job, lease, outcome)

    def _settle(self, job_id: int, record: Callable[[], None]) -> None:
        """Write how the job ended. When that fails (disk full, library locked) the job stays
        held here and the dispatcher writes it again every tick: it never stays `running`."""
        try:
            if job_id not in self._taken_over:  # else its new owner records it
                record()
        except Exception as exc:  # noqa: BLE001 — any write failure
            log.warning("job %s: its end could not be recorded (%s); trying again", job_id, exc)
            with self._lock:
                self._unsettled[job_id] = record
        finally:
            with self._lock:
                self._running.pop(job_id, None)
            self._wake.set()
            self._finished.set()
            self.jobs.release_thread()

    def _settle_pending(self) -> None:
        """Write again the ends that could not be written."""
        with self._lock:
            pending = dict(self._unsettled)
        for job_id, record in pending.items():
            try:
                record()
            except Exception as exc:  # noqa: BLE001 — still failing: next tick
                self._stall_reason = (
                    f"job {job_id} ended, but that could not be recorded ({exc}) — free disk "
                    "space or close what holds the library; it is picked up again next run"
                )
                continue
            with self._lock:
                self._unsettled.pop(job_id, None)
            self._finished.set()

    def _attempt(self, job: JobRecord, lease: Lease, cancel: threading.Event) -> list:
        prompt = self._frozen_prompt(job)
        earlier = job.submission
        if earlier is not None and earlier.server == lease.server:
            records = self._runner(lease).resume(
                job, prompt, lease.client, earlier, self.emit, cancel
            )
            if records is not None:
                return records
            if earlier.accepted:  # a POST that never got through was not lost
                job = self._lost(job, earlier)
        runner = self._runner(lease)
        submission = runner.prepare(job, prompt, lease.client, new_remote_id(job.id))
        job = self.jobs.update(job.id, remote_id=submission.remote_id, submission=submission)
        emit = self._recording_acceptance(job, submission)
        return runner.execute(job, prompt, lease.client, submission, emit, cancel)

    def _runner(self, lease: Lease) -> ComfyExecutor | ToolExecutor:
        return self.executor if lease.client.kind == "comfyui" else self.tools

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

    def _after_failure(self, job: JobRecord, lease: Lease, exc: Exception) -> None:
        job = self.jobs.get(job.id)
        if isinstance(exc, JobCancelled):
            self._end(job, JobStatus.CANCELLED, str(exc) or "cancelled")
        elif isinstance(exc, SuspectJob):
            self._end(job, JobStatus.SUSPECT, str(exc), "suspect")
        elif isinstance(exc, OutOfMemory):
            if not self._drop_tier(job, f"out of GPU memory on {lease.server}"):
                self._end(job, JobStatus.FAILED, _oom_message(job), "out_of_memory")
        elif isinstance(exc, NotRunnableHere):
            self._try_elsewhere(job, lease, exc)
        elif isinstance(exc, RETRIED) and job.attempts < self.retry.attempts:
            self._retry_later(job, lease, exc)
        elif isinstance(exc, TransientBackendError):
            self._end(job, JobStatus.FAILED, _gave_up(job, exc), "transient")
        else:
            self._fail(job, exc)

    def _try_elsewhere(self, job: JobRecord, lease: Lease, exc: NotRunnableHere) -> None:
        """This server lacks a node or model the template needs: queue the job again for the
        pool's other servers (never this one again); fail when none is left to try."""
        ruled_out = sorted({*job.run.cannot_run, lease.server})
        template = self.executor.templates.resolve(job.function, job.quality).template
        left = [name for name in self._members(template) if name not in ruled_out]
        if not left:
            self._fail(job, exc)
            return
        note = f"{exc} — trying {', '.join(left)}"
        run = replace(job.run, cannot_run=tuple(ruled_out))
        self.jobs.update(job.id, status=JobStatus.QUEUED, note=note, run=run, submission=None)
        self.emit(JobRetrying(job.id, job.attempts + 1, 0.0, note))

    def _retry_later(self, job: JobRecord, lease: Lease, exc: Exception) -> None:
        state = tenacity.RetryCallState(None, None, (), {})
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

    def _drop_tier(self, job: JobRecord, why: str) -> bool:
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

    def _fail(self, job: JobRecord, exc: Exception) -> None:
        kind = next((name for cls, name in ERROR_KINDS if isinstance(exc, cls)), "internal")
        message = str(exc)
        if kind == "internal":
            log.exception("job %s failed unexpectedly", job.id, exc_info=exc)
            message = f"internal error: {exc!r} — details are in logs/takeboard.log"
        self._end(job, JobStatus.FAILED, message, kind)

    def _end(
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

    def _release(self, lease: Lease, outcome: Any, seconds: float) -> None:
        if isinstance(outcome, DatabaseError):  # the library's trouble, not the server's
            return self.pool.give_back(lease)
        ok = outcome == "ok"
        self.pool.release(
            lease,
            ok=ok,
            latency_s=seconds if ok else None,
            error=None if ok else str(outcome),
            transient=isinstance(outcome, TransientBackendError),
        )


def route_matches(rule: Route, prompt: PromptRecord, tier: str) -> bool:
    """Does `prompt` (run at `tier`) meet every condition of the rule's `when`?"""
    data = prompt.data
    tests = {
        "kind": lambda want: prompt.kind.value in _listed(want),
        "quality": lambda want: tier in _listed(want),
        "task": lambda want: data.get("task") in _listed(want),
        "has": lambda want: all(data.get(name) not in (None, "", []) for name in _listed(want)),
        "tags": lambda want: bool(
            {t.lower() for t in _listed(want)}
            & {t.lower() for t in (*data.get("tags", []), *data.get("style_tags", []))}
        ),
    }
    return all(tests[key](want) for key, want in rule.when.items())


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _no_member(template: Template) -> str:
    family = FAMILIES[template.backend]
    if template.servers:
        names = ", ".join(template.servers)
        return (
            f"{template.function} runs on the {family} {names}, which is not set up — add it "
            f"under backends.{template.backend} in config.json"
        )
    where = "comfyui.servers" if template.backend == "comfyui" else f"backends.{template.backend}"
    return f"no {family} is set up for {template.function} — add one under {where} in config.json"


class SuspectJob(AppError):
    """A job that keeps taking its server down: parked instead of retried."""


class EngineStuck(AppError):
    """run_until_done(stall_s=…) found that no job could make progress for that long."""


def _gave_up(job: JobRecord, exc: Exception) -> str:
    """A transient error's message once the retries are used up: no "— retrying" left in it."""
    reason = RETRYING.sub("", str(exc))
    advice = " — check the server and its log, then 'jobs retry'" if reason != str(exc) else ""
    return f"gave up after {job.attempts} attempts: {reason}{advice}"


def _oom_message(job: JobRecord) -> str:
    return (
        f"not enough GPU memory for '{job.quality}': try a lower quality tier, a smaller "
        "size or length, or free GPU memory on the server (close other apps, restart it)"
    )
