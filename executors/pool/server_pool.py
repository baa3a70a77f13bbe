"""The pool of backend servers: health, VRAM admission, slots and a circuit breaker.

Members are ComfyUI servers and the other families' clients (WanGP, Gradio apps, command
lines: anything with `kind`, `name`, `url` and `health()`); a job asks for a slot among the
members that can run its template (`only`).

Thread-safe: the dispatcher thread calls `acquire`, worker threads call `release`, anyone may
call `refresh` and `states`. One lock guards the bookkeeping; network calls run outside it.

* `refresh()` asks every server for /system_stats and /queue at once (a thread each), so it
  takes about one connect timeout even when every server is down.
* `acquire(vram_gb)` hands out a `Lease` (a slot on one server) or a `Refusal` saying why not.
  A server takes `slots_per_server` jobs at once (one running, the next parked in its own
  queue). The jobs holding slots reserve their `vram_gb`; a job is admitted where
  reserved + vram_gb fits the primary device (devices[0] of /system_stats): a card's total, or
  the free RAM of a server computing on cpu/mps. A server without memory numbers (DirectML, a
  remote WanGP) admits anything.
* `release(lease, ok=...)` frees the slot and records the outcome. `breaker_threshold`
  transient failures in a row pause the server for `breaker_cooldown_s`; then one job may try
  (half-open) and its success closes the breaker. Non-transient failures (a bad workflow) are
  not the server's fault: they count neither for the breaker nor for the success rate.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from core.config import ServerConfig
from core.errors import NotFound
from executors.backends.base import ToolClient
from executors.backends.comfyui import ComfyClient
from executors.pool.health import Probe, apply, odd_answer, on_internet, probe
from executors.pool.servers import Member, ServerState, state_of
from executors.vram import GpuInfo, is_local, nvml_gpus

log = logging.getLogger(__name__)

REFUSAL_ORDER = ("vram", "busy", "breaker", "offline")  # the most useful explanation first


@dataclass(frozen=True)
class Lease:
    """A slot on one server for one job; give it back with `ServerPool.release`."""

    server: str
    client: ComfyClient | ToolClient
    reserved_gb: float
    token: int = field(default=0, repr=False)  # tells two leases with equal fields apart


@dataclass(frozen=True)
class Refusal:
    """Why no server can take the job right now."""

    reason: str  # "offline" | "busy" | "vram" | "too_big" | "breaker" | "no_servers" | "template"
    detail: str  # a user-facing sentence: what happened and what to do


class ServerPool:
    def __init__(
        self,
        servers: Sequence[ServerConfig],
        make_client: Callable[[ServerConfig], ComfyClient],
        *,
        slots_per_server: int = 2,
        breaker_threshold: int = 3,
        breaker_cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        gpu_probe: Callable[[], list[GpuInfo] | None] = nvml_gpus,
        tools: Sequence[ToolClient] = (),
        allow_online: bool = True,
    ):
        if slots_per_server < 1 or breaker_threshold < 1:
            raise ValueError("slots_per_server and breaker_threshold must be at least 1")
        self._servers = {c.name: Member(c, make_client(c)) for c in servers}
        for tool in tools:  # one job at a time each is all these backends take
            self._servers[tool.name] = Member(ServerConfig(tool.name, tool.url), tool)
        self.slots_per_server = slots_per_server
        self.breaker_threshold = breaker_threshold
        self.breaker_cooldown_s = breaker_cooldown_s
        self._clock = clock
        self._gpu_probe = gpu_probe
        self.allow_online = allow_online  # off: members on the internet are never contacted
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)

    # --- membership (a cloud machine joins when Ready, leaves when stopped) -------------------

    def add(self, config: ServerConfig, client: ComfyClient) -> None:
        """A new member (or a new client for one of that name)."""
        with self._lock:
            self._servers[config.name] = Member(config, client)

    def remove(self, name: str) -> None:
        """The member leaves; a job still holding it ends on its own (its release is ignored)."""
        with self._lock:
            self._servers.pop(name, None)

    # --- looking ---------------------------------------------------------------------------

    def names(self, kind: str | None = None) -> list[str]:
        """Every member's name, or those of one backend family."""
        with self._lock:
            return [s.name for s in self._servers.values() if kind is None or s.kind == kind]

    def client(self, name: str) -> ComfyClient | ToolClient:
        """The client of server `name` (to reconcile a job with the server it ran on)."""
        server = self._servers.get(name)
        if server is None:
            known = ", ".join(self._servers) or "none"
            raise NotFound(f"no ComfyUI server named {name!r} (known: {known}) — see Settings")
        return server.client

    def states(self) -> list[ServerState]:
        with self._lock:
            now = self._clock()
            return [state_of(s, now) for s in self._servers.values()]

    def refresh(self) -> list[ServerState]:
        """Ask every server, in parallel, whether it answers, its VRAM and its queue depth."""
        servers = list(self._servers.values())
        if not servers:
            return []
        gpus = self._local_gpus(servers)
        with ThreadPoolExecutor(len(servers), thread_name_prefix="pool-refresh") as executor:
            probes = list(executor.map(self._probe, servers))
        with self._lock:
            for server, probe in zip(servers, probes, strict=True):
                try:
                    apply(server, probe, gpus)
                except Exception as exc:  # noqa: BLE001 — e.g. /queue answered a list
                    log.warning("health answer of %s unusable", server.name, exc_info=True)
                    apply(server, Probe(online=False, error=odd_answer(server, exc)), None)
        return self.states()

    def _probe(self, server: Member) -> Probe:
        if not self.allow_online and on_internet(server.config.url):
            error = (
                f"{server.name} is on the internet and online access is off — allow it in "
                "Settings (allow_online), or use a local or LAN server"
            )
            return Probe(online=False, error=error)
        try:
            return probe(server.client)
        except Exception as exc:  # noqa: BLE001 — one server's odd answer must not stop the rest
            log.warning("health check of %s failed", server.name, exc_info=True)
            return Probe(online=False, error=odd_answer(server, exc))

    def _local_gpus(self, servers: list[Member]) -> list[GpuInfo] | None:
        if not any(is_local(s.config.url) for s in servers):
            return None
        try:
            return self._gpu_probe()
        except Exception as exc:  # a probe must not break a refresh
            log.info("no GPU info (%s)", exc)
            return None

    # --- leasing ---------------------------------------------------------------------------

    def acquire(
        self,
        vram_gb: float | None,
        *,
        exclude: Collection[str] = (),
        only: Collection[str] | None = None,
    ) -> Lease | Refusal:
        """A slot on the least loaded server (of `only`, when given) that can take the job,
        or why there is none."""
        need = float(vram_gb or 0.0)
        with self._lock:
            now = self._clock()
            candidates = [
                s
                for s in self._servers.values()
                if s.name not in exclude and (only is None or s.name in only)
            ]
            if not candidates:
                return self._no_servers(exclude)
            verdicts = {s.name: self._verdict(s, need, now) for s in candidates}
            ready = [s for s in candidates if verdicts[s.name] is None]
            if ready:
                return self._lease(min(ready, key=_load), need, now)
            return self._refusal(candidates, verdicts, need, now)

    def _verdict(self, server: Member, need: float, now: float) -> str | None:
        """Why `server` cannot take the job now (None: it can)."""
        if server.online is False:
            return "offline"
        if server.paused(now):
            return "breaker"
        total = server.total_gb
        if total is not None and need > total:
            return "too_small"
        if len(server.leases) >= self._slots(server):
            return "busy"
        room = server.room_gb
        if room is not None and server.reserved_gb + need > room:
            return "vram"
        return None

    def _slots(self, server: Member) -> int:
        """ComfyUI servers keep a job parked in their own queue; the others run one at a time."""
        return self.slots_per_server if server.kind == "comfyui" else 1

    def _lease(self, server: Member, need: float, now: float) -> Lease:
        token = next(self._tokens)
        server.leases[token] = need
        if server.open_until is not None and now >= server.open_until:
            server.probe_token = token  # half-open: this job decides
        return Lease(server.name, server.client, need, token)

    def release(
        self,
        lease: Lease,
        *,
        ok: bool,
        latency_s: float | None = None,
        error: str | None = None,
        transient: bool = False,
    ) -> None:
        """Give the slot back and record how the job went."""
        with self._lock:
            server = self._servers.get(lease.server)
            if server is None or server.leases.pop(lease.token, None) is None:
                log.warning("lease on %s released twice or unknown; ignored", lease.server)
                return
            was_probe = server.probe_token == lease.token
            if was_probe:
                server.probe_token = None
            if ok:
                self._succeeded(server, latency_s)
            elif transient:
                self._failed(server, error, was_probe)
            else:
                server.last_error = error

    def give_back(self, lease: Lease) -> None:
        """Free a slot that ran nothing (the job could not be started): no outcome recorded."""
        with self._lock:
            server = self._servers.get(lease.server)
            if server is None or server.leases.pop(lease.token, None) is None:
                return
            if server.probe_token == lease.token:
                server.probe_token = None

    def _succeeded(self, server: Member, latency_s: float | None) -> None:
        server.outcomes.append(True)
        if latency_s is not None:
            server.latencies_ms.append(latency_s * 1000)
        server.failures = 0
        server.open_until = None
        server.last_error = None

    def _failed(self, server: Member, error: str | None, was_probe: bool) -> None:
        server.outcomes.append(False)
        server.failures += 1
        server.last_error = error
        if was_probe or server.failures >= self.breaker_threshold:
            server.open_until = self._clock() + self.breaker_cooldown_s
            log.warning(
                "%s failed %d times in a row; pausing it for %g s",
                server.name,
                server.failures,
                self.breaker_cooldown_s,
            )

    # --- refusals --------------------------------------------------------------------------

    def _refusal(
        self, candidates: list[Member], verdicts: dict[str, str | None], need: float, now: float
    ) -> Refusal:
        if _never_fits(candidates, need):
            return _too_big(candidates, need)
        # Some server could take the job one day, so its verdict is not "too_small".
        reason = next(r for r in REFUSAL_ORDER if r in verdicts.values())
        blocked = [s for s in candidates if verdicts[s.name] == reason]
        return Refusal(reason, self._explain(reason, blocked, need, now))

    def _explain(self, reason: str, blocked: list[Member], need: float, now: float) -> str:
        if reason == "vram":
            server = min(blocked, key=lambda s: s.reserved_gb)
            if server.by_free_ram:
                return (
                    f"waiting for {_gb(need)} GB of free RAM on {server.name} "
                    f"({_gb(server.room_gb or 0.0)} GB free, {_gb(server.reserved_gb)} GB "
                    "held by other jobs)"
                )
            return (
                f"waiting for {_gb(need)} GB of GPU memory on {server.name} "
                f"({_gb(server.reserved_gb)} GB in use by other jobs)"
            )
        if reason == "busy":
            jobs = sum(len(s.leases) for s in blocked)
            return (
                f"every server is busy ({jobs} jobs on {len(blocked)} server"
                f"{'s' if len(blocked) != 1 else ''}, {self.slots_per_server} at a time each) "
                "— the job starts when one finishes"
            )
        if reason == "breaker":
            server = min(blocked, key=lambda s: s.open_until or 0.0)
            return (
                f"{server.name} failed {server.failures} times in a row; paused until "
                f"{self._wall_time(server, now)} — check its log"
            )
        if all(s.kind != "comfyui" for s in blocked):  # their probes say how to start them
            return "; ".join(s.last_error or f"{s.name} is not answering" for s in blocked)
        answers = "; ".join(
            f"{s.config.shown_url()}: {s.last_error or 'no answer'}" for s in blocked
        )
        return (
            f"no ComfyUI server is answering ({answers}) — start one or change the URL in Settings"
        )

    def _wall_time(self, server: Member, now: float) -> str:
        if server.probe_token is not None:
            return "its test job finishes"
        wall = time.time() + max(0.0, (server.open_until or now) - now)
        return time.strftime("%H:%M:%S", time.localtime(wall))

    def _no_servers(self, exclude: Collection[str]) -> Refusal:
        if not self._servers:
            return Refusal("no_servers", "no ComfyUI server is set up — add one in Settings")
        return Refusal(
            "no_servers",
            f"every ComfyUI server was ruled out for this job ({', '.join(sorted(exclude))}) "
            "— fix the failing server or add another in Settings",
        )

    # --- snapshots -------------------------------------------------------------------------


# --- helpers -------------------------------------------------------------------------------


def _load(server: Member) -> tuple[int, int, float]:
    """Sort key: fewest slots used, then fewest pending on the server, then fastest (a server
    without successes yet counts as fast, so it gets tried); ties keep the configured order."""
    return (len(server.leases), server.queue_pending or 0, server.median_latency_ms() or 0.0)


def _never_fits(candidates: list[Member], need: float) -> bool:
    totals = [s.total_gb for s in candidates]
    return need > 0 and all(t is not None and need > t for t in totals)


def _too_big(candidates: list[Member], need: float) -> Refusal:
    largest = max((s.total_gb or 0.0) for s in candidates)
    return Refusal(
        "too_big",
        f"needs {_gb(need)} GB of GPU memory; the largest GPU in the pool has {_gb(largest)} GB "
        "— pick a lower quality tier or add a bigger server",
    )


def _gb(value: float) -> str:
    return f"{round(value, 1):g}"
