"""The Settings dialog's "Cloud GPUs (RunComfy)" section on a real Tk (Xvfb): its fields save
like the others, and Start / Stop drive a real CloudMonitor against the loopback RunComfy fake
on a worker thread while the Tk thread keeps running."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from app.views.settings import NO_CLOUD, SettingsDialog
from core.config import CloudSettings, read_home_overrides
from executors.backends.comfyui import ComfyClient
from executors.cloud import CloudManager, CloudMonitor
from executors.pool import ServerPool
from tests.gui.conftest import pump
from tests.runcomfy_server import TOKEN
from tests.waiting import wait_for

MASKED = "https://****.runcomfy.com"


def make_client(server):
    return ComfyClient(server.url, name=server.name, shown_url=server.shown_url())


def monitor(settings: CloudSettings, home) -> CloudMonitor:
    """The running window's cloud, on the real clock, polling RunComfy every 50 ms."""
    manager = CloudManager(replace(settings, poll_s=0.05), home)
    return CloudMonitor(manager, ServerPool([], make_client), make_client)


def open_dialog(root, home, cloud=None, env=None):
    saved = []
    dialog = SettingsDialog(
        root,
        home,
        on_saved=saved.append,
        test_connection=lambda url: (True, "online"),
        modal=False,
        env={} if env is None else env,
        cloud=cloud,
    )
    pump(root)
    return dialog, saved


def settle(root, condition, seconds: float = 10.0) -> None:
    """wait_for, pumping Tk events: the results arrive through after()."""

    def pumped() -> object:
        root.update()
        return condition()

    assert wait_for(pumped, seconds, interval_s=0.02), "timed out waiting on the dialog"


def text(label) -> str:
    return str(label.cget("text"))


def disabled(button) -> bool:
    return button.instate(["disabled"])


def test_bad_budget_is_shown_by_its_field_and_nothing_is_written(root, home):
    dialog, saved = open_dialog(root, home)
    month = "cloud.runcomfy.budget_month_usd"
    dialog.number_vars[month].set("abc")
    dialog.save()
    assert dialog.error_text(month) == "expected a number, got 'abc'"
    dialog.number_vars[month].set("-1")
    dialog.save()
    assert dialog.error_text(month) == "must be 0 (none) or more"
    assert dialog.error_text("") == "" and dialog.error_text("retry.attempts") == ""
    assert saved == [] and not (home / "config.json").exists() and dialog.winfo_exists()
    dialog.number_vars[month].set("20")
    dialog.save()
    assert saved[0].cloud.budget_month_usd == 20.0
    assert read_home_overrides(home) == {"cloud": {"runcomfy": {"budget_month_usd": 20.0}}}


def test_idle_stop_is_in_minutes_and_its_error_lands_by_it(root, home):
    dialog, saved = open_dialog(root, home)
    idle = "cloud.runcomfy.idle_stop_s"
    dialog.number_vars[idle].set("-5")
    dialog.save()
    assert dialog.error_text(idle) == "must be 0 (none) or more"
    assert saved == [] and not (home / "config.json").exists()
    dialog.number_vars[idle].set("15")
    dialog.save()
    assert saved[0].cloud.idle_stop_s == 900.0


def test_cloud_fields_are_saved_under_cloud_runcomfy(root, home):
    dialog, saved = open_dialog(root, home)
    assert dialog.text_vars["cloud.runcomfy.machine_type"].get() == "medium"
    assert text(dialog.rate) == "$0.99 an hour"
    dialog.text_vars["cloud.runcomfy.machine_type"].set("large")
    assert text(dialog.rate) == "$1.75 an hour"  # follows the chosen type
    dialog.text_vars["cloud.runcomfy.user_id"].set("user-1234")
    dialog.text_vars["cloud.runcomfy.workflow_version"].set("ver-1")
    dialog.flag_vars["cloud.runcomfy.auto_stop_at_quit"].set(True)
    dialog.save()
    assert read_home_overrides(home) == {
        "cloud": {
            "runcomfy": {
                "user_id": "user-1234",
                "machine_type": "large",
                "workflow_version": "ver-1",
                "auto_stop_at_quit": True,
            }
        }
    }
    runcomfy = saved[0].cloud
    assert (runcomfy.user_id, runcomfy.machine_type, runcomfy.auto_stop_at_quit) == (
        "user-1234",
        "large",
        True,
    )
    dialog, _ = open_dialog(root, home)  # shown again as saved
    assert dialog.text_vars["cloud.runcomfy.machine_type"].get() == "large"
    assert dialog.flag_vars["cloud.runcomfy.auto_stop_at_quit"].get() is True
    dialog.cancel()


