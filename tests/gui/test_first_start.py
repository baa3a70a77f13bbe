"""A first start that leads somewhere (issue 14, part E), in the real window under Xvfb: with no
server answering the panel explains what Takeboard needs; Find servers runs the real discovery
scan on a worker and Add puts the found ComfyUI into Settings, whose Save makes it join the pool
(the panel goes); Try the demo backend starts the project's protocol server, and switching it
off brings the panel back."""

from __future__ import annotations

import urllib.request

import pytest

from app import application
from app.application import Application
from executors.backends.discovery import discover
from executors.control import DEMO_NAME, FoundServer
from tests.gradio_app import free_port
from tests.gui.conftest import pump_until, wired


@pytest.fixture
def offline_app(root, ctx, monkeypatch):
    said: list[str] = []
    monkeypatch.setattr(
        application.messagebox, "showinfo", lambda _t, text, parent: said.append(text)
    )
    app = Application(root, wired(ctx, f"http://127.0.0.1:{free_port()}"))
    app.said = said
    yield app
    app.stop_engine()
    app.bridge.stop()


def panel_shown(app) -> bool:
    return app.first_start.shown and app.first_start.winfo_ismapped()


def test_no_server_shows_what_is_needed_and_find_add_joins_the_pool(
    offline_app, root, comfy_server
):
    app = offline_app
    assert pump_until(root, lambda: panel_shown(app))
    texts = [
        w.cget("text") for w in app.first_start.winfo_children() if w.winfo_class() == "TLabel"
    ]
    assert any("ComfyUI" in t and "WanGP" in t for t in texts)
    app.first_start.scan = lambda: [
        FoundServer(f.kind, f.url, f.detail, f.port, configured=False)
        for f in discover([comfy_server.url], ports={})
    ]
    app.first_start.find_button.invoke()
    assert pump_until(root, lambda: app.first_start.found)
    (found,) = app.first_start.found
    assert found.kind == "comfyui" and found.url.rstrip("/") == comfy_server.url
    (line,) = app.first_start.results.winfo_children()
    add = next(w for w in line.winfo_children() if w.winfo_class() == "TButton")
    add.invoke()
    dialog = next(w for w in root.winfo_children() if w.winfo_class() == "Toplevel")
    assert dialog.rows[-1].value().url.rstrip("/") == comfy_server.url
    assert dialog.save() is not None
    assert pump_until(root, lambda: not app.first_start.winfo_ismapped())
    assert any("new servers apply now" in text for text in app.said)


def test_nothing_found_says_what_to_start(offline_app, root):
    app = offline_app
    app.first_start.scan = lambda: []
    app.first_start.find_button.invoke()
    assert pump_until(root, lambda: "start ComfyUI" in app.first_start.message.cget("text"))
    assert app.first_start.found == []


def test_demo_backend_on_hides_the_panel_and_off_brings_it_back(offline_app, root, ctx):
    app = offline_app
    assert pump_until(root, lambda: panel_shown(app))
    assert "demo, no AI model" in app.first_start.demo_button.cget("text")
    app.first_start.demo_button.invoke()
    assert pump_until(root, lambda: not app.first_start.winfo_ismapped())
    assert app.control.demo_on and DEMO_NAME in names(app)
    assert app.first_start.demo_button.cget("text") == "Stop the demo backend"
    (url,) = [state.url for state in app.control.backends() if state.name == DEMO_NAME]
    app.demo.toggle()  # as File → Demo backend on/off does
    assert pump_until(root, lambda: panel_shown(app))
    assert not app.control.demo_on and DEMO_NAME not in names(app)
    with pytest.raises(OSError):  # the demo server stopped: its port refuses
        urllib.request.urlopen(url + "/system_stats", timeout=2)


def names(app) -> list[str]:
    return [state.name for state in app.control.backends()]


def test_find_servers_scans_through_the_engine_api(app, comfy_server):
    found = app._scan()  # what Find servers runs on its worker
    (server,) = [f for f in found if f.url == comfy_server.url]
    assert server.kind == "comfyui" and server.configured is True
