"""Cloud GPUs: RunComfy machines as pool members, with a cost meter, budgets and an offline switch.

`CloudManager` owns one RunComfy machine at a time:

* `start()` reuses the machine named in ``<home>/cloud.json`` when RunComfy still reports it, else
  launches one (POST …/servers), records it at once (so a crash cannot lose a billing machine),
  and polls until ``Ready``. A machine that is not Ready within ``ready_timeout_s`` — or that
  stops while starting — is stopped, forgotten and reported (`CloudStartFailed`).
* `stop()` DELETEs it: on request, from `enforce()` (idle timeout, budget reached), or from
  `at_quit()` when auto-stop was chosen. A 404 means it is already gone: the state is cleared and
  that is reported.
* Cost: RunComfy reports no cost, and bills from Ready on ("You are NOT charged until the machine
  status is Ready", RunComfy API reference), so cost = hourly rate × time since Ready. The rate
  comes from settings; the default per type is RunComfy's Hobby price (docs.runcomfy.com/
  about-billing via backends.md §5.1), the higher of the two plans, so the meter over- rather
  than under-estimates. Finished machines are added to a month ledger in the state file.
* Budgets: per *session* (one machine, launch to stop — CLI calls are separate processes, so an
  app run would be meaningless) and per calendar month (UTC). Reaching either stops the machine
  and refuses new launches; from 80 % on, `status()` carries a warning.
* Offline-first: while ``allow_online`` is off nothing here makes an outbound call — `start` and
  `stop` raise `CloudUnavailable` with the reason *before* any request, `status` reads the state
  file only, and `ready_servers()` is empty.
* Secrets: the token is read from its environment variable when a request is made and never
  stored; the machine's URL (the ComfyUI secret) lives only in the state file (mode 0600) and is
  shown masked; the server id is shown shortened.

Settings come from config.json's `cloud.runcomfy` block; TAKEBOARD_RUNCOMFY_* variables
override it (see `CloudSettings.from_config`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from core.config import Config, ServerConfig, mask_url
from core.errors import (
    BackendError,
    ConfigError,
    PermanentBackendError,
    TransientBackendError,
    UserError,
)
from executors.backends.runcomfy import (
    DEFAULT_API,
    ENDED,
    Machine,
    MachineGone,
    RunComfyClient,
    short_id,
)

log = logging.getLogger(__name__)

STATE_FILE = "cloud.json"
WARN_AT = 0.8
QUIT_WAIT_S = 10.0  # at quit, how long auto-stop waits for a start or stop in progress
KEEP_ALIVE_S = 15 * 60  # a busy machine this close to RunComfy's stop time is extended
STOP_HINT = "python main.py cloud stop"
DEFAULT_RATES_USD_H = {  # Hobby plan; 2xl-turbo assumed to be the H100 "2X-Large Plus"
    "medium": 0.99,
    "large": 1.75,
    "extra-large": 2.50,
    "2x-large": 4.99,
    "2xl-turbo": 7.49,
}
ENV_USER, ENV_TOKEN, ENV_API = (
    "TAKEBOARD_RUNCOMFY_USER_ID",
    "RUNCOMFY_API_TOKEN",
    "TAKEBOARD_RUNCOMFY_API",
)
ENV_MACHINE, ENV_VERSION, ENV_RATE = (
    "TAKEBOARD_RUNCOMFY_MACHINE",
    "TAKEBOARD_RUNCOMFY_VERSION",
    "TAKEBOARD_RUNCOMFY_RATE_USD_H",
)
ENV_BUDGET_SESSION, ENV_BUDGET_MONTH, ENV_IDLE = (
    "TAKEBOARD_RUNCOMFY_BUDGET_SESSION_USD",
    "TAKEBOARD_RUNCOMFY_BUDGET_MONTH_USD",
    "TAKEBOARD_RUNCOMFY_IDLE_STOP_S",
)
ENV_READY_TIMEOUT, ENV_AUTO_STOP = (
    "TAKEBOARD_RUNCOMFY_READY_TIMEOUT_S",
    "TAKEBOARD_RUNCOMFY_AUTO_STOP",
)
OFFLINE_REASON = (
    "online access is off (allow_online) — cloud machines need it: set allow_online to true in "
    "the home's config.json or TAKEBOARD_ALLOW_ONLINE=1"
)


class CloudUnavailable(UserError):
    """A cloud action cannot run: offline, not configured, or over budget. Says why."""


class CloudStartFailed(PermanentBackendError):
    """A launched machine did not become Ready (or stopped while starting); it was stopped."""


@dataclass(frozen=True)
class CloudSettings:
    allow_online: bool
    user_id: str = ""
    token_env: str = ENV_TOKEN
    api_url: str = DEFAULT_API
    machine_type: str = "medium"
    workflow_version: str = ""
    rate_usd_h: float = DEFAULT_RATES_USD_H["medium"]
    budget_session_usd: float | None = None
    budget_month_usd: float | None = None
    idle_stop_s: float | None = None
    ready_timeout_s: float = 900.0
    poll_s: float = 5.0
    estimated_duration_s: int = 4 * 3600  # RunComfy's own auto-stop bound, a safety net
    auto_stop_at_quit: bool = False
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0

    @classmethod
    def from_config(cls, config: Config, env: Mapping[str, str] | None = None) -> CloudSettings:
        """config.json's cloud.runcomfy block; TAKEBOARD_RUNCOMFY_* variables override it."""
        env = os.environ if env is None else env
        rc = config.runcomfy
        machine = env.get(ENV_MACHINE, "").strip() or rc.machine_type
        rate = _number(env, ENV_RATE)
        rates = {**DEFAULT_RATES_USD_H, **rc.rates_usd_h}
        auto_stop = env.get(ENV_AUTO_STOP, "").strip().lower()
        return cls(
            allow_online=config.allow_online,
            user_id=env.get(ENV_USER, "").strip() or rc.user_id,
            token_env=rc.token_env or ENV_TOKEN,
            api_url=(env.get(ENV_API, "").strip() or rc.api_url or DEFAULT_API).rstrip("/"),
            machine_type=machine,
            workflow_version=env.get(ENV_VERSION, "").strip() or rc.workflow_version,
            rate_usd_h=rate if rate is not None else rates.get(machine, max(rates.values())),
            budget_session_usd=_number(env, ENV_BUDGET_SESSION) or rc.budget_session_usd or None,
            budget_month_usd=_number(env, ENV_BUDGET_MONTH) or rc.budget_month_usd or None,
            idle_stop_s=_number(env, ENV_IDLE) or rc.idle_stop_s or None,
            ready_timeout_s=_number(env, ENV_READY_TIMEOUT) or rc.ready_timeout_s,
            auto_stop_at_quit=auto_stop in ("1", "true", "yes") or rc.auto_stop_at_quit,
            connect_timeout_s=config.timeouts.connect_s,
            read_timeout_s=config.timeouts.read_s,
        )

    def token(self) -> str | None:
        return os.environ.get(self.token_env) or None


