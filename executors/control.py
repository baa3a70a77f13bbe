"""The one engine API: what the window and the command line ask of the engine beyond a plain
prompt edit. Queue, cancel, retry, pause and resume jobs; switch online access; probe a URL;
list functions and backends; find servers; start, stop and read the cloud machine; switch the
demo backend. Neither UI reaches into the engine, builds a pool or a cloud manager, or writes
job control into the repository itself: they call this.

main.py builds one `Control` per process with the factories it wires (`Wiring`); `open(emit)`
builds the engine (the window and the commands that run jobs or read the pool open it), and the
job-control calls work with or without one (`jobs cancel` in a terminal needs no engine).

Threads: every method may run on any thread but the Tk thread, except those marked "memory
only" (a few microseconds, safe on the Tk thread). The window calls the others on a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from core.config import Config, ServerConfig, is_local_url
from core.errors import ConfigError, InputError
from core.json_types import JsonObject
from core.models import JobRecord, JobStatus, MediaKind
from core.ports import Emit, JobStore
from executors.backends.comfyui import ComfyClient
from executors.cloud import CloudManager, CloudMonitor, CloudStatus
from executors.engine import Engine
from executors.pool import ServerPool, ServerState
from executors.templates import TemplateSet

if TYPE_CHECKING:  # imported when first asked: litellm is slow to import
    from executors.backends.llm import Screenwriter

DEMO_NAME = "demo"  # the demo backend's pool member
FRONT = 2**31  # a retried job's priority with --front: before every queued one
RETRYABLE = (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.SUSPECT)
ACTIVE = (JobStatus.QUEUED, JobStatus.WAITING, JobStatus.RUNNING)


class DemoServer(Protocol):
    """The demo backend main.py starts: a ComfyUI protocol server on loopback."""

    @property
    def url(self) -> str: ...
    def stop(self) -> None: ...


@dataclass(frozen=True)
class Wiring:
    """The factories main.py hands in: the only place that knows how parts are built."""

    engine: Callable[[Emit, float | None], Engine]  # (emit, offline_grace_s)
    cloud: Callable[[], CloudManager]  # the cloud without an engine (a terminal's `cloud …`)
    client: Callable[[ServerConfig], ComfyClient]  # a ComfyUI server's client
    demo: Callable[[], DemoServer]  # starts the demo backend


@dataclass(frozen=True)
class FoundServer:
    """A server that answered a discovery scan; `configured`: config.json already has it."""

    kind: str  # comfyui, wangp_mcp, gradio, ollama, … (executors.backends.discovery.KINDS)
    url: str
    detail: str  # short human text: version, model count, server name
    port: int
    configured: bool


@dataclass(frozen=True)
class JobCounts:
    running: int
    queued: int
    failed: int


class Control:
    """The engine API of one process: job control works at once; `open` builds the engine
    that queueing, running, servers, functions and the demo backend need."""

    def __init__(self, jobs: JobStore, wiring: Wiring):
        self._jobs, self._wiring = jobs, wiring
        self._engine: Engine | None = None
        self.cloud = CloudControl(self._monitor, wiring.cloud)
        self._demo: DemoServer | None = None  # the one started here (--demo's is main.py's)
        self._lock = threading.Lock()

    # --- the engine -----------------------------------------------------------------------------

    def open(self, emit: Emit, *, offline_grace_s: float | None = None) -> None:
        """Build the engine (templates loaded, pool set up; nothing contacted). `emit` gets
        every job event; `offline_grace_s`: how long a job waits for a server (None: for ever)."""
        self._engine = self._wiring.engine(emit, offline_grace_s)

    def _opened(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("no job engine was opened (Control.open) for this call")
        return self._engine

    def _monitor(self) -> CloudMonitor | None:
        """The running engine's cloud, when an engine was opened."""
        return self._engine.cloud if self._engine is not None else None

    def start(self) -> None:
        """Reconcile, then run jobs on the engine's threads until `shutdown`."""
        self._opened().start()

    def run_until_done(
        self,
        job_ids: Iterable[int] | None,
        stop: threading.Event | None = None,
        stall_s: float | None = None,
    ) -> None:
        """Run the jobs (or the whole queue) here until done; see Engine.run_until_done."""
        self._opened().run_until_done(job_ids, stop, stall_s)

    def shutdown(self) -> list[str]:
        """Stop starting jobs (running ones finish their step, queued ones stay queued), stop
        the demo backend started here, and the cloud machine when auto-stop at quit is on;
        the cloud's notices."""
        if self._engine is not None:
            self._engine.stop()
        self.stop_demo()
        return self.cloud.at_quit()

    # --- jobs -----------------------------------------------------------------------------------

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
        """Validate every request, then store the jobs (bad input writes nothing)."""
        return self._opened().queue(
            prompt_ids,
            quality=quality,
            function=function,
            overrides=overrides,
            front=front,
            version=version,
            batch=batch,
        )

    def cancel(self, job_id: int) -> JobRecord:
        """Cancel a queued job, or stop a running one (here or in another process)."""
        if self._engine is not None:
            return self._engine.cancel(job_id)
        return self._jobs.request_cancel(job_id)

    def cancel_prompt(self, prompt_id: int) -> list[JobRecord]:
        """Cancel every queued, waiting or running job of one prompt."""
        jobs = self._jobs.list(prompt_id=prompt_id)
        return [self.cancel(job.id) for job in jobs if job.status in ACTIVE]

    def retry(self, job_id: int | None = None, *, front: bool = False) -> list[JobRecord]:
        """Queue a failed, cancelled or suspect job again (None: every failed job); it keeps
        what it was queued with. InputError, nothing queued, when a job cannot be retried."""
        jobs = (
            self._jobs.list(status=JobStatus.FAILED) if job_id is None else [self._jobs.get(job_id)]
        )
        for job in jobs:
            if job.status not in RETRYABLE:
                raise InputError(
                    f"job {job.id} is {job.status.value} — only failed, cancelled or "
                    "suspect jobs can be retried"
                )
        priority = FRONT if front else None
        return [self._jobs.requeue(job.id, priority=priority) for job in jobs]

    def pause(self) -> None:
        """Start no new jobs, in every process on this library (running ones finish)."""
        self._jobs.set_paused(True)

    def resume(self) -> None:
        self._jobs.set_paused(False)

    def counts(self) -> JobCounts:
        """Running, queued and failed jobs (a few ms of SQLite reads)."""
        unfinished = self._jobs.unfinished()
        running = sum(job.status is JobStatus.RUNNING for job in unfinished)
        failed = len(self._jobs.list(status=JobStatus.FAILED, limit=10_000))
        return JobCounts(running, len(unfinished) - running, failed)

    # --- functions ------------------------------------------------------------------------------

    @property
    def templates(self) -> TemplateSet:
        """The functions the engine runs now (memory only)."""
        return self._opened().executor.templates

    def reload_templates(self) -> TemplateSet:
        """Read the template folders again (after an import or a new tier); the new set runs
        at once."""
        return self._opened().reload_templates()

    # --- servers --------------------------------------------------------------------------------

    def backends(self, *, refresh: bool = False) -> list[ServerState]:
        """Every pool member as last seen (memory only), or asked now (`refresh`: about one
        connect timeout, all at once)."""
        pool = self._opened().pool
        return pool.refresh() if refresh else pool.states()

    def probe(self, url: str) -> ServerState:
        """Ask one ComfyUI URL whether it answers, as the pool would (not joined)."""
        pool = ServerPool([ServerConfig("test", url)], self._wiring.client)
        return pool.refresh()[0]

    def discover(self, config: Config) -> list[FoundServer]:
        """What answers on this machine's usual ports and at the configured URLs (only local
        and LAN addresses while online access is off), marked when config.json has it."""
        from executors.backends.discovery import discover  # its probes: only when asked

        configured = configured_urls(config)
        allowed = [u for u in configured if config.allow_online or is_local_url(u)]
        return [
            FoundServer(f.kind, f.url, f.detail, f.port, f.url.rstrip("/") in configured)
            for f in discover(allowed)
        ]

    def apply_settings(self, config: Config) -> None:
        """Saved settings that apply at once: the online switch, the cloud settings, and
        ComfyUI servers new to the pool join it (checked on a thread of their own)."""
        pool = self._opened().pool
        pool.allow_online = config.allow_online
        known = set(pool.names())
        for server in config.comfyui_servers:
            if server.name not in known:
                pool.add(server, self._wiring.client(server))
        threading.Thread(target=pool.refresh, name="pool-refresh", daemon=True).start()
        self.cloud.configure(config)

    # --- the screenwriter ------------------------------------------------------------------------

    def screenwriter(
        self, config: Config, *, model: str | None = None, api_base: str | None = None
    ) -> Screenwriter:
        """The LLM screenwriter: `model`/`api_base`, else the environment's, else config.json's
        (litellm is imported on its first call: call it on a worker)."""
        from executors.backends.llm import Screenwriter

        if config.llm is None:
            raise ConfigError('no LLM is configured — set "llm" in config.json')
        return Screenwriter.from_config(
            config.llm, allow_online=config.allow_online, model=model, api_base=api_base
        )

    def draft(
        self,
        config: Config,
        kind: str,
        idea: str,
        *,
        model: str | None = None,
        api_base: str | None = None,
    ) -> tuple[MediaKind, str, JsonObject]:
        """A prompt drafted from a one-line idea: (kind, title, data), data validated. `kind`
        may be image, audio (or song) or video."""
        from executors.backends.llm import parse_kind

        media = parse_kind(kind)
        writer = self.screenwriter(config, model=model, api_base=api_base)
        title, data = writer.draft(media, idea)
        return media, title, data

    # --- the demo backend -----------------------------------------------------------------------

    @property
    def demo_on(self) -> bool:
        """The pool has the demo backend (memory only)."""
        return DEMO_NAME in self._opened().pool.names()

    def start_demo(self) -> None:
        """Start the demo backend and let it join the pool."""
        with self._lock:
            server = self._demo = self._demo or self._wiring.demo()
        member = ServerConfig(DEMO_NAME, server.url)
        self._opened().pool.add(member, self._wiring.client(member))
        self._opened().pool.refresh()

    def stop_demo(self) -> None:
        """The demo backend leaves the pool; the one started here stops."""
        if self._engine is not None:
            self._engine.pool.remove(DEMO_NAME)
        with self._lock:
            server, self._demo = self._demo, None
        if server is not None:
            server.stop()


