"""`CloudManager`: one RunComfy machine at a time, launched, polled, reused and stopped.

* `start()` reuses the machine named in ``<home>/cloud.json`` when RunComfy still reports it, else
  launches one (POST …/servers), records it at once (so a crash cannot lose a billing machine),
  and polls until ``Ready``. A machine that is not Ready within ``ready_timeout_s`` — or that
  stops while starting — is stopped, forgotten and reported (`CloudStartFailed`).
* `stop()` DELETEs it: on request, from `enforce()` (idle timeout, budget reached), or from
  `at_quit()` when auto-stop was chosen. A 404 means it is already gone: the state is cleared and
  that is reported.
* Cost and budgets: executors.cloud.billing.
* Offline-first: while ``allow_online`` is off nothing here makes an outbound call — `start` and
  `stop` raise `CloudUnavailable` with the reason *before* any request, `status` reads the state
  file only, and `ready_servers()` is empty.
* Secrets: the token is read from its environment variable when a request is made and never
  stored; the machine's URL (the ComfyUI secret) lives only in the state file (mode 0600) and is
  shown masked; the server id is shown shortened.

Settings are `core.config.CloudSettings` (config.json's cloud.runcomfy block with the
TAKEBOARD_RUNCOMFY_* variables over it), as `Config.cloud`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from core.config import CloudSettings, ServerConfig, mask_url
from core.config.env import ENV_RUNCOMFY_USER, ENV_RUNCOMFY_VERSION
from core.errors import BackendError, TransientBackendError
from executors.backends.runcomfy import ENDED, Machine, MachineGone, RunComfyClient, short_id
from executors.cloud import billing
from executors.cloud.errors import CloudStartFailed, CloudUnavailable
from executors.cloud.state import CloudState, CloudStatus, MachineState, StateFile

log = logging.getLogger(__name__)

QUIT_WAIT_S = 10.0  # at quit, how long auto-stop waits for a start or stop in progress
KEEP_ALIVE_S = 15 * 60  # a busy machine this close to RunComfy's stop time is extended
STOP_HINT = "python main.py cloud stop"
OFFLINE_REASON = (
    "online access is off (allow_online) — cloud machines need it: set allow_online to true in "
    "the home's config.json or TAKEBOARD_ALLOW_ONLINE=1"
)


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
        self.state_file = StateFile(home, clock)
        self._client_factory = client_factory or _make_client
        self._client: RunComfyClient | None = None
        self._clock, self._sleep = clock, sleep
        self._lock = threading.RLock()

    def configure(self, settings: CloudSettings) -> None:
        """New settings (the Settings dialog saved): used from the next request on. No lock:
        the Tk thread calls this, and a start in progress keeps the client it has."""
        self.settings, self._client = settings, None

    def snapshot(self) -> CloudStatus:
        """The status from memory — no file, no request, no lock: safe on the Tk thread.
        The cost is computed for now; the state is the one last read or written."""
        known = self.state_file.known
        notices = () if known is not None else ("not read yet",)
        return self._status(known or CloudState(), list(notices))

    # --- what a caller uses -----------------------------------------------------------------

    def unavailable_reason(self) -> str | None:
        """Why no request may be made now, or None. Checked before every outbound call."""
        s = self.settings
        if not s.allow_online:
            return OFFLINE_REASON
        if not s.user_id:
            return f"RunComfy is not configured — set {ENV_RUNCOMFY_USER} (from the dashboard URL)"
        if not s.token():
            return f"no RunComfy token — set {s.token_env} (Token1 or Token2 from your profile)"
        return None

    def start(self, on_progress: Callable[[str], None] | None = None) -> CloudStatus:
        """A Ready machine: the recorded one when still alive, else a new launch."""
        say = on_progress or (lambda _text: None)
        with self._lock:
            client = self._require_client("cannot start a cloud machine")
            state = self.state_file.load()
            notices: list[str] = []
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
            billing.refuse_over_budget(self.settings, state, self._clock())
            return self._launch(client, state, say, notices)

    def status(self, refresh: bool = True) -> CloudStatus:
        """State, type, masked URL, uptime, cost and budget use; asks RunComfy only when online."""
        with self._lock:
            state = self.state_file.load()
            notices: list[str] = []
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
            state = self.state_file.load()
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
            state = self.state_file.load()
            notices: list[str] = []
            machine = state.machine
            if machine is None or machine.ready_at is None:
                return notices
            if used:
                machine.last_used_at = self._clock()
                self._keep_alive(machine, machine.last_used_at)
                self.state_file.save(state)
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
            state = self.state_file.load()
            notices: list[str] = []
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
                self.state_file.load()  # offline too: snapshot() then shows a recorded machine
        if not self.settings.allow_online:
            return []
        known = self.state_file.known
        machine = known.machine if known is not None else None
        if machine is None or machine.ready_at is None or not machine.url:
            return []
        name = f"runcomfy-{short_id(machine.server_id)}"
        return [ServerConfig(name=name, url=machine.url, secret_url=True)]

    # --- lifecycle steps ----------------------------------------------------------------------

    def _launch(
        self,
        client: RunComfyClient,
        state: CloudState,
        say: Callable[[str], None],
        notices: list[str],
    ) -> CloudStatus:
        s = self.settings
        if not s.workflow_version:
            raise CloudUnavailable(
                f"no workflow version — set {ENV_RUNCOMFY_VERSION} to a version_id from your "
                "RunComfy workflows"
            )
        now = self._clock()
        server_id = client.launch(s.machine_type, s.workflow_version, s.estimated_duration_s)
        state.machine = MachineState(server_id, s.machine_type, s.rate_usd_h, now)
        self.state_file.save(state)
        log.info("cloud: launched %s machine %s", s.machine_type, short_id(server_id))
        say(f"launched {s.machine_type} machine {short_id(server_id)}; waiting")
        return self._wait_ready(client, state, say, notices)

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
        self.state_file.save(state)
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
                remote: Machine | None = client.status(machine.server_id)
            except (MachineGone, TransientBackendError):
                remote = None  # not visible yet, or a blip: keep polling until the deadline
            if remote is not None and remote.status != last:
                last = remote.status
                say(f"machine {short_id(machine.server_id)}: {last}")
            if remote is not None and remote.ready:
                return self._ready(state, machine, remote, notices)
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

    def _ready(
        self, state: CloudState, machine: MachineState, remote: Machine, notices: list[str]
    ) -> CloudStatus:
        machine.status = remote.status
        self._mark_ready(machine, remote)
        self.state_file.save(state)
        log.info(
            "cloud: machine %s Ready at %s", short_id(machine.server_id), mask_url(machine.url)
        )
        return self._status(state, notices)

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
        over = billing.over_budget(s, state, now)
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
        assert state.machine is not None
        sid = short_id(state.machine.server_id)
        billing.book(state, self._clock())
        self.state_file.save(state)
        notices.append(f"machine {sid} forgotten: {why}")

    def _status(self, state: CloudState, notices: list[str]) -> CloudStatus:
        return billing.describe(self.settings, state, self._clock(), notices)

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


def _make_client(settings: CloudSettings, token: str) -> RunComfyClient:
    return RunComfyClient(
        settings.user_id,
        token,
        settings.api_url,
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
    )