def test_the_token_is_never_shown_only_whether_it_is_set(root, home):
    dialog, _ = open_dialog(root, home, env={"RUNCOMFY_API_TOKEN": TOKEN})
    assert text(dialog.token_status) == "RUNCOMFY_API_TOKEN is set"
    dialog.text_vars["cloud.runcomfy.token_env"].set("OTHER_TOKEN")
    assert text(dialog.token_status) == "OTHER_TOKEN is not set"
    shown = shown_texts(dialog) + [var.get() for var in dialog.text_vars.values()]
    assert not any(TOKEN in line for line in shown)
    dialog.text_vars["cloud.runcomfy.token_env"].set("bad name")
    dialog.save()
    assert "not an environment variable name" in dialog.error_text("cloud.runcomfy.token_env")
    assert not (home / "config.json").exists()


def shown_texts(widget) -> list[str]:
    """The text of `widget` and of every widget inside it."""
    own = [text(widget)] if "text" in widget.configure() else []
    return own + [line for child in widget.winfo_children() for line in shown_texts(child)]


def test_without_a_running_window_only_the_fields_show(root, home):
    dialog, _ = open_dialog(root, home)
    assert dialog.cloud_actions is None
    assert NO_CLOUD in shown_texts(dialog)
    dialog.cancel()


def test_start_runs_off_the_tk_thread_and_stop_ends_the_machine(
    root, home, runcomfy, cloud_settings
):
    cloud = monitor(cloud_settings, home)
    gate, threads = threading.Event(), []
    real_start = cloud.start

    def gated_start(on_progress=None):
        threads.append(threading.current_thread() is threading.main_thread())
        assert gate.wait(5), "the test never opened the gate"
        return real_start(on_progress)

    cloud.start = gated_start
    dialog, _ = open_dialog(root, home, cloud=cloud)
    actions = dialog.cloud_actions
    assert text(actions.status).startswith("cloud: no machine")
    assert text(actions.reason) == "" and not disabled(actions.start_button)
    assert disabled(actions.stop_button)  # no machine recorded

    actions.start_button.invoke()  # returns while the worker waits at the gate
    pump(root)
    assert text(actions.message) == "starting…"
    assert disabled(actions.start_button) and disabled(actions.stop_button)
    gate.set()
    settle(root, lambda: not actions.busy)
    assert threads == [False]
    status = text(actions.status)
    assert status.startswith("cloud: ready") and MASKED in status
    assert "-comfyui.runcomfy.com" not in status  # the machine's URL is its secret
    assert len(runcomfy.running()) == 1
    assert not disabled(actions.start_button) and not disabled(actions.stop_button)

    actions.stop_button.invoke()
    settle(root, lambda: not actions.busy)
    assert runcomfy.running() == []
    assert text(actions.status).startswith("cloud: no machine")
    assert "stopped" in text(actions.message)
    assert disabled(actions.stop_button)
    dialog.cancel()


def test_offline_says_why_and_sends_nothing(root, home, runcomfy, cloud_settings):
    cloud = monitor(replace(cloud_settings, allow_online=False), home)
    dialog, _ = open_dialog(root, home, cloud=cloud)
    actions = dialog.cloud_actions
    assert "online access is off" in text(actions.reason)
    assert disabled(actions.start_button) and disabled(actions.stop_button)
    actions.start_button.invoke()  # a disabled button does nothing
    actions.refresh_button.invoke()
    pump(root)
    assert not actions.busy and "online access is off" in text(actions.reason)
    assert runcomfy.requests == []
    dialog.cancel()


def test_stop_while_offline_shows_the_reason(root, home, runcomfy, cloud_settings):
    CloudManager(replace(cloud_settings, poll_s=0.05), home).start()  # `cloud start` earlier
    cloud = monitor(cloud_settings, home)  # the window joined it...
    cloud.configure(replace(cloud_settings, allow_online=False))  # ...then went offline
    asked = len(runcomfy.requests)
    dialog, _ = open_dialog(root, home, cloud=cloud)
    actions = dialog.cloud_actions
    assert text(actions.status).startswith("cloud: ready")
    assert disabled(actions.start_button) and not disabled(actions.stop_button)
    actions.stop_button.invoke()
    settle(root, lambda: not actions.busy)
    assert "cannot stop machine" in text(actions.message)
    assert "online access is off" in text(actions.message)
    assert len(runcomfy.requests) == asked and len(runcomfy.running()) == 1
    dialog.cancel()


def test_closing_while_a_start_runs_drops_its_result(root, home, runcomfy, cloud_settings):
    cloud = monitor(cloud_settings, home)
    gate, finished = threading.Event(), threading.Event()
    real_start = cloud.start

    def gated_start(on_progress=None):
        gate.wait(5)
        try:
            return real_start(on_progress)
        finally:
            finished.set()

    cloud.start = gated_start
    dialog, _ = open_dialog(root, home, cloud=cloud)
    dialog.cloud_actions.start_button.invoke()
    dialog.cancel()
    pump(root)
    assert not dialog.winfo_exists()
    assert root.tk.splitlist(root.tk.call("after", "info")) == ()  # no poll left for it
    gate.set()
    settle(root, finished.is_set)
    time.sleep(0.2)  # (not pump(root, ms): its own after() could outlive this test's Tk)
    pump(root)  # a poll left scheduled for the dead dialog would fail the root fixture
    assert len(runcomfy.running()) == 1  # the worker finished its start
