"""The window with a RunComfy machine: the machine (its ComfyUI is the protocol test server)
joins the pool, a take is made on it with its URL masked everywhere it is stored, the status
bar shows the cost meter, and quitting stops the machine when auto-stop was chosen."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from app import application
from app.application import Application
from core.config import load_config
from executors.cloud import CloudManager
from main import build_context
from tests.gui.conftest import pump, pump_until
from tests.runcomfy_server import TOKEN, USER

DEAD = "http://127.0.0.1:9"  # the only local server: down, so jobs go to the cloud machine


@pytest.fixture
def cloud_home(ctx, runcomfy, comfy_server, monkeypatch):
    """Online, RunComfy configured with auto-stop, and a Ready machine recorded in the home."""
    for name, value in {
        "TAKEBOARD_RUNCOMFY_USER_ID": USER,
        "TAKEBOARD_RUNCOMFY_API": runcomfy.url,
        "TAKEBOARD_RUNCOMFY_VERSION": "ver-1",
        "TAKEBOARD_RUNCOMFY_AUTO_STOP": "1",
        "RUNCOMFY_API_TOKEN": TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    runcomfy.service_url = comfy_server.url
    env = {**os.environ, "TAKEBOARD_COMFYUI_URL": DEAD, "TAKEBOARD_ALLOW_ONLINE": "1"}
    config = load_config(ctx.config.home, env=env)
    settings = replace(config.cloud, poll_s=0.05)
    CloudManager(settings, config.home).start()  # as `cloud start` would have
    return build_context(config, ctx.prompts.db)


def test_a_take_made_on_the_cloud_machine_stores_no_url_and_quit_stops_it(
    root, ctx, cloud_home, runcomfy, comfy_server
):
    app = Application(root, cloud_home)
    pump(root)
    try:
        [member] = [n for n in names(app) if n.startswith("runcomfy-")]
        assert app.status.cloud.winfo_manager() == "pack"
        assert app.status.cloud.cget("text").startswith("cloud: medium ready $0.00")

        prompt = ctx.prompts.add("image", "Fox", {"prompt": "a red fox"})
        app.generate([prompt.id])
        assert pump_until(root, lambda: len(ctx.artifacts.for_prompt(prompt.id)) == 1)
        [take] = ctx.artifacts.for_prompt(prompt.id)
        port = comfy_server.url.rsplit(":", 1)[1]
        assert take.metadata["server"] == {"name": member, "url": f"http://****:{port}"}
    finally:
        app.stop_engine()  # what quitting runs off the Tk thread: auto-stop included
        app.bridge.stop()
    assert runcomfy.running() == []
    database = ctx.config.database_path
    library = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert library and comfy_server.url.encode() not in library


def test_turning_online_off_drops_the_machine_and_warns_it_still_bills(
    root, cloud_home, runcomfy, monkeypatch
):
    shown: list[str] = []
    monkeypatch.setattr(
        application.messagebox, "showinfo", lambda _title, text, parent: shown.append(text)
    )
    app = Application(root, cloud_home)
    pump(root)
    try:
        assert any(n.startswith("runcomfy-") for n in names(app))
        app._settings_saved(replace(cloud_home.config, allow_online=False))
        assert pump_until(root, lambda: shown)
        assert not any(n.startswith("runcomfy-") for n in names(app))
        assert "still running and billing" in shown[-1]
        assert len(runcomfy.running()) == 1  # nothing was sent to stop it
    finally:
        app.stop_engine()  # auto-stop at quit is refused offline: the machine stays recorded
        app.bridge.stop()
    assert len(runcomfy.running()) == 1


def names(app) -> list[str]:
    return [state.name for state in app.control.backends()]
