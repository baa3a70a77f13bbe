import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.settings_state import (
    GENERAL,
    ServerRow,
    connection_text,
    field_error,
    form_from,
    overrides_from,
    rate_text,
    token_text,
)
from core.config import load_config, read_home_overrides, save_home_config, shipped_defaults
from core.errors import ConfigError


@pytest.fixture
def defaults():
    return shipped_defaults()


def test_form_shows_defaults_with_home_overrides(defaults):
    form = form_from(defaults, {"retry": {"attempts": 7}, "allow_online": True})
    assert form.servers == [ServerRow("local", "http://127.0.0.1:8188", "", True)]
    assert form.numbers["retry.attempts"] == "7"
    assert form.numbers["timeouts.connect_s"] == "5"
    assert form.numbers["retry.initial_s"] == "1"
    assert form.default_quality == "standard"
    assert form.allow_online is True


def test_untouched_form_writes_no_overrides(defaults):
    assert overrides_from(form_from(defaults, {}), defaults, {}) == {}


def test_form_to_overrides_keeps_other_keys(defaults):
    base = {"log_level": "DEBUG", "retry": {"jitter_s": 0.5}}
    form = form_from(defaults, base)
    form.servers.append(ServerRow("gpu", " http://10.0.0.2:8188 ", " GPU_TOKEN ", False))
    form.numbers["retry.attempts"] = "6"
    form.numbers["timeouts.job_s"] = "1200.5"
    form.default_quality = "high"
    out = overrides_from(form, defaults, base)
    assert out == {
        "log_level": "DEBUG",
        "retry": {"jitter_s": 0.5, "attempts": 6},
        "timeouts": {"job_s": 1200.5},
        "default_quality": "high",
        "comfyui": {
            "servers": [
                {"name": "local", "url": "http://127.0.0.1:8188", "token_env": None,
                 "verify_tls": True, "preview_method": "auto", "keep_history": True},
                {"name": "gpu", "url": "http://10.0.0.2:8188", "token_env": "GPU_TOKEN",
                 "verify_tls": False, "preview_method": "auto", "keep_history": True},
            ]
        },
    }  # fmt: skip
    assert base == {"log_level": "DEBUG", "retry": {"jitter_s": 0.5}}  # not mutated
    back = form_from(defaults, out)
    assert back.servers[1] == ServerRow("gpu", "http://10.0.0.2:8188", "GPU_TOKEN", False)
    assert back.numbers["retry.attempts"] == "6"


def test_a_key_already_in_the_home_file_stays_even_at_its_default(defaults):
    form = form_from(defaults, {"allow_online": True})
    form.allow_online = False
    assert overrides_from(form, defaults, {"allow_online": True}) == {"allow_online": False}


def test_unparsable_number_names_its_field(defaults):
    form = form_from(defaults, {})
    form.numbers["retry.attempts"] = "2.5"
    with pytest.raises(ConfigError) as error:
        overrides_from(form, defaults, {})
    assert field_error(str(error.value)) == ("retry.attempts", "expected a whole number, got '2.5'")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("comfyui.servers[1].url: 'x' is bad", ("servers[1].url", "'x' is bad")),
        ("comfyui.servers[0].verify_tls: expected", ("servers[0].verify_tls", "expected")),
        ("comfyui.servers[2].token: secrets no", ("servers[2].url", "secrets no")),
        ("comfyui.servers[3]: expected an object", ("servers[3].url", "expected an object")),
        ("retry.attempts: must be above 0, got -1", ("retry.attempts", "must be above 0, got -1")),
        ("default_quality: 'x' is not a tier", ("default_quality", "'x' is not a tier")),
        ("log_level: 'x' — use DEBUG", (GENERAL, "log_level: 'x' — use DEBUG")),
        ("home config /h/config.json: bad", (GENERAL, "home config /h/config.json: bad")),
    ],
)
def test_error_maps_to_its_field(message, expected):
    assert field_error(message) == expected


def test_connection_text():
    down = SimpleNamespace(online=False, last_error="not answering — start it")
    assert connection_text(down) == (False, "not answering — start it")
    assert connection_text(SimpleNamespace(online=False, last_error=None)) == (
        False,
        "not answering",
    )
    up = SimpleNamespace(online=True, vram_total_mb=24576, vram_free_mb=18432, last_error=None)
    assert connection_text(up) == (True, "online — 18.0 of 24.0 GB VRAM free")
    cpu = SimpleNamespace(online=True, vram_total_mb=32768, vram_free_mb=8192, memory="RAM")
    assert connection_text(cpu) == (True, "online — 8.0 of 32.0 GB RAM free")
    assert connection_text(SimpleNamespace(online=True)) == (True, "online")
    assert connection_text(SimpleNamespace(online=None)) == (False, "not checked yet")