@dataclass
class MachineState:
    server_id: str
    machine_type: str
    rate_usd_h: float
    launched_at: float
    url: str | None = None  # secret
    ready_at: float | None = None
    last_used_at: float | None = None
    status: str = "Pending"
    stopping_at: float | None = None  # when RunComfy stops it on its own (estimated_duration)

    def cost(self, now: float) -> float:
        if self.ready_at is None:
            return 0.0
        return self.rate_usd_h * max(0.0, now - self.ready_at) / 3600.0


@dataclass
class CloudState:
    machine: MachineState | None = None
    ledger: dict[str, float] = field(default_factory=dict)  # "YYYY-MM" (UTC) → USD


@dataclass(frozen=True)
class CloudStatus:
    """What `cloud status` shows; `url` is masked, `server` shortened."""

    state: str  # none, starting, ready, unknown
    online: bool
    server: str | None = None
    machine_type: str | None = None
    url: str = "-"
    uptime_s: float | None = None
    cost_usd: float = 0.0
    rate_usd_h: float | None = None
    session_budget_usd: float | None = None
    month_spent_usd: float = 0.0
    month_budget_usd: float | None = None
    warnings: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["warnings"], data["notices"] = list(self.warnings), list(self.notices)
        for key in ("cost_usd", "month_spent_usd"):
            data[key] = round(data[key], 4)
        return data


