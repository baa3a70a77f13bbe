"""Cloud pieces without a server: masking, cost, settings from the environment, the state file,
the client's error mapping, and the status line."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from app.live_state import cloud_meter, describe_cloud
from core.config import CloudSettings, load_config, mask_url
from core.errors import ConfigError, PermanentBackendError, TransientBackendError
from executors.backends.runcomfy import MachineGone, RunComfyClient, short_id
from executors.cloud import CloudManager, CloudState, CloudStatus, MachineState

SID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"https://{SID}-comfyui.runcomfy.com", "https://****.runcomfy.com"),
        (f"https://{SID}-comfyui.runcomfy.com/prompt?x=1", "https://****.runcomfy.com"),
        ("http://127.0.0.1:8188", "http://****:8188"),
        ("https://localhost", "https://****"),
        (None, "-"),
    ],
)
def test_mask_url_hides_the_host_and_path(url, shown):
    assert mask_url(url) == shown


def test_short_id_is_a_prefix_too_short_to_rebuild_the_url():
    assert short_id(SID) == "0a1b2c3d"


def test_cost_counts_from_ready_only():
    machine = MachineState(SID, "large", 1.75, launched_at=100.0)
    assert machine.cost(10_000.0) == 0.0
    machine.ready_at = 1000.0
    assert machine.cost(1000.0 + 7200) == pytest.approx(3.5)
    assert machine.cost(500.0) == 0.0


def test_settings_from_environment(home: Path):
    env = {
        "TAKEBOARD_ALLOW_ONLINE": "yes",
        "TAKEBOARD_RUNCOMFY_USER_ID": " u1 ",
        "TAKEBOARD_RUNCOMFY_MACHINE": "2x-large",
        "TAKEBOARD_RUNCOMFY_VERSION": "v9",
        "TAKEBOARD_RUNCOMFY_BUDGET_MONTH_USD": "50",
        "TAKEBOARD_RUNCOMFY_IDLE_STOP_S": "900",
        "TAKEBOARD_RUNCOMFY_API": "http://127.0.0.1:1/",
    }
    settings = load_config(home, env=env).cloud
    assert settings.allow_online and settings.user_id == "u1" and settings.workflow_version == "v9"
    assert settings.rate_usd_h == 4.99  # the Hobby price of the type when no rate is given
    assert (settings.budget_month_usd, settings.budget_session_usd) == (50.0, None)
    assert settings.idle_stop_s == 900.0 and settings.api_url == "http://127.0.0.1:1"
    defaults = load_config(home, env={}).cloud
    assert not defaults.allow_online and defaults.api_url == "https://api.runcomfy.net"
    assert defaults.machine_type == "medium" and defaults.rate_usd_h == 0.99


@pytest.mark.parametrize("value", ["cheap", "-1"])
def test_bad_numbers_name_the_variable(home: Path, value: str):
    with pytest.raises(ConfigError, match="TAKEBOARD_RUNCOMFY_RATE_USD_H"):
        load_config(home, env={"TAKEBOARD_RUNCOMFY_RATE_USD_H": value})


def test_every_runcomfy_variable_goes_through_the_config_layer(home: Path):
    env = {
        "TAKEBOARD_RUNCOMFY_MACHINE": "4x-large",  # a type the rates table does not know
        "TAKEBOARD_RUNCOMFY_RATE_USD_H": "12.5",
        "TAKEBOARD_RUNCOMFY_BUDGET_SESSION_USD": "3",
        "TAKEBOARD_RUNCOMFY_READY_TIMEOUT_S": "120",
        "TAKEBOARD_RUNCOMFY_AUTO_STOP": "yes",
    }
    settings = load_config(home, env=env).cloud
    assert (settings.machine_type, settings.rate_usd_h) == ("4x-large", 12.5)
    assert settings.budget_session_usd == 3.0 and settings.ready_timeout_s == 120.0
    assert settings.auto_stop_at_quit
    rate_only = load_config(home, env={"TAKEBOARD_RUNCOMFY_RATE_USD_H": "2"}).cloud
    assert (rate_only.machine_type, rate_only.rate_usd_h) == ("medium", 2.0)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("TAKEBOARD_RUNCOMFY_API", "api.runcomfy.net", "is not a server address"),
        ("TAKEBOARD_RUNCOMFY_READY_TIMEOUT_S", "0", "must be above 0"),
        ("TAKEBOARD_RUNCOMFY_BUDGET_SESSION_USD", "-2", "must be 0 or more"),
    ],
)
def test_unusable_variables_are_named(home: Path, name: str, value: str, problem: str):
    with pytest.raises(ConfigError, match=f"{name}: .*{problem}"):
        load_config(home, env={name: value})


def test_a_broken_state_file_is_moved_aside(home: Path):
    (home / "cloud.json").write_text("{not json")
    cloud = CloudManager(CloudSettings(allow_online=False), home, clock=lambda: 5.0)
    assert cloud.status().state == "none"
    assert (home / "cloud.json.broken-5").exists() and not (home / "cloud.json").exists()


def test_state_file_round_trip_and_ledger_by_month(home: Path):
    now = [1_751_329_000.0]  # 2025-07-01 00:16 (UTC)
    state = {
        "version": 1,
        "machine": {
            "server_id": SID,
            "machine_type": "medium",
            "rate_usd_h": 1.0,
            "launched_at": now[0] - 60,
            "url": f"https://{SID}-comfyui.runcomfy.com",
            "ready_at": now[0] - 3600,
            "last_used_at": None,
            "status": "Ready",
        },
        "ledger": {"2025-06": 7.0, "2025-07": 0.5},
    }
    (home / "cloud.json").write_text(json.dumps(state))
    cloud = CloudManager(
        CloudSettings(allow_online=False, budget_month_usd=2.0), home, clock=lambda: now[0]
    )
    shown = cloud.status()
    assert shown.state == "ready" and shown.cost_usd == pytest.approx(1.0)
    assert shown.month_spent_usd == pytest.approx(1.5)  # June is not this month
    assert shown.warnings == ()  # 75 %: below the warning line
    assert shown.url == "https://****.runcomfy.com" and shown.server == "0a1b2c3d"
    assert cloud.ready_servers() == []  # offline: not a pool member


def test_ready_servers_when_online(home: Path):
    cloud = CloudManager(CloudSettings(allow_online=True), home)
    assert cloud.ready_servers() == []
    machine = MachineState(SID, "medium", 1.0, 0.0, url="https://x-comfyui.runcomfy.com")
    cloud.state_file.save(CloudState(machine=machine))
    assert cloud.ready_servers() == []  # not Ready yet
    machine.ready_at = 10.0
    cloud.state_file.save(CloudState(machine=machine))
    [server] = cloud.ready_servers()
    assert (server.name, server.url, server.token_env) == (
        "runcomfy-0a1b2c3d",
        "https://x-comfyui.runcomfy.com",
        None,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_client_maps_refused_to_transient_without_the_token():
    client = RunComfyClient("u1", "secret-token", f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(TransientBackendError) as caught:
        client.machines()
    assert "secret-token" not in str(caught.value) and "did not answer" in str(caught.value)


class _Answer:
    def __init__(self, status: int, body: object):
        self.status_code, self._body = status, body
        self.content = json.dumps(body).encode()
        self.text, self.reason = json.dumps(body), "x"

    def json(self) -> object:
        return self._body


@pytest.mark.parametrize(
    ("status", "error"),
    [(503, TransientBackendError), (401, PermanentBackendError), (404, MachineGone)],
)
def test_client_maps_http_errors(monkeypatch, status, error):
    client = RunComfyClient("u1", "tok-123", "https://api.example")
    answer = _Answer(status, {"message": "bad tok-123"})
    monkeypatch.setattr(client._session, "request", lambda *a, **k: answer)  # noqa: SLF001
    with pytest.raises(error) as caught:
        client.status(SID)
    text = str(caught.value)
    assert "tok-123" not in text and SID not in text and SID not in caught.value.url
    assert caught.value.status == status


def test_stop_returns_false_on_404(monkeypatch):
    client = RunComfyClient("u1", "tok", "https://api.example")
    monkeypatch.setattr(
        client._session,  # noqa: SLF001
        "request",
        lambda *a, **k: _Answer(404, {"message": "gone"}),
    )
    assert client.stop(SID) is False


def test_session_headers_carry_the_bearer_token():
    client = RunComfyClient("u1", "tok", "https://api.example")
    assert client._session.headers["Authorization"] == "Bearer tok"  # noqa: SLF001
    assert isinstance(client._session, requests.Session)  # noqa: SLF001


def test_describe_lines():
    assert describe_cloud(CloudStatus(state="none", online=False)).startswith("cloud: no machine")
    line = describe_cloud(
        CloudStatus(
            state="ready",
            online=True,
            server="0a1b2c3d",
            machine_type="large",
            url="https://****.runcomfy.com",
            uptime_s=90.0,
            cost_usd=0.5,
            rate_usd_h=1.75,
            session_budget_usd=5.0,
        )
    )
    assert "https://****.runcomfy.com" in line and "up 1.5 min" in line
    assert "cost $0.50 of $5.00" in line


def test_settings_from_the_home_config_and_env_overrides(home: Path):
    runcomfy = {
        "user_id": "u7",
        "machine_type": "4x-large",
        "workflow_version": "v2",
        "rates_usd_h": {"4x-large": 11.5},
        "budget_session_usd": 5,
        "idle_stop_s": 600,
        "auto_stop_at_quit": True,
    }
    (home / "config.json").write_text(json.dumps({"cloud": {"runcomfy": runcomfy}}))
    settings = load_config(home, env={}).cloud
    assert (settings.user_id, settings.machine_type) == ("u7", "4x-large")
    assert settings.rate_usd_h == 11.5
    assert (settings.budget_session_usd, settings.budget_month_usd) == (5, None)
    assert settings.idle_stop_s == 600 and settings.auto_stop_at_quit
    assert settings.token_env == "RUNCOMFY_API_TOKEN"
    overridden = load_config(home, env={"TAKEBOARD_RUNCOMFY_MACHINE": "large"}).cloud
    assert (overridden.machine_type, overridden.rate_usd_h) == ("large", 1.75)


def test_a_negative_budget_in_the_config_names_the_key(home: Path):
    runcomfy = {"budget_month_usd": -1}
    (home / "config.json").write_text(json.dumps({"cloud": {"runcomfy": runcomfy}}))
    with pytest.raises(ConfigError, match="cloud.runcomfy.budget_month_usd"):
        load_config(home, env={})


def test_cloud_meter_hides_when_nothing_runs_or_was_spent():
    assert cloud_meter(CloudStatus(state="none", online=True)) is None
    spent = cloud_meter(CloudStatus(state="none", online=True, month_spent_usd=3.5))
    assert spent is not None and spent.text == "cloud: none · month $3.50"


def test_cloud_meter_shows_cost_and_turns_amber_with_a_budget_warning():
    running = CloudStatus(
        state="ready",
        online=True,
        machine_type="large",
        url="https://****.runcomfy.com",
        cost_usd=4.1,
        session_budget_usd=5.0,
        warnings=("session budget 82% used ($4.10 of $5.00)",),
    )
    meter = cloud_meter(running)
    assert meter is not None
    assert meter.text == "cloud: large ready $4.10 of $5.00"
    assert meter.colour and "82%" in meter.tooltip and "****" in meter.tooltip
    assert cloud_meter(replace(running, warnings=())).colour == ""


def test_a_state_file_from_a_newer_version_still_loads(tmp_path: Path):
    machine = {"server_id": SID, "machine_type": "large", "rate_usd_h": 1.75, "launched_at": 1.0}
    (tmp_path / "cloud.json").write_text(json.dumps({"machine": {**machine, "gpu": "A10G"}}))
    cloud = CloudManager(CloudSettings(allow_online=False), tmp_path)
    assert cloud.status().server == SID[:8]
