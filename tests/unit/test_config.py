import json

import pytest

import main
from core.config import load_config
from core.errors import ConfigError


def write_home_config(home, data):
    (home / "config.json").write_text(json.dumps(data) if not isinstance(data, str) else data)


def test_defaults_create_the_home_layout(tmp_path):
    config = load_config(tmp_path / "new home", env={})
    for name in ("artifacts", "workflows", "logs"):
        assert (tmp_path / "new home" / name).is_dir()
    assert config.database_path == (tmp_path / "new home" / "takeboard.db").resolve()
    assert config.comfyui_servers[0].url == "http://127.0.0.1:8188"
    assert config.allow_online is False and config.default_quality == "standard"


def test_home_from_env_and_argument_precedence(tmp_path):
    assert (
        load_config(None, env={"TAKEBOARD_HOME": str(tmp_path / "e")}).home
        == (tmp_path / "e").resolve()
    )
    assert (
        load_config(tmp_path / "a", env={"TAKEBOARD_HOME": str(tmp_path / "e")}).home
        == (tmp_path / "a").resolve()
    )


def test_default_home_is_the_per_user_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    config = load_config(None, env={}, platform_home=main.platform_home())
    assert config.home == (tmp_path / "xdg" / "Takeboard").resolve()


def test_no_home_named_anywhere_is_a_one_line_error():
    with pytest.raises(ConfigError, match="no data home: choose a folder with --home"):
        load_config(None, env={})


def test_layers_home_file_then_env(home):
    write_home_config(
        home,
        {
            "default_quality": "high",
            "retry": {"attempts": 2},
            "comfyui": {"servers": [{"name": "lan", "url": "http://10.0.0.5:8188/"}]},
            "vram_profiles": {"sd3": 10},
        },
    )
    config = load_config(
        home, env={"TAKEBOARD_COMFYUI_URL": "http://a:1, http://b:2", "TAKEBOARD_ALLOW_ONLINE": "1"}
    )
    assert config.default_quality == "high"
    assert config.retry.attempts == 2 and config.retry.max_s == 30.0
    assert [s.url for s in config.comfyui_servers] == ["http://a:1", "http://b:2"]
    assert config.allow_online is True
    assert config.vram_profiles["sd3"] == 10 and config.vram_profiles["sdxl"] == 8.0
    without_env = load_config(home, env={})
    assert [(s.name, s.url) for s in without_env.comfyui_servers] == [
        ("lan", "http://10.0.0.5:8188")
    ]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"retyr": {}}, "retyr: unknown key — did you mean 'retry'?"),
        ({"retry": {"attempts": "3"}}, "retry.attempts: expected a whole number, got '3'"),
        ({"retry": {"attempts": 2.5}}, "retry.attempts: expected a whole number"),
        ({"retry": {"attempts": 0}}, "retry.attempts: must be above 0"),
        ({"retry": {"jitter_s": -1}}, "retry.jitter_s: must be 0 or more"),
        ({"timeouts": {"read_s": True}}, "timeouts.read_s: expected a number"),
        ({"timeouts": 5}, "timeouts: expected an object"),
        ({"allow_online": "yes"}, "allow_online: expected true or false"),
        ({"default_quality": "ultra"}, "default_quality: 'ultra' is not a tier"),
        ({"quality_tiers": {"ultra": "x"}}, "quality_tiers.ultra: unknown key"),
        ({"comfyui": {"servers": {"url": "x"}}}, "comfyui.servers: expected a list"),
        ({"comfyui": {"servers": [{"url": "localhost:8188"}]}}, "comfyui.servers[0].url: "),
        ({"comfyui": {"servers": [{"url": "http://x", "port": 1}]}}, "comfyui.servers[0].port"),
        ({"comfyui": {"servers": [{"url": "http://x", "token": "abc"}]}}, "secrets do not belong"),
        ({"openai_api_key": "sk-1"}, "openai_api_key: secrets do not belong"),
        ({"vram_profiles": {"big": "lots"}}, "vram_profiles.big: expected a number"),
        ({"vram_profiles": {"sdxl": -1}}, "vram_profiles.sdxl: must be above 0"),
        ({"log_level": "LOUD"}, "log_level: 'LOUD'"),
    ],
)
def test_invalid_values_name_the_key_path(home, override, message):
    write_home_config(home, override)
    with pytest.raises(ConfigError) as caught:
        load_config(home, env={})
    assert message in str(caught.value)


def test_env_url_is_validated(home):
    with pytest.raises(ConfigError, match="TAKEBOARD_COMFYUI_URL: 'ftp://x' is not a server"):
        load_config(home, env={"TAKEBOARD_COMFYUI_URL": "ftp://x"})


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_broken_home_config_is_moved_aside_with_a_warning(home, content):
    write_home_config(home, content)
    config = load_config(home, env={})
    assert config.default_quality == "standard"
    assert len(config.warnings) == 1 and "used the defaults" in config.warnings[0]
    aside = list(home.glob("config.json.broken-*"))
    assert len(aside) == 1 and aside[0].read_text() == content
    assert not (home / "config.json").exists()


def test_token_comes_from_the_named_env_var(home, monkeypatch):
    write_home_config(
        home,
        {"comfyui": {"servers": [{"url": "https://cloud.example", "token_env": "MY_COMFY_TOKEN"}]}},
    )
    server = load_config(home, env={}).comfyui_servers[0]
    monkeypatch.setenv("MY_COMFY_TOKEN", "s3cret")
    assert server.token() == "s3cret" and "s3cret" not in repr(server)


def test_unwritable_home_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot create it"):
        load_config(blocker / "home", env={})


def test_broken_shipped_config_is_reported(tmp_path):
    shipped = tmp_path / "config.json"
    shipped.write_text("[]")
    with pytest.raises(ConfigError, match="expected a JSON object"):
        load_config(tmp_path / "h", env={}, shipped=shipped)
