"""The Settings dialog on a real Tk (Xvfb): field errors, saving, test connection, cancel."""

from __future__ import annotations

import threading
import time

from app.views.settings import SettingsDialog
from core.config import load_config, read_home_overrides
from tests.gui.conftest import pump


def open_dialog(root, home, test_connection=None):
    saved = []
    dialog = SettingsDialog(
        root,
        home,
        on_saved=saved.append,
        test_connection=test_connection or (lambda url: (True, "online")),
        modal=False,
        env={},
    )
    pump(root)
    return dialog, saved


def pump_until(root, condition, timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting on the dialog"
        pump(root, 20)


def test_bad_url_is_shown_by_its_field_and_nothing_is_written(root, home):
    dialog, saved = open_dialog(root, home)
    assert [row.url.get() for row in dialog.rows] == ["http://127.0.0.1:8188"]
    row = dialog.add_server()
    row.name.set("gpu")
    row.url.set("localhost:8188")
    dialog.save()
    pump(root)
    assert "is not a server address" in dialog.error_text("servers[1].url")
    assert dialog.error_text("servers[0].url") == ""
    assert not (home / "config.json").exists()
    assert saved == [] and dialog.winfo_exists()

    row.url.set("http://127.0.0.1:8188")
    dialog.save()
    pump(root)
    assert len(saved) == 1
    assert [(s.name, s.url) for s in saved[0].comfyui_servers] == [
        ("local", "http://127.0.0.1:8188"),
        ("gpu", "http://127.0.0.1:8188"),
    ]
    assert not dialog.winfo_exists()
    assert load_config(home, env={}).comfyui_servers == saved[0].comfyui_servers


def test_fixed_url_saves(root, home):
    dialog, saved = open_dialog(root, home)
    dialog.remove_server(dialog.rows[0])
    row = dialog.add_server()
    row.url.set("localhost:8188")
    dialog.save()
    assert "write it like http://" in dialog.error_text("servers[0].url")
    assert not (home / "config.json").exists()
    row.url.set("http://127.0.0.1:8188")
    dialog.save()
    pump(root)
    assert [(s.name, s.url) for s in saved[0].comfyui_servers] == [
        ("127.0.0.1:8188", "http://127.0.0.1:8188")
    ]
    assert read_home_overrides(home)["comfyui"]["servers"][0]["url"] == "http://127.0.0.1:8188"


def test_number_error_is_shown_by_its_field(root, home):
    dialog, saved = open_dialog(root, home)
    dialog.number_vars["retry.attempts"].set("-1")
    dialog.save()
    assert dialog.error_text("retry.attempts") == "must be above 0, got -1"
    dialog.number_vars["retry.attempts"].set("x")
    dialog.save()
    assert dialog.error_text("retry.attempts") == "expected a whole number, got 'x'"
    assert saved == [] and not (home / "config.json").exists()
    dialog.number_vars["retry.attempts"].set("3")
    dialog.save()
    assert saved[0].retry.attempts == 3


def test_test_connection_runs_off_the_tk_thread_and_reports(root, home):
    gate = threading.Event()
    threads = []

    def stub(url: str) -> tuple[bool, str]:
        threads.append((threading.current_thread() is threading.main_thread(), url))
        gate.wait(2)
        return False, "not answering — start it"

    dialog, _ = open_dialog(root, home, stub)
    row = dialog.rows[0]
    row.test_button.invoke()
    pump(root)
    assert str(row.status.cget("text")) == "testing…"  # the Tk thread was not blocked
    gate.set()
    pump_until(root, lambda: row.status.cget("text") != "testing…")
    assert str(row.status.cget("text")) == "not answering — start it"
    assert threads == [(False, "http://127.0.0.1:8188")]
    assert not row.test_button.instate(["disabled"])
    dialog.cancel()


def test_allow_online_persists_and_cancel_writes_nothing(root, home):
    dialog, saved = open_dialog(root, home)
    assert dialog.allow_online.get() is False
    dialog.allow_online.set(True)
    dialog.quality.set("high")
    dialog.cancel()
    pump(root)
    assert not (home / "config.json").exists() and saved == []

    dialog, saved = open_dialog(root, home)
    dialog.allow_online.set(True)
    dialog.save()
    assert saved[0].allow_online is True
    assert read_home_overrides(home) == {"allow_online": True}

    dialog, _ = open_dialog(root, home)
    assert dialog.allow_online.get() is True
    assert dialog.error_text("") == ""
    dialog.cancel()


def test_unreadable_home_config_is_reported_and_replaced_on_save(root, home):
    (home / "config.json").write_text("[1, 2]")
    dialog, saved = open_dialog(root, home)
    assert "expected a JSON object" in dialog.error_text("")
    assert "saving replaces it" in dialog.error_text("")
    dialog.save()
    assert saved and read_home_overrides(home) == {}