# --- save_home_config ---------------------------------------------------------------------


def test_read_home_overrides(home):
    assert read_home_overrides(home) == {}
    (home / "config.json").write_text('{"allow_online": true}')
    assert read_home_overrides(home) == {"allow_online": True}


def test_save_writes_a_file_that_round_trips(home):
    overrides = {
        "allow_online": True,
        "retry": {"attempts": 2},
        "comfyui": {"servers": [{"name": "gpu", "url": "https://gpu.lan:8188/"}]},
    }
    config = save_home_config(home, overrides, env={})
    assert config.allow_online is True
    assert config.retry.attempts == 2
    assert [s.url for s in config.comfyui_servers] == ["https://gpu.lan:8188"]
    assert json.loads((home / "config.json").read_text()) == overrides
    assert load_config(home, env={}) == config
    assert [p.name for p in home.iterdir() if p.name.startswith(".config")] == []  # no temp


def test_save_returns_the_layered_config_with_env(home):
    config = save_home_config(home, {"allow_online": False}, env={"TAKEBOARD_ALLOW_ONLINE": "1"})
    assert config.allow_online is True
    assert read_home_overrides(home) == {"allow_online": False}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"comfyui": {"servers": [{"url": "localhost:8188"}]}}, "comfyui.servers[0].url:"),
        ({"retyr": {"attempts": 2}}, "retyr: unknown key — did you mean 'retry'?"),
        ({"retry": {"attempts": -1}}, "retry.attempts: must be above 0"),
        ({"retry": {"attempts": "3"}}, "retry.attempts: expected a whole number"),
        ({"comfyui": {"servers": [{"url": "http://a", "token": "s3cret"}]}},
         "comfyui.servers[0].token: secrets do not belong"),
        ({"api_key": "s3cret"}, "api_key: secrets do not belong"),
    ],
)  # fmt: skip
def test_invalid_overrides_are_refused_and_nothing_is_written(home, overrides, message):
    original = '{"log_level": "DEBUG"}\n'
    (home / "config.json").write_text(original)
    with pytest.raises(ConfigError) as error:
        save_home_config(home, overrides, env={})
    assert message in str(error.value)
    assert (home / "config.json").read_text() == original
    assert sorted(p.name for p in home.iterdir() if p.is_file()) == ["config.json"]


def test_server_list_is_checked_even_when_the_env_replaces_it(home):
    env = {"TAKEBOARD_COMFYUI_URL": "http://127.0.0.1:9000"}
    with pytest.raises(ConfigError, match=r"comfyui\.servers\[0\]\.url"):
        save_home_config(home, {"comfyui": {"servers": [{"url": "nope"}]}}, env=env)
    assert not (home / "config.json").exists()


def test_save_replaces_atomically(home, monkeypatch):
    (home / "config.json").write_text('{"allow_online": true}')
    calls = []
    real_replace = os.replace

    def spy(src, dst):
        calls.append((str(src), str(dst)))
        assert json.loads(Path(src).read_text()) == {"allow_online": False}
        real_replace(src, dst)

    monkeypatch.setattr("core.atomic.os.replace", spy)
    save_home_config(home, {"allow_online": False}, env={})
    assert len(calls) == 1 and calls[0][1] == str(home / "config.json")
    assert calls[0][0] != calls[0][1]


# --- the cloud (RunComfy) fields ----------------------------------------------------------