class CloudControl:
    """The RunComfy machine, for the window's Settings and `cloud start|status|stop`: through
    the running engine's monitor when one is open (its pool gains and loses the machine), else
    through a manager of its own."""

    def __init__(
        self, monitor: Callable[[], CloudMonitor | None], manager: Callable[[], CloudManager]
    ):
        self._monitor, self._new_manager = monitor, manager
        self._manager: CloudManager | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> CloudStatus:
        """As last known (memory only)."""
        monitor = self._monitor()
        return monitor.snapshot() if monitor is not None else self.manager().snapshot()

    def status(self) -> CloudStatus:
        """Asked of RunComfy now."""
        return self.manager().status()

    def unavailable_reason(self) -> str | None:
        """Why Start cannot work now (offline, not configured, over budget); None: it can."""
        return self.manager().unavailable_reason()

    def start(self, on_progress: Callable[[str], None] | None = None) -> CloudStatus:
        """Reuse or launch a machine and wait until it is Ready (minutes)."""
        monitor = self._monitor()
        return monitor.start(on_progress) if monitor else self.manager().start(on_progress)

    def stop(self) -> CloudStatus:
        """Stop the machine: billing ends."""
        monitor = self._monitor()
        return monitor.stop() if monitor is not None else self.manager().stop()

    def configure(self, config: Config) -> None:
        """Saved settings apply now."""
        monitor = self._monitor()
        if monitor is not None:
            monitor.configure(config.cloud)
        else:
            self.manager().configure(config.cloud)

    def at_quit(self) -> list[str]:
        """Stop the machine when auto-stop at quit is on; what was done."""
        monitor = self._monitor()
        return monitor.at_quit() if monitor is not None else []

    def manager(self) -> CloudManager:
        monitor = self._monitor()
        if monitor is not None:
            return monitor.manager
        with self._lock:
            self._manager = self._manager or self._new_manager()
            return self._manager


def configured_urls(config: Config) -> set[str]:
    urls = [s.url for s in config.comfyui_servers] + [s.url for s in config.wangp_servers]
    urls += [s.url for s in config.gradio_apps]
    if config.llm is not None and config.llm.api_base:
        urls.append(config.llm.api_base)
    return {url.rstrip("/") for url in urls}
