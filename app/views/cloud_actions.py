"""Settings → Cloud GPUs' actions in the running window: the machine's status, why Start is
unavailable, and Start / Stop / Refresh through the engine API's cloud. Start and Stop block
(network, minutes), so they run on a worker thread that holds no widget and reports through a
queue read on the Tk thread."""

from __future__ import annotations

import queue
import threading
import tkinter as tk
from tkinter import ttk
from typing import TYPE_CHECKING, Any

from app.live_state import describe_cloud
from core.errors import AppError

if TYPE_CHECKING:  # the actions only call what they are given
    from executors.control import CloudControl

ERROR_COLOR = "#b00020"
HINT_COLOR = "#555"
POLL_MS = 50
SAVE_FIRST = "Start and Stop use the saved settings: after a change, Save and open Settings again."
RUNNING = {"start": "starting…", "stop": "stopping…"}
CLOUD_WRAP = 460


class CloudActions:
    """The running window's cloud: a status line, why an action is unavailable, and Start /
    Stop / Refresh. Start and Stop block (network, minutes), so they run on a worker thread
    that holds no widget and reports through a queue read here, on the Tk thread."""

    def __init__(self, parent: tk.Misc, cloud: CloudControl):
        self.cloud = cloud
        self.busy = False
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._poll_job: str | None = None
        self.frame = ttk.Frame(parent)
        self.status = ttk.Label(self.frame, wraplength=CLOUD_WRAP)
        self.warnings = ttk.Label(self.frame, foreground=ERROR_COLOR, wraplength=CLOUD_WRAP)
        self.reason = ttk.Label(self.frame, foreground=ERROR_COLOR, wraplength=CLOUD_WRAP)
        self.message = ttk.Label(self.frame, wraplength=CLOUD_WRAP)
        for label in (self.status, self.warnings, self.reason, self.message):
            label.pack(anchor="w")
        buttons = ttk.Frame(self.frame)
        buttons.pack(anchor="w", pady=(4, 0))
        self.start_button = ttk.Button(buttons, text="Start", command=lambda: self.run("start"))
        self.stop_button = ttk.Button(buttons, text="Stop", command=lambda: self.run("stop"))
        self.refresh_button = ttk.Button(buttons, text="Refresh", command=self.refresh)
        for button in (self.start_button, self.stop_button, self.refresh_button):
            button.pack(side="left", padx=(0, 6))
        ttk.Label(self.frame, text=SAVE_FIRST, foreground=HINT_COLOR, wraplength=CLOUD_WRAP).pack(
            anchor="w", pady=(4, 0)
        )
        self.refresh()

    def refresh(self) -> None:
        """The status as the running window knows it (memory only), and which actions apply."""
        status = self.cloud.snapshot()
        reason = self.cloud.unavailable_reason()
        self.status.configure(text=describe_cloud(status))
        self.warnings.configure(text="\n".join(status.warnings))
        self.reason.configure(text=f"Start is unavailable: {reason}" if reason else "")
        enable(self.start_button, not self.busy and reason is None)
        enable(self.stop_button, not self.busy and status.state != "none")

    def run(self, action: str) -> None:
        """Start or stop on a worker thread; progress and the result come back via _poll."""
        self.busy = True
        self.message.configure(text=RUNNING[action], foreground="")
        self.refresh()
        threading.Thread(
            target=_cloud_worker,
            args=(self.cloud, action, self._inbox),
            name=f"settings-cloud-{action}",
            daemon=True,
        ).start()
        self._poll_job = self.frame.after(POLL_MS, self._poll)

    def _poll(self) -> None:
        self._poll_job = None
        while not self._inbox.empty():
            kind, value = self._inbox.get_nowait()
            if kind == "progress":
                self.message.configure(text=value, foreground="")
                continue
            self.busy = False
            if kind == "error":
                self.message.configure(text=value, foreground=ERROR_COLOR)
            elif value.notices:  # else the last progress line stays
                self.message.configure(text="\n".join(value.notices), foreground="")
            self.refresh()
        if self.busy:
            self._poll_job = self.frame.after(POLL_MS, self._poll)

    def close(self) -> None:
        """Stop reading results: a running worker finishes, and what it reports is dropped."""
        if self._poll_job is not None:
            self.frame.after_cancel(self._poll_job)
            self._poll_job = None


def _cloud_worker(cloud: CloudControl, action: str, inbox: queue.Queue) -> None:
    """Worker thread: cloud.start or cloud.stop. No Tk here, no widget held: only the queue."""

    def say(text: str) -> None:
        inbox.put(("progress", text))

    try:
        status = cloud.start(say) if action == "start" else cloud.stop()
    except AppError as exc:  # errors a user can see say what to do
        inbox.put(("error", str(exc)))
    except Exception as exc:  # a failing action is a result to show, not a crash
        inbox.put(("error", f"cloud {action} failed: {exc}"))
    else:
        inbox.put(("done", status))


def enable(button: ttk.Button, enabled: bool) -> None:
    button.state(["!disabled" if enabled else "disabled"])
