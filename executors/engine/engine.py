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
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from core.config import RetryConfig, Route
from core.errors import AppError, DatabaseError, InputError, TemplateError, TransientBackendError
from core.jobs import JobFinished, JobQueued
from core.json_types import JsonObject
from core.models import QUALITY_TIERS, ArtifactRecord, JobRecord, JobStatus
from core.ports import Emit, JobStore, PromptSource
from executors.cloud import CloudMonitor
from executors.comfy_executor import ComfyExecutor
from executors.engine.attempt import Attempts
from executors.engine.dispatch import Dispatcher
from executors.engine.outcomes import Outcomes
from executors.engine.placement import Placement
from executors.engine.planning import Planner
from executors.engine.state import EngineState
from executors.leases import LEASE_S, Leases
from executors.pool import Lease, ServerPool
from executors.templates import TemplateSet
from executors.tool_executor import ToolExecutor

log = logging.getLogger(__name__)

TICK_S = 0.1
HEALTH_S = 30.0  # seconds between server health refreshes (config: health.interval_s)
PAUSED = "the queue is paused — run 'queue resume' (or Resume queue in the window)"


class Engine:
    def __init__(
        self,
        prompts: PromptSource,
        jobs: JobStore,
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
        self.state = EngineState()
        self.leases = Leases(jobs, self.state.holds, lease_s)
        self.planner = Planner(prompts, executor, routing, default_quality)
        placement = Placement(pool, executor, has_tools=tools is not None)
        self.outcomes = Outcomes(jobs, executor, placement, retry, emit)
        self.attempts = Attempts(prompts, jobs, executor, tools, emit)
        self.dispatcher = Dispatcher(
            self.state, jobs, pool, self.leases, placement, self.outcomes, emit, offline_grace_s
        )
        self._workers: ThreadPoolExecutor | None = None
        self._threads: list[threading.Thread] = []

    def reload_templates(self) -> TemplateSet:
        """Read the template folders again (a function imported or a tier added since start)
        and swap the new set in: one attribute assignment per executor, so the dispatcher and
        running jobs see the old set or the new one, never half of each. Any thread but Tk's."""
        if self.load_templates is None:
            raise TemplateError("this engine was built without a template loader")
        templates = self.load_templates()
        with self.state.lock:
            self.executor.templates = templates
            if self.tools is not None:
                self.tools.templates = templates
        return templates

    # --- queueing (any thread but Tk's) --------------------------------------------------------

    def queue(
        self,
        prompt_ids: Iterable[int],
        *,
        quality: str | None = None,
        function: str | None = None,
        overrides: JsonObject | None = None,
        front: bool = False,
        version: int | None = None,
        batch: JsonObject | None = None,
    ) -> list[JobRecord]:
        """Validate every request first (bad input writes nothing), then store the jobs. With
        `version`, the prompt's saved version of that number runs (regenerate from a take);
        `batch` ({id, axes, cell}: one variation of a batch) is kept in the spec and takes."""
        if quality is not None and quality not in QUALITY_TIERS:
            raise InputError(
                f"--quality: unknown tier {quality!r} — use one of: " + ", ".join(QUALITY_TIERS)
            )
        prompts = [self.planner.saved_prompt(pid, version) for pid in prompt_ids]
        specs = [self.planner.spec(p, quality, function, overrides, batch) for p in prompts]
        priority = int(time.time()) if front else 0  # the latest "front" request goes first
        jobs = [
            self.jobs.add(prompt_id=prompt.id, spec=spec, priority=priority)
            for prompt, spec in zip(prompts, specs, strict=True)
        ]
        for job in jobs:
            self.emit(JobQueued(job.id, job.prompt_id))
        self.state.wake.set()
        return jobs

    def cancel(self, job_id: int) -> JobRecord:
        """Cancel a queued job, or stop a running one (here or in another process)."""
        job = self.jobs.request_cancel(job_id)
        with self.state.lock:
            flag = self.state.running.get(job_id)
        if flag is not None:
            flag.set()
        if job.status is JobStatus.CANCELLED:
            self.emit(JobFinished(job.id, job.status.value, job.error))
        return job

    # --- running ------------------------------------------------------------------------------

    def start(self) -> None:
        self.leases.live(True)
        self.reconcile()
        self.state.stop.clear()
        self.state.progress_at = math.inf  # the clock starts once the first health check is done
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
        self.state.stop.set()
        self.state.wake.set()
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
        if self.state.busy():
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
        self.state.only = None if ids is None else frozenset(ids)
        self.start()
        try:
            while not self.idle(ids):
                if stop is not None and stop.is_set():
                    return self._cancel_here(ids)
                if stall_s is not None:
                    self._check_progress(stall_s)
                self.state.finished.wait(TICK_S)  # set when a job ends: no polling delay
                self.state.finished.clear()
        finally:
            self.stop()
            self.state.only = None

    def _cancel_here(self, ids: list[int] | None) -> None:
        self.state.stop.set()
        with self.state.lock:
            running = list(self.state.running)
        for job_id in set(running) | set(ids or []):
            self.cancel(job_id)
        while self.state.running:
            time.sleep(TICK_S)

    def _check_progress(self, stall_s: float) -> None:
        """The engine cannot make progress when, for `stall_s`, no job ran here, none was
        started, and the dispatcher had jobs it could start now but could not: every server
        refused them (for any reason but an open breaker, which reopens by itself), the queue
        was paused, or a job's end could not be written. Having nothing to start now (jobs
        wait for a retry time, or run in another process) counts as progress."""
        with self.state.lock:
            if self.state.running:
                self.state.progress_at = time.monotonic()
        if time.monotonic() - self.state.progress_at > stall_s:
            reason = self.state.stall_reason or "nothing could start"
            raise EngineStuck(f"no progress for {stall_s:g} s: {reason}")

    def reconcile(self) -> None:
        """Running jobs whose owner is gone (a crash, a kill) go back to the queue; their
        stored submission lets the next dispatch find the prompt on its server instead of
        running it twice. Jobs a live process runs are left to it."""
        for claim in self.leases.take_over():
            log.info("job %s: its owner %s is gone; queued again", claim.job_id, claim.owner)
            self.state.wake.set()

    # --- the dispatcher, lease and health threads ---------------------------------------------

    def _dispatch_loop(self) -> None:
        try:
            self.pool.refresh()  # know which servers answer before placing the first job
        except Exception:  # noqa: BLE001 — the health thread tries again
            log.exception("first health refresh failed")
        self.state.note_progress()
        while not self.state.stop.is_set():
            try:
                self._settle_pending()
                self._forward_cancel_requests()
                if self.jobs.paused():
                    self.state.stall_reason = PAUSED
                else:
                    self.dispatcher.round(self._submit)
            except Exception as exc:  # noqa: BLE001 — the dispatcher must outlive any one bad job
                log.exception("dispatch round failed")
                self.state.stall_reason = (
                    f"starting jobs failed ({exc}) — details are in logs/takeboard.log"
                )
            self.state.wake.wait(TICK_S)
            self.state.wake.clear()
        self.jobs.release_thread()

    def _lease_loop(self) -> None:
        """Renew the leases of the jobs held here; take over jobs whose owner is gone."""
        while not self.state.stop.wait(self.leases.lease_s / 3):
            try:
                self._renew_leases()
                self.reconcile()
            except Exception:  # noqa: BLE001 — a failed write is tried again next beat
                log.exception("lease renewal failed")
        self.jobs.release_thread()

    def _renew_leases(self) -> None:
        lost = self.leases.renew(self.state.held())
        with self.state.lock:
            for job_id in lost:
                self.state.unsettled.pop(job_id, None)
                if job_id in self.state.running:  # another process took it over after a stall
                    # Not cancelled: that would interrupt the prompt its new owner now tracks
                    # on the server. Its end is left to the new owner.
                    log.warning("job %s was taken over by another process", job_id)
                    self.state.taken_over.add(job_id)

    def _health_loop(self) -> None:
        """Keep each server's online state, VRAM and queue depth fresh for admission: every
        HEALTH_S, and every second while jobs wait for a server to answer."""
        last = time.monotonic()
        while not self.state.stop.wait(1.0):
            due = 1.0 if self.state.offline_since else self.health_s
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
        with self.state.lock:
            running = dict(self.state.running)
        for job_id, flag in running.items():
            if not flag.is_set() and self.jobs.get(job_id).cancel_requested:
                flag.set()

    # --- worker threads -----------------------------------------------------------------------

    def _submit(self, job: JobRecord, lease: Lease, cancel: threading.Event) -> bool:
        """Hand a claimed job to a worker thread; False (the claim undone) when shutting down."""
        try:
            assert self._workers is not None, "start() makes the workers"
            self._workers.submit(self._work, job, lease, cancel)
            return True
        except RuntimeError:  # the interpreter is shutting down: undo the claim
            log.warning("job %s not started: shutting down", job.id)
            with self.state.lock:
                self.state.running.pop(job.id, None)
            self.jobs.update(job.id, status=JobStatus.QUEUED)
            return False

    def _work(self, job: JobRecord, lease: Lease, cancel: threading.Event) -> None:
        started = time.monotonic()
        failure: BaseException | None = None
        records: list[ArtifactRecord] = []
        try:
            records = self.attempts.run(job, lease, cancel)
        except BaseException as exc:  # noqa: BLE001 — sorted into retry / degrade / fail
            failure = exc
        finally:
            self._release(lease, failure, time.monotonic() - started)  # free what follows
            self._settle(job.id, functools.partial(self._record, job, lease, failure, records))

    def _record(
        self,
        job: JobRecord,
        lease: Lease,
        failure: BaseException | None,
        records: list[ArtifactRecord],
    ) -> None:
        if failure is None:
            ids = tuple(r.id for r in records)
            self.outcomes.end(job, JobStatus.DONE, "", artifact_ids=ids)
        else:
            self.outcomes.after_failure(job, lease, failure)

    def _settle(self, job_id: int, record: Callable[[], None]) -> None:
        """Write how the job ended. When that fails (disk full, library locked) the job stays
        held here and the dispatcher writes it again every tick: it never stays `running`."""
        try:
            if job_id not in self.state.taken_over:  # else its new owner records it
                record()
        except Exception as exc:  # noqa: BLE001 — any write failure
            log.warning("job %s: its end could not be recorded (%s); trying again", job_id, exc)
            with self.state.lock:
                self.state.unsettled[job_id] = record
        finally:
            with self.state.lock:
                self.state.running.pop(job_id, None)
            self.state.wake.set()
            self.state.finished.set()
            self.jobs.release_thread()

    def _settle_pending(self) -> None:
        """Write again the ends that could not be written."""
        with self.state.lock:
            pending = dict(self.state.unsettled)
        for job_id, record in pending.items():
            try:
                record()
            except Exception as exc:  # noqa: BLE001 — still failing: next tick
                self.state.stall_reason = (
                    f"job {job_id} ended, but that could not be recorded ({exc}) — free disk "
                    "space or close what holds the library; it is picked up again next run"
                )
                continue
            with self.state.lock:
                self.state.unsettled.pop(job_id, None)
            self.state.finished.set()

    def _release(self, lease: Lease, failure: BaseException | None, seconds: float) -> None:
        if isinstance(failure, DatabaseError):  # the library's trouble, not the server's
            return self.pool.give_back(lease)
        ok = failure is None
        self.pool.release(
            lease,
            ok=ok,
            latency_s=seconds if ok else None,
            error=None if ok else str(failure),
            transient=isinstance(failure, TransientBackendError),
        )


class EngineStuck(AppError):
    """run_until_done(stall_s=…) found that no job could make progress for that long."""
