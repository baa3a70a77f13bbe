"""Cloud lifecycle against the loopback RunComfy API: launch → Ready → cost → stop, reuse across
runs, never-Ready, idle and budget stops, 404 on a gone machine, the offline switch, secrets."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from app import cli_cloud
from app.cli import Parser
from core.config import CloudSettings, load_config
from core.errors import PermanentBackendError, TransientBackendError
from executors.backends.comfyui import ComfyClient
from executors.backends.runcomfy import RunComfyClient
from executors.cloud import (
    CloudManager,
    CloudMonitor,
    CloudStartFailed,
    CloudUnavailable,
)
from executors.control import Control, Wiring
from executors.pool import ServerPool
from main import _setup_logging as setup_logging
from tests.runcomfy_server import HOUR, T0, TOKEN, USER, Clock, RunComfyServer


@pytest.fixture
def settings(cloud_settings: CloudSettings, runcomfy: RunComfyServer, clock: Clock):
    runcomfy.wall_clock = clock  # RunComfy's Ready times on the test's clock
    return cloud_settings


def manager(settings: CloudSettings, home: Path, clock: Clock, **changes) -> CloudManager:
    return CloudManager(replace(settings, **changes), home, clock=clock, sleep=clock.sleep)


def state_file(home: Path) -> dict:
    return json.loads((home / "cloud.json").read_text())


def test_full_lifecycle_launch_ready_cost_stop(runcomfy, settings, home, clock):
    cloud = manager(settings, home, clock)
    said: list[str] = []
    started = cloud.start(on_progress=said.append)
    assert started.state == "ready" and started.machine_type == "large"
    assert started.url == "https://****.runcomfy.com" and started.cost_usd == 0.0
    assert any("launched" in line for line in said) and any("Ready" in line for line in said)
    [machine] = runcomfy.running()
    assert (machine.server_type, machine.version_id) == ("large", "ver-1")
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in runcomfy.requests)
    saved = state_file(home)["machine"]
    assert saved["server_id"] == machine.server_id
    assert (saved["launched_at"], saved["ready_at"]) == (T0, T0 + 5.0)  # Pending, then Ready
    assert (home / "cloud.json").stat().st_mode & 0o777 == 0o600
    [server] = cloud.ready_servers()
    assert server.name == f"runcomfy-{machine.server_id[:8]}"
    assert server.url == f"https://{machine.server_id}-comfyui.runcomfy.com"

    clock.now = T0 + 5.0 + 1.5 * HOUR
    shown = cloud.status()
    assert shown.state == "ready" and shown.uptime_s == 1.5 * HOUR
    assert shown.cost_usd == pytest.approx(3.0) and shown.month_spent_usd == pytest.approx(3.0)

    stopped = cloud.stop()
    assert stopped.state == "none" and "stopped" in stopped.notices[-1]
    assert runcomfy.running() == [] and runcomfy.requests[-1][0] == "DELETE"
    assert state_file(home)["machine"] is None
    assert state_file(home)["ledger"] == {"2025-06": pytest.approx(3.0)}
    assert cloud.ready_servers() == []


def test_a_second_app_run_reuses_the_ready_machine(runcomfy, settings, home, clock):
    first = manager(settings, home, clock).start()
    clock.now += 600
    second = manager(settings, home, clock)  # a fresh process: only the state file links them
    again = second.start()
    assert len(runcomfy.launches()) == 1
    assert again.server == first.server and again.uptime_s == 600
    assert len(second.ready_servers()) == 1


def test_a_recorded_machine_that_is_gone_is_forgotten_and_a_new_one_launched(
    runcomfy, settings, home, clock
):
    first = manager(settings, home, clock).start()
    runcomfy.vanish(runcomfy.running()[0].server_id)
    again = manager(settings, home, clock).start()
    assert len(runcomfy.launches()) == 2 and again.server != first.server
    assert any("no longer knows it" in n for n in again.notices)


def test_a_machine_still_starting_is_waited_for_not_launched_again(runcomfy, settings, home, clock):
    runcomfy.never_ready = True
    with pytest.raises(CloudStartFailed):
        manager(settings, home, clock, ready_timeout_s=10).start()
    # a crash mid-wait: the state file already names the machine
    runcomfy.never_ready, runcomfy.ready_after_polls = False, 3
    cloud = manager(settings, home, clock)
    cloud.start()  # launches one (the failed one was stopped)
    state = state_file(home)
    state["machine"]["ready_at"] = None
    (home / "cloud.json").write_text(json.dumps(state))
    assert cloud.start().state == "ready" and len(runcomfy.launches()) == 2


def test_cost_runs_from_runcomfys_ready_time_not_from_when_the_app_saw_it(
    runcomfy, settings, home, clock
):
    def cut_off(_seconds: float) -> None:
        raise KeyboardInterrupt  # `cloud start` closed while it waited

    cloud = CloudManager(settings, home, clock=clock, sleep=cut_off)
    with pytest.raises(KeyboardInterrupt):
        cloud.start()
    [machine] = runcomfy.running()
    clock.now += 60
    RunComfyClient(USER, TOKEN, runcomfy.url).status(machine.server_id)  # the dashboard looks
    assert runcomfy.machines[machine.server_id].ready_at == T0 + 60
    clock.now += 30 * 60
    shown = manager(settings, home, clock).status()  # the app sees it Ready only now
    assert shown.state == "ready" and shown.uptime_s == 30 * 60
    assert shown.cost_usd == pytest.approx(1.0)  # 30 min at $2/h, billed from Ready


def test_a_busy_machine_near_runcomfys_stop_time_is_extended(runcomfy, settings, home, clock):
    cloud = manager(settings, home, clock, estimated_duration_s=3600)
    cloud.start()
    [fake] = runcomfy.running()
    ready = state_file(home)["machine"]["ready_at"]
    assert state_file(home)["machine"]["stopping_at"] == ready + 3600
    clock.now = ready + 2000
    cloud.enforce(used=True)  # busy, 27 min before the stop: nothing to do
    assert fake.duration_s == 3600
    clock.now = ready + 3000
    cloud.enforce(used=True)  # busy, 10 min before the stop: extended
    assert fake.duration_s == 3000 + 3600
    assert runcomfy.requests[-1][:2] == (
        "POST",
        f"/prod/api/users/{USER}/servers/{fake.server_id}/update-estimated-duration",
    )
    assert state_file(home)["machine"]["stopping_at"] == ready + 6600


def test_rate_limited_requests_are_waited_out(runcomfy, settings, home, clock):
    cloud = manager(settings, home, clock)
    cloud.start()
    asked = len(runcomfy.requests)
    runcomfy.rate_limited = 1
    assert cloud.status().state == "ready"  # a 429, a wait, then the answer
    assert len(runcomfy.requests) == asked + 2


def test_never_ready_is_stopped_and_reported(runcomfy, settings, home, clock):
    runcomfy.never_ready = True
    cloud = manager(settings, home, clock, ready_timeout_s=120)
    with pytest.raises(CloudStartFailed, match="not Ready within 120 s .*Starting.*stopped it"):
        cloud.start()
    assert runcomfy.running() == [] and runcomfy.requests[-1][0] == "DELETE"
    assert state_file(home)["machine"] is None and cloud.status().state == "none"


def test_slow_start_in_real_time(runcomfy, settings, home):
    runcomfy.ready_after_s, runcomfy.ready_after_polls = 0.4, 1
    cloud = CloudManager(replace(settings, poll_s=0.05, ready_timeout_s=10), home)
    assert cloud.start().state == "ready"
    polls = [r for r in runcomfy.requests if r[0] == "GET"]
    assert len(polls) >= 3


def test_launch_refused_by_runcomfy_is_a_permanent_error_and_records_nothing(
    runcomfy, settings, home, clock
):
    runcomfy.fail_launch = 403
    with pytest.raises(PermanentBackendError, match="403 no capacity"):
        manager(settings, home, clock).start()
    assert not (home / "cloud.json").exists()


def test_idle_machine_is_stopped_and_work_resets_the_timer(runcomfy, settings, home, clock):
    cloud = manager(settings, home, clock, idle_stop_s=600)
    cloud.start()
    clock.now += 500
    cloud.enforce(used=True)
    clock.now += 500
    assert cloud.enforce() == [] and len(runcomfy.running()) == 1
    clock.now += 101
    [notice] = cloud.enforce()
    assert "stopped: idle for 10 min" in notice and runcomfy.running() == []
    assert cloud.status().state == "none"


def comfy(server):
    return ComfyClient(server.url, name=server.name, shown_url=server.shown_url())


def test_the_engines_health_tick_keeps_a_busy_machine_and_stops_an_idle_one(
    runcomfy, settings, home, clock
):
    cloud = manager(settings, home, clock, idle_stop_s=600)
    cloud.start()
    pool = ServerPool([], comfy)
    monitor = CloudMonitor(cloud, pool, comfy)
    [name] = pool.names()
    lease = pool.acquire(None)  # a job on the machine (no request is made)
    clock.now += 900
    monitor.tick()
    assert len(runcomfy.running()) == 1  # busy: the idle timer restarted
    pool.release(lease, ok=True)
    clock.now += 601
    monitor.tick()
    assert runcomfy.running() == [] and cloud.status().state == "none"
    assert pool.names() == []  # the stopped machine left the pool
    assert any("idle for 10 min" in line for line in monitor.snapshot().notices)  # says why
    assert name.startswith("runcomfy-")


def test_a_machine_started_from_the_window_joins_the_pool_masked_and_leaves_on_stop(
    runcomfy, settings, home, clock
):
    pool = ServerPool([], comfy)
    monitor = CloudMonitor(manager(settings, home, clock), pool, comfy)
    assert pool.names() == [] and monitor.snapshot().state == "none"
    said: list[str] = []
    assert monitor.start(said.append).state == "ready"
    [state] = pool.states()
    assert state.url == "https://****.runcomfy.com"  # the secret URL never shows
    assert pool.client(state.name).url.endswith("-comfyui.runcomfy.com")  # but is used
    snapshot = monitor.snapshot()
    assert snapshot.state == "ready" and snapshot.url == "https://****.runcomfy.com"
    assert any("Ready" in line for line in said)
    monitor.stop()
    assert pool.names() == [] and monitor.snapshot().state == "none"


def test_a_machine_started_by_another_process_joins_on_the_next_tick(
    runcomfy, settings, home, clock
):
    pool = ServerPool([], comfy)
    monitor = CloudMonitor(manager(settings, home, clock), pool, comfy)
    manager(settings, home, clock).start()  # `cloud start` in a terminal
    assert pool.names() == []
    monitor.tick()
    assert len(pool.names()) == 1 and monitor.snapshot().state == "ready"


def test_snapshot_counts_the_cost_up_to_now_without_a_request(runcomfy, settings, home, clock):
    cloud = manager(settings, home, clock)
    cloud.start()
    asked = len(runcomfy.requests)
    clock.now += HOUR / 2
    assert cloud.snapshot().cost_usd == pytest.approx(1.0)  # $2/h
    assert len(runcomfy.requests) == asked


def test_new_settings_apply_at_once_offline_removes_the_member(runcomfy, settings, home, clock):
    pool = ServerPool([], comfy)
    monitor = CloudMonitor(manager(settings, home, clock), pool, comfy)
    monitor.start()
    monitor.configure(replace(settings, allow_online=False))
    assert pool.names() == []
    assert "online access is off" in (monitor.unavailable_reason() or "")
    with pytest.raises(CloudUnavailable, match="online access is off"):
        monitor.start()


def test_session_budget_warns_at_80_percent_then_stops(runcomfy, settings, home, clock):
    cloud = manager(settings, home, clock, budget_session_usd=2.0)  # one hour at $2/h
    cloud.start()
    clock.now += 0.5 * HOUR
    assert cloud.status().warnings == ()
    clock.now += 0.35 * HOUR
    shown = cloud.status()
    assert shown.state == "ready"
    assert shown.warnings == ("session budget 85% used ($1.70 of $2.00)",)
    clock.now += 0.2 * HOUR
    shown = cloud.status()
    assert shown.state == "none" and runcomfy.running() == []
    assert "budget reached (session $2.10 of $2.00)" in shown.notices[-1]


def test_month_budget_stops_and_refuses_new_launches(runcomfy, settings, home, clock):
    cloud = manager(settings, home, clock, budget_month_usd=5.0)
    cloud.start()
    clock.now += 2 * HOUR
    assert cloud.status().warnings == ("month budget 80% used ($4.00 of $5.00)",)
    clock.now += 0.6 * HOUR
    assert cloud.enforce() and runcomfy.running() == []
    before = len(runcomfy.requests)
    with pytest.raises(CloudUnavailable, match=r"monthly cloud budget reached \(\$5.20 of \$5.00"):
        cloud.start()
    assert len(runcomfy.requests) == before  # refused before any request
    clock.now += 20 * 24 * HOUR  # next month: a fresh budget
    assert cloud.start().state == "ready"


def test_stop_of_a_gone_machine_clears_the_state_and_says_so(runcomfy, settings, home, clock):
    cloud = manager(settings, home, clock)
    cloud.start()
    server_id = runcomfy.running()[0].server_id
    client = RunComfyClient(USER, TOKEN, runcomfy.url)
    assert client.stop(server_id) is True and client.stop(server_id) is False  # 404
    shown = cloud.stop()
    assert shown.state == "none" and "already gone (404)" in shown.notices[-1]
    assert state_file(home)["machine"] is None


def test_offline_switch_blocks_every_outbound_call(runcomfy, settings, home, clock):
    cloud = manager(settings, home, clock)
    cloud.start()
    runcomfy.requests.clear()
    offline = manager(settings, home, clock, allow_online=False)
    with pytest.raises(CloudUnavailable, match="online access is off"):
        offline.start()
    with pytest.raises(CloudUnavailable, match="cannot stop machine .* online access is off"):
        offline.stop()
    shown = offline.status()
    assert shown.state == "ready" and shown.online is False
    assert "not checked with RunComfy" in shown.notices[0]
    assert offline.enforce() == [] and offline.ready_servers() == [] and offline.at_quit() == []
    assert runcomfy.requests == []


def test_offline_by_default_from_the_config(runcomfy, home, clock, monkeypatch):
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", TOKEN)
    env = {
        "TAKEBOARD_RUNCOMFY_USER_ID": USER,
        "TAKEBOARD_RUNCOMFY_API": runcomfy.url,
        "TAKEBOARD_RUNCOMFY_VERSION": "ver-1",
    }
    config = load_config(home, env=env)
    assert config.allow_online is False
    cloud = CloudManager(config.cloud, home, clock=clock)
    with pytest.raises(CloudUnavailable, match="TAKEBOARD_ALLOW_ONLINE=1"):
        cloud.start()
    online = load_config(home, env={**env, "TAKEBOARD_ALLOW_ONLINE": "1"})
    cloud = CloudManager(online.cloud, home, clock=clock, sleep=clock.sleep)
    assert cloud.start().state == "ready"
    assert runcomfy.launches()[0][2] == f"Bearer {TOKEN}"


def test_missing_token_or_user_is_refused_before_any_request(
    runcomfy, settings, home, clock, monkeypatch
):
    monkeypatch.delenv("RUNCOMFY_API_TOKEN")
    with pytest.raises(CloudUnavailable, match="set RUNCOMFY_API_TOKEN"):
        manager(settings, home, clock).start()
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", TOKEN)
    with pytest.raises(CloudUnavailable, match="TAKEBOARD_RUNCOMFY_USER_ID"):
        manager(settings, home, clock, user_id="").start()
    assert runcomfy.requests == []


def test_auto_stop_at_quit(runcomfy, settings, home, clock):
    manager(settings, home, clock).start()
    assert manager(settings, home, clock).at_quit() == []  # not chosen: keeps running
    assert len(runcomfy.running()) == 1
    [notice] = manager(settings, home, clock, auto_stop_at_quit=True).at_quit()
    assert "auto-stop at quit" in notice and runcomfy.running() == []


def test_token_and_url_never_logged_or_printed(
    runcomfy, settings, home, clock, capsys, monkeypatch
):
    log_path = home / "logs" / "takeboard.log"
    root = logging.getLogger()
    old_level, old_handlers = root.level, root.handlers[:]
    setup_logging(replace(load_config(home, env={}), log_level="debug"))  # the app's own log
    try:
        cloud = manager(settings, home, clock)
        cli_ctx = cloud_ctx(home, cloud)
        for action in ("start", "status", "stop"):
            assert cli_cloud.CLOUD_HANDLERS[("cloud", action)](_args(action), cli_ctx) == 0
        runcomfy.never_ready = True
        with pytest.raises(CloudStartFailed):
            manager(settings, home, clock, ready_timeout_s=30).start()
        monkeypatch.setenv("RUNCOMFY_API_TOKEN", "wrong-" + TOKEN)
        with pytest.raises(PermanentBackendError, match="401"):
            manager(settings, home, clock).start()
        machine = f"https://{secrets_of(runcomfy)[-1]}-comfyui.runcomfy.com"
        try:  # a job's failure logged with its traceback: requests names the host
            requests.get(machine, timeout=0.001)
        except requests.RequestException:
            logging.getLogger("executors.engine").exception("job failed")
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = old_handlers
        root.setLevel(old_level)
    out, err = capsys.readouterr()
    logged = log_path.read_text(encoding="utf-8")
    assert "cloud: launched large machine" in logged and "****" in logged
    assert "Traceback" in logged and "****.runcomfy.com" in logged
    for secret in [TOKEN, USER, *secrets_of(runcomfy)]:
        assert secret not in logged and secret not in out and secret not in err
    assert "runcomfy.com" in out and "comfyui.runcomfy.com" not in out + err + logged


def secrets_of(runcomfy: RunComfyServer) -> list[str]:
    return [m.server_id for m in runcomfy.machines.values()]


def cloud_ctx(home: Path, cloud: CloudManager) -> SimpleNamespace:
    """A command's context whose engine API runs `cloud` (a terminal's: no engine)."""

    def unused(*_args):
        raise AssertionError("a cloud command built something else")

    wiring = Wiring(engine=unused, cloud=lambda: cloud, client=unused, demo=unused)
    return SimpleNamespace(config=load_config(home, env={}), control=Control(None, wiring))


def _args(action: str, *extra: str):
    parser = Parser(prog="takeboard")
    commands = parser.add_subparsers(dest="command", parser_class=Parser)
    cli_cloud.add_cloud_commands(commands)
    return parser.parse_args(["cloud", action, *extra])


def test_cli_start_status_stop_json(runcomfy, settings, ctx, clock, capsys, monkeypatch):
    cloud = manager(settings, ctx.config.home, clock, budget_session_usd=10.0)
    ctx = cloud_ctx(ctx.config.home, cloud)
    handlers = cli_cloud.CLOUD_HANDLERS

    def run(action: str) -> tuple[dict, str]:
        capsys.readouterr()
        assert handlers[("cloud", action)](_args(action, "--json"), ctx) == 0
        out, err = capsys.readouterr()
        return json.loads(out), err

    started, err = run("start")
    assert started["state"] == "ready" and started["url"] == "https://****.runcomfy.com"
    assert "launched large machine" in err
    clock.now += HOUR
    shown, _ = run("status")
    assert shown["cost_usd"] == 2.0 and shown["uptime_s"] == HOUR
    assert shown["session_budget_usd"] == 10.0 and shown["month_spent_usd"] == 2.0
    stopped, err = run("stop")
    assert stopped["state"] == "none" and "stopped: asked by the user" in err
    capsys.readouterr()
    assert handlers[("cloud", "status")](_args("status"), ctx) == 0
    assert capsys.readouterr().out.startswith("cloud: no machine")


def test_cli_start_offline_is_refused_with_the_reason(runcomfy, ctx, monkeypatch):
    monkeypatch.setenv("TAKEBOARD_RUNCOMFY_API", runcomfy.url)
    monkeypatch.setenv("TAKEBOARD_RUNCOMFY_USER_ID", USER)
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", TOKEN)
    with pytest.raises(CloudUnavailable, match="allow_online"):
        cli_cloud.cloud_start(_args("start", "--json"), ctx)
    assert runcomfy.requests == []


def test_runcomfy_down_shows_the_last_known_state_and_keeps_the_machine(
    runcomfy, settings, home, clock
):
    cloud = manager(
        settings, home, clock, idle_stop_s=600, connect_timeout_s=0.5, read_timeout_s=0.5
    )
    cloud.start()
    runcomfy.stop()  # the API goes away; the machine is still billing somewhere
    shown = cloud.status()
    assert shown.state == "ready" and shown.server is not None
    assert any("RunComfy not reachable" in line for line in shown.notices)
    assert state_file(home)["machine"] is not None  # nothing forgotten
    clock.now += 601  # an idle stop is due but cannot be sent: it fails, the next tick retries
    with pytest.raises(TransientBackendError, match="did not answer"):
        cloud.enforce()
    assert state_file(home)["machine"] is not None
