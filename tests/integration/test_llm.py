"""The screenwriter through real litellm to a loopback OpenAI-compatible server, and `draft`."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator

import pytest

import main as main_module
from app import cli as cli_module
from app.cli_draft import add_draft_commands, draft
from core.errors import InputError, PermanentBackendError, TransientBackendError
from core.models import SCHEMAS, MediaKind
from executors.backends.llm import LlmProbe, Screenwriter
from tests.llm_server import LlmServer

LYRICS = "[verse]\nOur fans spin loud below the deck\n\n[chorus]\nHeave ho, the tensors flow"
VALID = {
    MediaKind.IMAGE: {
        "title": "Fox in snow",
        "data": {"prompt": "a red fox in deep snow, dawn light", "aspect_ratio": "16:9"},
    },
    MediaKind.AUDIO: {
        "title": "GPU Shanty",
        "data": {
            "title": "GPU Shanty",
            "lyrics": LYRICS,
            "tags": ["sea shanty", "accordion"],
            "tempo": 96,
            "key": "D minor",
        },
    },
    MediaKind.VIDEO: {
        "title": "Waves",
        "data": {"prompt": "waves break on black rocks, slow pan", "duration_s": 5},
    },
}


@pytest.fixture(scope="module")
def module_server() -> Iterator[LlmServer]:
    server = LlmServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(module_server: LlmServer, monkeypatch: pytest.MonkeyPatch) -> LlmServer:
    module_server.reset()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    monkeypatch.delenv("TAKEBOARD_LLM_API_KEY", raising=False)
    return module_server


def writer(server: LlmServer, **options) -> Screenwriter:
    options = {"allow_online": False, "timeout_s": 5, "backoff_s": 0, **options}
    return Screenwriter("openai/llama3", server.url + "/v1", **options)


def last_user_message(server: LlmServer) -> str:
    return server.chats[-1].body["messages"][-1]["content"]


@pytest.mark.parametrize("kind", list(MediaKind))
def test_draft_each_kind_through_litellm(server, kind):
    server.reply(VALID[kind])
    title, data = writer(server).draft(kind, "an idea about the sea")
    assert title == VALID[kind]["title"]
    assert data["quality"] == "standard"  # validated: defaults filled in
    assert {k: data[k] for k in VALID[kind]["data"]} == VALID[kind]["data"]
    (request,) = server.chats
    assert request.body["model"] == "llama3"
    system = request.body["messages"][0]
    assert system["role"] == "system"
    assert all(f'"{name}"' in system["content"] for name in SCHEMAS[kind])
    assert "an idea about the sea" in request.body["messages"][1]["content"]
    assert "sk-must-not-leak" not in json.dumps(request.headers)
    assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"


def test_song_alias_and_fenced_reply(server):
    server.reply("Here you go:\n```json\n" + json.dumps(VALID[MediaKind.AUDIO]) + "\n```")
    title, data = writer(server).draft("song", "a sea shanty about GPUs")
    assert title == "GPU Shanty" and data["lyrics"].startswith("[verse]")
    assert "[chorus]" in server.chats[0].body["messages"][0]["content"]


def test_enhance_sends_the_current_prompt_and_instruction(server):
    better = {"title": "Fox, golden hour", "data": {"prompt": "a red fox, golden hour, 85mm"}}
    server.reply(better)
    title, data = writer(server).enhance("image", {"prompt": "a fox"}, "make it cinematic")
    assert (title, data["prompt"]) == ("Fox, golden hour", "a red fox, golden hour, 85mm")
    asked = last_user_message(server)
    assert '"prompt": "a fox"' in asked and "make it cinematic" in asked


def test_enhance_refuses_invalid_input_without_a_request(server):
    with pytest.raises(InputError, match="data.prompt"):
        writer(server).enhance("image", {"prompt": ""})
    assert server.chats == []


def test_one_repair_round_quotes_the_validation_error(server):
    bad = {"title": "Shanty", "data": {"lyric": "[verse]\nla", "tempo": 90}}
    server.reply(bad).reply(VALID[MediaKind.AUDIO])
    title, data = writer(server).draft("audio", "a shanty")
    assert title == "GPU Shanty" and data["tempo"] == 96
    assert len(server.chats) == 2
    messages = server.chats[1].body["messages"]
    assert messages[2] == {"role": "assistant", "content": json.dumps(bad)}
    assert (
        "data.lyric" in messages[3]["content"] and "did you mean 'lyrics'" in messages[3]["content"]
    )


def test_invalid_twice_raises_input_error_naming_the_field(server):
    bad = {"title": "Shanty", "data": {"lyrics": "[verse]\nla", "tempo": 1000}}
    server.reply(bad).reply(bad)
    with pytest.raises(InputError, match=r"still invalid: data\.tempo: 1000 is out of range"):
        writer(server).draft("song", "a shanty")
    assert len(server.chats) == 2


def test_garbage_then_valid_is_repaired_and_garbage_twice_fails(server):
    server.reply("I cannot do JSON, sorry").reply(VALID[MediaKind.IMAGE])
    assert writer(server).draft("image", "fox")[0] == "Fox in snow"
    assert "not reply with a JSON object" in last_user_message(server)
    server.reply("nope").reply("still nope")
    with pytest.raises(InputError, match="still invalid: data: the model did not reply"):
        writer(server).draft("image", "fox")


def test_500_and_429_are_retried_then_succeed(server):
    server.fail(500).fail(429, "slow down").reply(VALID[MediaKind.VIDEO])
    title, _ = writer(server, attempts=3).draft("video", "waves")
    assert title == "Waves" and len(server.chats) == 3


def test_retries_are_bounded_and_end_transient(server):
    server.fail(503).fail(503).fail(503)
    with pytest.raises(TransientBackendError, match="answered 503"):
        writer(server, attempts=2).draft("image", "fox")
    assert len(server.chats) == 2  # ours only: litellm's and the SDK's retries are off
    server.reset()


def test_auth_errors_are_permanent_and_not_retried(server):
    server.fail(401, "bad key")
    with pytest.raises(PermanentBackendError, match="401.*TAKEBOARD_LLM_API_KEY"):
        writer(server).draft("image", "fox")
    assert len(server.chats) == 1


def test_a_slow_server_times_out_as_transient(server):
    server.reply(VALID[MediaKind.IMAGE], delay_s=1.5)
    with pytest.raises(TransientBackendError, match="did not answer in 0.5 s"):
        writer(server, timeout_s=0.5, attempts=1).draft("image", "fox")


def test_check_lists_models_without_spending_tokens(server):
    assert writer(server).check() == ["llama3", "qwen2.5"]
    ollama = Screenwriter("ollama/llama3", server.url, allow_online=False)
    assert ollama.check() == ["llama3:latest", "qwen2.5:latest"]
    assert [r.path for r in server.requests] == ["/v1/models", "/api/tags"]
    assert "sk-must-not-leak" not in json.dumps([r.headers for r in server.requests])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_dead_port_gives_a_clear_error():
    port = free_port()
    ollama = Screenwriter("ollama/llama3", f"http://127.0.0.1:{port}", allow_online=False)
    with pytest.raises(TransientBackendError, match="start Ollama .*TAKEBOARD_LLM_API_BASE"):
        ollama.check()
    dead = Screenwriter(
        "openai/llama3", f"http://127.0.0.1:{port}/v1", allow_online=False, backoff_s=0
    )
    with pytest.raises(TransientBackendError, match="cannot reach .*TAKEBOARD_LLM_API_BASE"):
        dead.check()
    with pytest.raises(TransientBackendError, match="cannot reach .*TAKEBOARD_LLM_API_BASE"):
        dead.draft("image", "fox")


# --- the draft command ----------------------------------------------------------------------


@pytest.fixture
def draft_cli(cli, server, monkeypatch):
    """`cli` with the draft command; wires it in for the test if app/cli.py does not yet."""
    monkeypatch.setenv("TAKEBOARD_LLM_MODEL", "openai/llama3")
    monkeypatch.setenv("TAKEBOARD_LLM_API_BASE", server.url)
    if ("draft", None) not in cli_module.HANDLERS:
        build = main_module.build_parser

        def build_with_draft() -> cli_module.Parser:
            parser = build()
            add_draft_commands(parser._subparsers._group_actions[0])  # type: ignore[union-attr]
            return parser

        monkeypatch.setattr(main_module, "build_parser", build_with_draft)
        monkeypatch.setitem(cli_module.HANDLERS, ("draft", None), draft)
    return cli


def test_cli_draft_song_save_json_end_to_end(draft_cli, server):
    server.reply(VALID[MediaKind.AUDIO])
    result = draft_cli.json("draft", "--kind", "song", "a sea shanty about GPUs", "--save")
    assert result["kind"] == "audio" and result["title"] == "GPU Shanty"
    assert isinstance(result["id"], int)
    shown = draft_cli.json("prompt", "show", str(result["id"]))
    assert shown["data"]["lyrics"] == LYRICS and shown["title"] == "GPU Shanty"
    assert shown["data"] == result["data"]


def test_cli_draft_plain_text_without_save(draft_cli, server):
    server.reply(VALID[MediaKind.IMAGE])
    code, out, err = draft_cli("draft", "--kind", "image", "a fox")
    assert (code, err) == (0, "")
    assert out.startswith("image  Fox in snow") and "prompt: a red fox" in out
    assert draft_cli.json("prompt", "list") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "poem", "x"], "kind: unknown value 'poem'"),
        (["--kind", "image", "x", "--model", "gpt-4o"], "provider/model"),
        (
            [
                "--kind",
                "image",
                "x",
                "--model",
                "openai/gpt-4o",
                "--api-base",
                "https://api.example.com",
            ],
            "online access is off",
        ),
    ],
)
def test_cli_draft_bad_input_exits_2_without_a_request(draft_cli, server, args, message):
    code, out, err = draft_cli("draft", *args)
    assert code == 2 and out == "" and message in err
    assert len(err.strip().splitlines()) == 1
    assert server.chats == []


def test_cli_draft_invalid_twice_exits_2_and_saves_nothing(draft_cli, server):
    bad = {"title": "x", "data": {"prompt": ""}}
    server.reply(bad).reply(bad)
    code, _, err = draft_cli("draft", "--kind", "image", "fox", "--save")
    assert code == 2 and "data.prompt" in err
    assert draft_cli.json("prompt", "list") == []


def test_the_status_probe_lists_models_without_spending_tokens(server):
    health = LlmProbe(writer(server)).health()
    assert health.online and health.extra["models"] and health.detail.endswith("models")
    assert server.chats == []  # a model listing, no completion


def test_the_status_probe_of_a_hosted_model_stays_offline_while_online_access_is_off():
    health = LlmProbe(Screenwriter("openai/gpt-4o-mini", allow_online=False)).health()
    assert not health.online and "online access is off" in health.detail


def test_the_status_probe_says_how_to_start_a_local_server_that_is_down():
    dead = Screenwriter("ollama/llama3", "http://127.0.0.1:9", allow_online=False)
    health = LlmProbe(dead).health()
    assert not health.online and "start Ollama" in health.detail