class CloudManager:
    """Launch/poll/reuse/stop one RunComfy machine; state in ``<home>/cloud.json``."""

    def __init__(
        self,
        settings: CloudSettings,
        home: Path,
        *,
        client_factory: Callable[[CloudSettings, str], RunComfyClient] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self.path = Path(home) / STATE_FILE
        self._client_factory = client_factory or _make_client
        self._client: RunComfyClient | None = None
        self._clock, self._sleep = clock, sleep
        self._lock = threading.RLock()
        self._known: CloudState | None = None  # a copy of the state as last read or written

    def configure(self, settings: CloudSettings) -> None:
        """New settings (the Settings dialog saved): used from the next request on. No lock:
        the Tk thread calls this, and a start in progress keeps the client it has."""
        self.settings, self._client = settings, None

    def snapshot(self) -> CloudStatus:
        """The status from memory — no file, no request, no lock: safe on the Tk thread.
        The cost is computed for now; the state is the one last read or written."""
        known = self._known
        notices = () if known is not None else ("not read yet",)
        return self._status(known or CloudState(), list(notices))

    # --- what a caller uses -----------------------------------------------------------------

    def unavailable_reason(self) -> str | None:
        """Why no request may be made now, or None. Checked before every outbound call."""
        s = self.settings
        if not s.allow_online:
            return OFFLINE_REASON
        if not s.user_id:
            return f"RunComfy is not configured — set {ENV_USER} (from the dashboard URL)"
        if not s.token():
            return f"no RunComfy token — set {s.token_env} (Token1 or Token2 from your profile)"
        return None

    def start(self, on_progress: Callable[[str], None] | None = None) -> CloudStatus:
        """A Ready machine: the recorded one when still alive, else a new launch."""
        say = on_progress or (lambda _text: None)
        with self._lock:
            client = self._require_client("cannot start a cloud machine")
            state, notices = self._load(), []
            if state.machine is not None:
                machine = self._refresh(client, state, notices)
                if machine is not None and machine.ready_at is not None:
                    self._enforce(client, state, notices)  # an idle or over-budget one stops
                    if state.machine is not None:
                        say(f"reusing machine {short_id(machine.server_id)} (Ready)")
                    return self._status(state, notices)
                elif machine is not None:
                    say(f"machine {short_id(machine.server_id)} is still starting")
                    return self._wait_ready(client, state, say, notices)
            self._refuse_over_budget(state)
            if not self.settings.workflow_version:
                raise CloudUnavailable(
                    f"no workflow version — set {ENV_VERSION} to a version_id from your RunComfy "
                    "workflows"
                )
            now = self._clock()
            server_id = client.launch(
                self.settings.machine_type,
                self.settings.workflow_version,
                self.settings.estimated_duration_s,
            )
            state.machine = MachineState(
                server_id, self.settings.machine_type, self.settings.rate_usd_h, now
            )
            self._save(state)
            log.info(
                "cloud: launched %s machine %s", self.settings.machine_type, short_id(server_id)
            )
            say(f"launched {self.settings.machine_type} machine {short_id(server_id)}; waiting")
            return self._wait_ready(client, state, say, notices)

    def status(self, refresh: bool = True) -> CloudStatus:
        """State, type, masked URL, uptime, cost and budget use; asks RunComfy only when online."""
        with self._lock:
            state, notices = self._load(), []
            reason = self.unavailable_reason()
            if state.machine is not None and refresh and reason is None:
                client = self._get_client()
                try:
                    self._refresh(client, state, notices)
                    self._enforce(client, state, notices)
                except TransientBackendError as exc:
                    notices.append(f"RunComfy not reachable, showing the last known state: {exc}")
            elif state.machine is not None and reason is not None:
                notices.append(f"not checked with RunComfy: {reason}")
            return self._status(state, notices)

    def stop(self, reason: str = "asked by the user") -> CloudStatus:
        with self._lock:
            state = self._load()
            if state.machine is None:
                return self._status(state, ["no cloud machine is running"])
            client = self._require_client(
                f"cannot stop machine {short_id(state.machine.server_id)} (it keeps billing until "
                "RunComfy's estimated duration ends)"
            )
            notices: list[str] = []
            self._stop(client, state, reason, notices)
            return self._status(state, notices)

    def enforce(self, *, used: bool = False) -> list[str]:
        """Idle and budget stops; call it now and then (the engine's health tick). `used`: the
        machine did work since the last call — its idle timer restarts and, near RunComfy's own
        stop time, it is extended. Offline, or while a start or stop holds the manager: []
        (the next tick tries again)."""
        if self.unavailable_reason() is not None or not self._lock.acquire(blocking=False):
            return []
        try:
            state, notices = self._load(), []
            machine = state.machine
            if machine is None or machine.ready_at is None:
                return notices
            if used:
                machine.last_used_at = self._clock()
                self._keep_alive(machine, machine.last_used_at)
                self._save(state)
            self._enforce(self._get_client(), state, notices)
            return notices
        finally:
            self._lock.release()

    def at_quit(self) -> list[str]:
        """At application exit: stop the machine when auto-stop was chosen."""
        if not self.settings.auto_stop_at_quit or self.unavailable_reason() is not None:
            return []
        if not self._lock.acquire(timeout=QUIT_WAIT_S):
            return [f"a start or stop is still running; the machine was left (`{STOP_HINT}`)"]
        try:
            state, notices = self._load(), []
            if state.machine is not None:
                self._stop(self._get_client(), state, "auto-stop at quit", notices)
            return notices
        finally:
            self._lock.release()

    def ready_servers(self, *, read: bool = True) -> list[ServerConfig]:
        """The Ready machine as a pool member (no request made); empty while offline.
        read=False: from the state last read or written — no file, no lock."""
        if read:
            with self._lock:
                self._load()  # offline too: snapshot() then shows a recorded machine
        if not self.settings.allow_online:
            return []
        machine = self._known.machine if self._known is not None else None
        if machine is None or machine.ready_at is None or not machine.url:
            return []
        name = f"runcomfy-{short_id(machine.server_id)}"
        return [ServerConfig(name=name, url=machine.url, secret_url=True)]

    # --- lifecycle steps ----------------------------------------------------------------------

    def _refresh(
        self, client: RunComfyClient, state: CloudState, notices: list[str]
    ) -> MachineState | None:
        """Ask RunComfy about the recorded machine; forget it when gone or ended."""
        machine = state.machine
        assert machine is not None
        try:
            remote = client.status(machine.server_id)
        except MachineGone:
            self._forget(state, "RunComfy no longer knows it", notices)
            return None
        if remote.status in ENDED:
            self._forget(state, f"RunComfy reports it {remote.status}", notices)
            return None
        machine.status = remote.status
        if remote.ready:
            self._mark_ready(machine, remote)
        self._save(state)
        return machine

    def _wait_ready(
        self,
        client: RunComfyClient,
        state: CloudState,
        say: Callable[[str], None],
        notices: list[str],
    ) -> CloudStatus:
        machine = state.machine
        assert machine is not None
        deadline = machine.launched_at + self.settings.ready_timeout_s
        last = ""
        while True:
            try:
                remote = client.status(machine.server_id)
            except (MachineGone, TransientBackendError):
                remote = None  # not visible yet, or a blip: keep polling until the deadline
            if remote is not None and remote.status != last:
                last = remote.status
                say(f"machine {short_id(machine.server_id)}: {last}")
            if remote is not None and remote.ready:
                machine.status = remote.status
                self._mark_ready(machine, remote)
                self._save(state)
                log.info(
                    "cloud: machine %s Ready at %s",
                    short_id(machine.server_id),
                    mask_url(machine.url),
                )
                return self._status(state, notices)
            if remote is not None and remote.status in ENDED:
                self._fail(client, state, f"it became {remote.status} while starting")
            if self._clock() >= deadline:
                self._fail(
                    client,
                    state,
                    f"it was not Ready within {self.settings.ready_timeout_s:.0f} s "
                    f"(last status: {last or 'unknown'})",
                )
            self._sleep(self.settings.poll_s)

    def _mark_ready(self, machine: MachineState, remote: Machine) -> None:
        """Billing runs from RunComfy's own Ready time (never later than now: clock skew),
        which may be before this app saw it — e.g. after a `cloud start` that was cut off."""
        now = self._clock()
        if machine.ready_at is None:
            machine.ready_at = min(remote.ready_at or now, now)
        machine.url = remote.url
        machine.stopping_at = remote.stopping_at or (
            machine.stopping_at or machine.ready_at + self.settings.estimated_duration_s
        )

    def _keep_alive(self, machine: MachineState, now: float) -> None:
        """A busy machine close to RunComfy's own stop time gets more time: stopping it
        would kill the jobs on it. Idle and budget stops still apply."""
        if machine.ready_at is None or machine.stopping_at is None:
            return
        if machine.stopping_at - now > KEEP_ALIVE_S:
            return
        duration = int(now - machine.ready_at + self.settings.estimated_duration_s)
        try:
            remote = self._get_client().set_duration(machine.server_id, duration)
        except BackendError as exc:
            log.warning("cloud: could not extend machine %s: %s", short_id(machine.server_id), exc)
            return
        machine.stopping_at = remote.stopping_at or machine.ready_at + duration
        log.info("cloud: machine %s extended: busy near its stop time", short_id(machine.server_id))

    def _fail(self, client: RunComfyClient, state: CloudState, why: str) -> None:
        assert state.machine is not None
        sid = short_id(state.machine.server_id)
        try:
            stopped = client.stop(state.machine.server_id)
            outcome = "stopped it" if stopped else "it is already gone"
        except BackendError as exc:
            outcome = f"stopping it failed ({exc}) — stop it on runcomfy.com"
        self._forget(state, why, [])
        log.warning("cloud: machine %s failed to start: %s; %s", sid, why, outcome)
        raise CloudStartFailed(
            f"cloud machine {sid} did not start: {why}; {outcome}", backend="runcomfy"
        )

    def _enforce(self, client: RunComfyClient, state: CloudState, notices: list[str]) -> None:
        machine = state.machine
        if machine is None or machine.ready_at is None:
            return
        now, s = self._clock(), self.settings
        idle_since = max(machine.ready_at, machine.last_used_at or 0.0)
        if s.idle_stop_s is not None and now - idle_since >= s.idle_stop_s:
            self._stop(client, state, f"idle for {(now - idle_since) / 60:.0f} min", notices)
            return
        over = self._over_budget(state, now)
        if over:
            self._stop(client, state, f"budget reached ({over})", notices)

    def _stop(
        self, client: RunComfyClient, state: CloudState, reason: str, notices: list[str]
    ) -> None:
        machine = state.machine
        assert machine is not None
        sid = short_id(machine.server_id)
        gone = not client.stop(machine.server_id)
        what = "was already gone (404)" if gone else "stopped"
        self._forget(state, reason, [])
        notices.append(f"machine {sid} {what}: {reason}")
        log.info("cloud: machine %s %s: %s", sid, what, reason)

    def _forget(self, state: CloudState, why: str, notices: list[str]) -> None:
        """Book the machine's cost into the month ledger and clear it from the state."""
        machine = state.machine
        assert machine is not None
        now = self._clock()
        month = _month(now)
        state.ledger[month] = state.ledger.get(month, 0.0) + machine.cost(now)
        state.machine = None
        self._save(state)
        notices.append(f"machine {short_id(machine.server_id)} forgotten: {why}")

    # --- budgets ------------------------------------------------------------------------------

    def _month_spent(self, state: CloudState, now: float) -> float:
        running = state.machine.cost(now) if state.machine else 0.0
        return state.ledger.get(_month(now), 0.0) + running

    def _over_budget(self, state: CloudState, now: float) -> str:
        s = self.settings
        session = state.machine.cost(now) if state.machine else 0.0
        if s.budget_session_usd is not None and session >= s.budget_session_usd:
            return f"session ${session:.2f} of ${s.budget_session_usd:.2f}"
        month = self._month_spent(state, now)
        if s.budget_month_usd is not None and month >= s.budget_month_usd:
            return f"month ${month:.2f} of ${s.budget_month_usd:.2f}"
        return ""

    def _refuse_over_budget(self, state: CloudState) -> None:
        s, now = self.settings, self._clock()
        month = self._month_spent(state, now)
        if s.budget_month_usd is not None and month >= s.budget_month_usd:
            raise CloudUnavailable(
                f"monthly cloud budget reached (${month:.2f} of ${s.budget_month_usd:.2f}) — no "
                f"new machine until next month, or raise {ENV_BUDGET_MONTH}"
            )
        if s.budget_session_usd is not None and s.budget_session_usd <= 0:
            raise CloudUnavailable(f"session budget is 0 — raise {ENV_BUDGET_SESSION}")

    def _warnings(self, state: CloudState, now: float) -> list[str]:
        s, out = self.settings, []
        session = state.machine.cost(now) if state.machine else 0.0
        checks = (
            ("session", session, s.budget_session_usd),
            ("month", self._month_spent(state, now), s.budget_month_usd),
        )
        for name, spent, budget in checks:
            if budget and spent >= WARN_AT * budget:
                out.append(
                    f"{name} budget {spent / budget:.0%} used (${spent:.2f} of ${budget:.2f})"
                )
        return out

    def _status(self, state: CloudState, notices: list[str]) -> CloudStatus:
        now, s, m = self._clock(), self.settings, state.machine
        common: dict[str, Any] = {
            "online": s.allow_online,
            "session_budget_usd": s.budget_session_usd,
            "month_spent_usd": self._month_spent(state, now),
            "month_budget_usd": s.budget_month_usd,
            "warnings": tuple(self._warnings(state, now)),
            "notices": tuple(notices),
        }
        if m is None:
            return CloudStatus(state="none", **common)
        return CloudStatus(
            state="ready" if m.ready_at is not None else "starting",
            server=short_id(m.server_id),
            machine_type=m.machine_type,
            url=mask_url(m.url),
            uptime_s=(now - m.ready_at) if m.ready_at is not None else None,
            cost_usd=m.cost(now),
            rate_usd_h=m.rate_usd_h,
            **common,
        )

    # --- plumbing -----------------------------------------------------------------------------

    def _require_client(self, action: str) -> RunComfyClient:
        reason = self.unavailable_reason()
        if reason is not None:
            raise CloudUnavailable(f"{action}: {reason}")
        return self._get_client()

    def _get_client(self) -> RunComfyClient:
        if self._client is None:
            self._client = self._client_factory(self.settings, self.settings.token() or "")
        return self._client

    def _load(self) -> CloudState:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self._known = CloudState()
            return CloudState()
        except (OSError, ValueError) as exc:
            aside = self.path.with_name(f"{STATE_FILE}.broken-{int(self._clock())}")
            with contextlib.suppress(OSError):
                self.path.replace(aside)
            log.warning("cloud: %s unreadable (%s); moved to %s", self.path, exc, aside.name)
            return CloudState()
        machine = raw.get("machine")
        known = {f.name for f in fields(MachineState)}
        state = CloudState(
            machine=(
                MachineState(**{k: v for k, v in machine.items() if k in known})
                if isinstance(machine, dict)
                else None
            ),
            ledger={str(k): float(v) for k, v in (raw.get("ledger") or {}).items()},
        )
        self._known = copy.deepcopy(state)
        return state

    def _save(self, state: CloudState) -> None:
        data = {
            "version": 1,
            "machine": asdict(state.machine) if state.machine else None,
            "ledger": state.ledger,
        }
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{STATE_FILE}.", suffix=".tmp")
        try:
            os.chmod(temp, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
            os.replace(temp, self.path)
            self._known = copy.deepcopy(state)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise


def _make_client(settings: CloudSettings, token: str) -> RunComfyClient:
    return RunComfyClient(
        settings.user_id,
        token,
        settings.api_url,
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
    )


def _month(timestamp: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(timestamp))


def _number(env: Mapping[str, str], name: str) -> float | None:
    text = env.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {text!r}") from None
    if value < 0:
        raise ConfigError(f"{name}: must be 0 or more, got {value}")
    return value


__all__ = [
    "CloudManager",
    "CloudMonitor",
    "CloudSettings",
    "CloudStartFailed",
    "CloudStatus",
    "CloudUnavailable",
]


class CloudMonitor:
    """The cloud as a running engine sees it. On each health tick (`tick`, engine thread) a
    Ready machine that holds jobs counts as used, the idle and budget stops run, and the pool's
    members follow the Ready machine — one started from the window, or by `cloud start` in
    another process, joins; a stopped one leaves. The window reads `snapshot()` (memory only)
    and runs `start`/`stop` on worker threads."""

    def __init__(
        self,
        manager: CloudManager,
        pool: Any,
        make_client: Callable[[ServerConfig], Any],
    ):
        self.manager, self.pool, self._make_client = manager, pool, make_client
        self._member: ServerConfig | None = None
        self._stops: tuple[str, ...] = ()  # what the last automatic stop said, for the window
        self._sync(manager.ready_servers())  # reads the state file, no request

    def tick(self) -> None:
        member = self._member
        busy = member is not None and any(
            s.name == member.name and (s.slots_used or s.queue_running or s.queue_pending)
            for s in self.pool.states()
        )
        notices = self.manager.enforce(used=busy)
        for notice in notices:
            log.warning("cloud: %s", notice)
        self._stops = tuple(notices) or self._stops
        self._sync(self.manager.ready_servers(read=False))

    def start(self, on_progress: Callable[[str], None] | None = None) -> CloudStatus:
        try:
            return self.manager.start(on_progress)
        finally:
            self._sync(self.manager.ready_servers(read=False))

    def stop(self) -> CloudStatus:
        try:
            return self.manager.stop()
        finally:
            self._sync(self.manager.ready_servers(read=False))

    def at_quit(self) -> list[str]:
        return self.manager.at_quit()

    def snapshot(self) -> CloudStatus:
        status = self.manager.snapshot()
        return replace(status, notices=(*self._stops, *status.notices))

    def unavailable_reason(self) -> str | None:
        return self.manager.unavailable_reason()

    def configure(self, settings: CloudSettings) -> None:
        self.manager.configure(settings)
        self._sync(self.manager.ready_servers(read=False))

    def _sync(self, machines: list[ServerConfig]) -> None:
        ready = machines[0] if machines else None
        if ready == self._member:
            return
        if self._member is not None:
            self.pool.remove(self._member.name)
            log.info("cloud: %s left the pool", self._member.name)
        if ready is not None:
            self.pool.add(ready, self._make_client(ready))
            log.info("cloud: %s joined the pool (%s)", ready.name, ready.shown_url())
        self._member = ready