def test_cloud_fields_round_trip(defaults, home):
    form = form_from(defaults, {"cloud": {"runcomfy": {"rates_usd_h": {"large": 2.0}}}})
    assert form.texts == {
        "cloud.runcomfy.user_id": "",
        "cloud.runcomfy.token_env": "RUNCOMFY_API_TOKEN",
        "cloud.runcomfy.machine_type": "medium",
        "cloud.runcomfy.workflow_version": "",
    }
    assert form.flags == {"cloud.runcomfy.auto_stop_at_quit": False}
    assert form.numbers["cloud.runcomfy.budget_month_usd"] == "0"
    assert form.rates_usd_h["large"] == 2.0 and form.rates_usd_h["medium"] == 0.99
    assert overrides_from(form, defaults, {}) == {}  # untouched: nothing written

    form.texts["cloud.runcomfy.user_id"] = " user-1 "
    form.texts["cloud.runcomfy.machine_type"] = "large"
    form.numbers["cloud.runcomfy.budget_session_usd"] = "5"
    form.numbers["cloud.runcomfy.idle_stop_s"] = "10"  # minutes on the form
    form.flags["cloud.runcomfy.auto_stop_at_quit"] = True
    out = overrides_from(form, defaults, {"cloud": {"runcomfy": {"rates_usd_h": {"large": 2.0}}}})
    assert out == {
        "cloud": {
            "runcomfy": {
                "rates_usd_h": {"large": 2.0},
                "user_id": "user-1",
                "machine_type": "large",
                "budget_session_usd": 5.0,
                "idle_stop_s": 600.0,
                "auto_stop_at_quit": True,
            }
        }
    }
    back = form_from(defaults, out)
    assert back.texts["cloud.runcomfy.user_id"] == "user-1"
    assert back.numbers["cloud.runcomfy.idle_stop_s"] == "10"
    assert back.flags["cloud.runcomfy.auto_stop_at_quit"] is True
    assert overrides_from(back, defaults, out) == out
    config = save_home_config(home, out, env={})  # the same validation as start-up
    assert (config.cloud.user_id, config.cloud.machine_type) == ("user-1", "large")
    assert (config.cloud.idle_stop_s, config.cloud.auto_stop_at_quit) == (600.0, True)


def test_idle_stop_in_odd_seconds_survives_the_minutes_form(defaults):
    base = {"cloud": {"runcomfy": {"idle_stop_s": 100}}}
    form = form_from(defaults, base)
    assert overrides_from(form, defaults, base) == {"cloud": {"runcomfy": {"idle_stop_s": 100.0}}}


@pytest.mark.parametrize(
    ("path", "text", "message"),
    [
        ("cloud.runcomfy.budget_month_usd", "abc", "expected a number, got 'abc'"),
        ("cloud.runcomfy.idle_stop_s", "ten", "expected a number, got 'ten'"),
    ],
)
def test_unparsable_cloud_number_names_its_field(defaults, path, text, message):
    form = form_from(defaults, {})
    form.numbers[path] = text
    with pytest.raises(ConfigError) as error:
        overrides_from(form, defaults, {})
    assert field_error(str(error.value)) == (path, message)


def test_token_variable_must_be_a_variable_name(defaults):
    form = form_from(defaults, {})
    form.texts["cloud.runcomfy.token_env"] = "my token"
    with pytest.raises(ConfigError) as error:
        overrides_from(form, defaults, {})
    key, text = field_error(str(error.value))
    assert key == "cloud.runcomfy.token_env" and "not an environment variable name" in text


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("cloud.runcomfy.budget_month_usd: must be 0 (none) or more",
         ("cloud.runcomfy.budget_month_usd", "must be 0 (none) or more")),
        ("cloud.runcomfy.idle_stop_s: must be 0 (none) or more",
         ("cloud.runcomfy.idle_stop_s", "must be 0 (none) or more")),
        ("cloud.runcomfy.user_id: expected a str, got 5",
         ("cloud.runcomfy.user_id", "expected a str, got 5")),
        ("cloud.runcomfy.auto_stop_at_quit: expected true or false, got 1",
         ("cloud.runcomfy.auto_stop_at_quit", "expected true or false, got 1")),
        ("cloud.runcomfy.rates_usd_h.large: must be above 0, got -1",
         (GENERAL, "cloud.runcomfy.rates_usd_h.large: must be above 0, got -1")),
    ],
)  # fmt: skip
def test_cloud_error_maps_to_its_field(message, expected):
    assert field_error(message) == expected


def test_rate_and_token_texts():
    assert rate_text({"large": 1.75}, "large") == "$1.75 an hour"
    assert "no rate set" in rate_text({"large": 1.75}, "2xl-turbo")
    assert token_text("RC_TOKEN", {"RC_TOKEN": "s3cret"}) == "RC_TOKEN is set"
    assert token_text("RC_TOKEN", {"RC_TOKEN": ""}) == "RC_TOKEN is not set"
    assert token_text("RC_TOKEN", {}) == "RC_TOKEN is not set"
    assert "name the variable" in token_text("  ", {})
