"""Draft with the screenwriter (issue 14, part E), in the real window under Xvfb: Draft… and
Enhance ask the LLM path of the CLI `draft` command on a worker — here tests/llm_server.py, a
real OpenAI-compatible server on loopback — and fill the editor unsaved; with nothing listening
or no LLM configured the dialog says how to point Takeboard at Ollama or LM Studio; Cancel drops
a late answer."""

from __future__ import annotations

import dataclasses
import gc

import pytest

from app.application import Application
from core.config import LlmConfig
from core.models import MediaKind
from tests.gradio_app import free_port
from tests.gui.conftest import pump, pump_until, wired
from tests.llm_server import LlmServer

DRAFT = {"title": "Harbour at dawn", "data": {"prompt": "a quiet harbour at dawn, mist"}}
BETTER = {"title": "Fox, enhanced", "data": {"prompt": "a red fox leaping through deep snow"}}


@pytest.fixture(scope="module")
def llm() -> LlmServer:
    server = LlmServer().start()
    yield server
    server.stop()


def window(root, ctx, monkeypatch, api_base: str | None, model: str = "openai/llama3"):
    for name in ("TAKEBOARD_LLM_MODEL", "TAKEBOARD_LLM_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    context = wired(ctx, f"http://127.0.0.1:{free_port()}")
    llm = None if api_base is None else LlmConfig(model, api_base, None, 10.0)
    context.config = dataclasses.replace(context.config, llm=llm)
    return Application(root, context)


@pytest.fixture
def make_app(root, ctx, monkeypatch):
    apps: list[Application] = []

    def make(api_base: str | None) -> Application:
        apps.append(window(root, ctx, monkeypatch, api_base))
        return apps[-1]

    yield make
    gc.collect()  # the closed dialogs' Tk variables, here on the Tk thread (see conftest)
    for app in apps:
        app.stop_engine()
        app.bridge.stop()


def test_draft_fills_the_editor_unsaved(make_app, root, ctx, llm):
    llm.reset()
    llm.reply(DRAFT)
    app = make_app(llm.url + "/v1")
    dialog = app.draft()
    dialog.idea.insert(0, "a harbour in the morning")
    dialog.go_button.invoke()
    assert dialog.running and str(dialog.progress.cget("mode")) == "indeterminate"
    assert pump_until(root, lambda: app.editor.state.title == DRAFT["title"])
    assert not dialog.winfo_exists()
    assert app.editor.inputs["prompt"].get().strip() == DRAFT["data"]["prompt"]
    assert app.editor.prompt_id is None and app.editor.dirty
    assert ctx.prompts.count() == 0  # not saved until the user saves
    assert "a harbour in the morning" in llm.chats[-1].body["messages"][-1]["content"]


def test_enhance_rewrites_the_selected_prompt_into_the_editor(make_app, root, ctx, llm):
    llm.reset()
    llm.reply(BETTER)
    record = ctx.prompts.add(MediaKind.IMAGE, "Fox", {"prompt": "a fox"})
    app = make_app(llm.url + "/v1")
    app.prompts.refresh()
    app.prompts.select(record.id)
    pump(root)
    dialog = app.enhance_selected()
    assert dialog.go_button.cget("text") == "Enhance"
    dialog.idea.insert(0, "more motion")
    dialog.go_button.invoke()
    assert pump_until(root, lambda: app.editor.state.title == BETTER["title"])
    assert app.editor.prompt_id == record.id and app.editor.dirty
    assert ctx.prompts.get(record.id).data["prompt"] == "a fox"  # saved text unchanged
    sent = llm.chats[-1].body["messages"][-1]["content"]
    assert "a fox" in sent and "more motion" in sent


def test_nothing_listening_says_how_to_point_it_at_ollama_or_lm_studio(make_app, root):
    app = make_app(f"http://127.0.0.1:{free_port()}/v1")
    dialog = app.draft()
    dialog.idea.insert(0, "a song about rain")
    dialog.go_button.invoke()
    assert pump_until(root, lambda: not dialog.running)
    text = dialog.message.cget("text")
    assert "cannot reach the LLM server" in text
    assert "Ollama" in text and "LM Studio" in text and "llm.api_base" in text
    assert dialog.go_button.instate(["!disabled"]) and app.editor.state.title == ""
    dialog.close()


def test_no_llm_configured_says_so_without_asking_anyone(make_app, root):
    app = make_app(None)
    dialog = app.draft()
    dialog.idea.insert(0, "x")
    dialog.go_button.invoke()
    assert pump_until(root, lambda: not dialog.running)
    assert "no LLM is configured" in dialog.message.cget("text")
    assert "ollama serve" in dialog.message.cget("text")
    dialog.close()


def test_an_empty_idea_asks_for_one(make_app, root):
    dialog = make_app(None).draft()
    dialog.go_button.invoke()
    assert not dialog.running and "Describe what you want" in dialog.message.cget("text")
    dialog.close()


def test_cancel_drops_a_late_answer(make_app, root, llm):
    llm.reset()
    llm.reply(DRAFT, delay_s=1.0)
    app = make_app(llm.url + "/v1")
    dialog = app.draft()
    dialog.idea.insert(0, "a harbour")
    dialog.go_button.invoke()
    assert pump_until(root, lambda: llm.chats)  # the request reached the server
    dialog.cancel_button.invoke()
    assert not dialog.running and "Cancelled" in dialog.message.cget("text")
    assert pump_until(root, lambda: dialog.dropped == 1)  # the answer came, too late
    pump(root, 100)
    assert app.editor.state.title == "" and dialog.winfo_exists()
    dialog.cancel_button.invoke()  # a second Cancel closes
    assert not dialog.winfo_exists()
