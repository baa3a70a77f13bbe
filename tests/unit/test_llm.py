"""The screenwriter's pure parts: kinds, schema text, reply parsing, local-first rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.config import LlmConfig, is_local_url
from core.errors import InputError, UserError
from core.models import SCHEMAS, MediaKind
from executors.backends import llm
from executors.backends.llm import Screenwriter, parse_kind, parse_reply, screenwriter
from executors.backends.llm.providers import LOCAL_KEY

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_backend_and_cli_module_does_not_import_litellm():
    code = (
        "import sys, executors.backends.llm, app.cli_draft; "
        "assert 'litellm' not in sys.modules, 'litellm imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("given", "kind"),
    [("song", "audio"), ("Audio", "audio"), (" image ", "image"), (MediaKind.VIDEO, "video")],
)
def test_kinds_and_the_song_alias(given, kind):
    assert parse_kind(given) is MediaKind(kind)


def test_unknown_kind_names_the_choices():
    with pytest.raises(InputError, match="kind: unknown value 'poem'.*image, audio, video"):
        parse_kind("poem")


@pytest.mark.parametrize("kind", list(MediaKind))
def test_system_prompt_lists_every_schema_field(kind):
    text = llm.system_prompt(kind)
    for name in SCHEMAS[kind]:
        assert f'"{name}"' in text
    assert "JSON" in text


def test_system_prompt_describes_types_from_the_schema():
    audio = llm.system_prompt("song")
    assert '"tempo": whole number from 20 to 300' in audio
    assert '"quality": one of "low", "standard", "high", "premium"' in audio
    assert '"lyrics": non-empty text — required for a song' in audio and "[verse]" in audio
    assert "[chorus]" in audio
    assert '"resolution": text like "832x480"' in llm.system_prompt("video")


@pytest.mark.parametrize(
    "content",
    [
        '{"title": "T", "data": {"prompt": "p"}}',
        'Sure!\n```json\n{"title": "T", "data": {"prompt": "p"}}\n```\nEnjoy.',
        '```\n{"title": "T", "data": {"prompt": "p"}}\n```',
        'Here it is: {"title": "T", "data": {"prompt": "p"}} hope it helps',
    ],
)
def test_parse_reply_strips_fences_and_chatter(content):
    assert parse_reply(content) == ("T", {"prompt": "p"})


def test_parse_reply_takes_a_bare_data_object():
    assert parse_reply('{"prompt": "p"}') == ("", {"prompt": "p"})


@pytest.mark.parametrize("content", ["no json here", "{not: json}", ""])
def test_parse_reply_rejects_garbage(content):
    with pytest.raises(InputError, match="^data: "):
        parse_reply(content)


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:11434", True),
        ("http://localhost:1234/v1", True),
        ("http://192.168.1.20:8080", True),
        ("http://10.0.0.5", True),
        ("http://[::1]:11434", True),
        ("http://gpu-box.local:11434", True),
        ("https://api.openai.com/v1", False),
        ("http://8.8.8.8", False),
        ("https://example.com", False),
    ],
)
def test_local_urls(url, local):
    assert is_local_url(url) is local


def test_local_first_classification():
    assert Screenwriter("ollama/llama3", allow_online=False).local  # default 127.0.0.1:11434
    assert Screenwriter("openai/x", "http://127.0.0.1:9/v1", allow_online=False).local
    assert not Screenwriter("openai/gpt-4o-mini", allow_online=False).local
    assert not Screenwriter("openai/x", "https://llm.example.com", allow_online=False).local


@pytest.mark.parametrize(
    ("model", "base"),
    [("openai/gpt-4o-mini", None), ("openai/llama3", "https://llm.example.com/v1")],
)
def test_hosted_is_refused_offline_before_any_request(model, base, monkeypatch):
    def boom():
        raise AssertionError("litellm must not be reached")

    monkeypatch.setattr(screenwriter, "import_litellm", boom)
    monkeypatch.setattr(screenwriter.requests, "get", lambda *a, **k: boom())
    writer = Screenwriter(model, base, allow_online=False)
    for call in (lambda: writer.draft("image", "a fox"), writer.check):
        with pytest.raises(UserError, match="online access is off .* Settings .*Ollama"):
            call()


def test_hosted_without_its_key_says_which_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("TAKEBOARD_LLM_API_KEY", raising=False)
    writer = Screenwriter("openai/gpt-4o-mini", allow_online=True)
    with pytest.raises(UserError, match="OPENAI_API_KEY is not set"):
        writer.draft("image", "a fox")


def test_local_server_never_gets_the_provider_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.delenv("TAKEBOARD_LLM_API_KEY", raising=False)
    local = Screenwriter("openai/llama3", "http://127.0.0.1:1/v1", allow_online=True)
    hosted = Screenwriter("openai/gpt-4o-mini", allow_online=True)
    assert local._key() == LOCAL_KEY and hosted._key() == "sk-very-secret"
    assert "secret" not in repr(hosted)
    monkeypatch.setenv("TAKEBOARD_LLM_API_KEY", "lm-studio-key")
    assert local._key() == "lm-studio-key"


@pytest.mark.parametrize("model", ["llama3", "/llama3", "ollama/", ""])
def test_model_must_be_provider_slash_name(model):
    with pytest.raises(InputError, match="TAKEBOARD_LLM_MODEL: .* provider/model"):
        Screenwriter(model, allow_online=False)


def test_api_base_must_be_http():
    with pytest.raises(InputError, match="TAKEBOARD_LLM_API_BASE"):
        Screenwriter("openai/x", "127.0.0.1:8080", allow_online=False)


CONFIGURED = LlmConfig("ollama_chat/llama3.2", "http://10.0.0.9:11434", "MY_LLM_KEY", 42.0)


def test_settings_from_arguments_then_env_then_config(monkeypatch):
    env = {
        "TAKEBOARD_LLM_MODEL": "ollama/llama3",
        "TAKEBOARD_LLM_API_BASE": "http://10.0.0.2:11434",
    }
    writer = Screenwriter.from_config(CONFIGURED, allow_online=False, env=env)
    assert (writer.model, writer.root) == ("ollama/llama3", "http://10.0.0.2:11434")
    writer = Screenwriter.from_config(CONFIGURED, allow_online=False, env=env, model="openai/q")
    assert writer.model == "openai/q"
    writer = Screenwriter.from_config(CONFIGURED, allow_online=False, env={})
    assert (writer.model, writer.root, writer.timeout_s) == (
        "ollama_chat/llama3.2",
        "http://10.0.0.9:11434",
        42.0,
    )
    # a model named on the command line does not inherit the configured Ollama address
    hosted = Screenwriter.from_config(CONFIGURED, allow_online=True, env={}, model="openai/q")
    assert hosted.root == "" and not hosted.local  # the provider's own endpoint
    monkeypatch.delenv("TAKEBOARD_LLM_API_KEY", raising=False)
    monkeypatch.setenv("MY_LLM_KEY", "sk-configured")
    assert hosted._key() == "sk-configured"


def test_api_base_with_or_without_v1_means_the_same_server():
    a = Screenwriter("openai/x", "http://127.0.0.1:8080/v1/", allow_online=False)
    b = Screenwriter("openai/x", "http://127.0.0.1:8080", allow_online=False)
    assert a.completion_base() == b.completion_base() == "http://127.0.0.1:8080/v1"
    assert a._models_request()[0] == "http://127.0.0.1:8080/v1/models"
    ollama = Screenwriter("ollama/llama3", "http://127.0.0.1:11434", allow_online=False)
    assert ollama._models_request()[0] == "http://127.0.0.1:11434/api/tags"
    assert ollama.completion_base() == "http://127.0.0.1:11434"


def test_empty_idea_is_refused():
    writer = Screenwriter("openai/x", "http://127.0.0.1:1", allow_online=False)
    with pytest.raises(InputError, match="idea: is empty"):
        writer.draft("image", "  ")
