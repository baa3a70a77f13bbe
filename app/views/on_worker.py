"""One way for a dialog to run slow work (network, files, database writes) off the Tk thread:
`on_worker(widget, work, done)` runs `work()` on a daemon thread and calls `done(result)` on the
Tk thread, polled with after(); an AppError (or any failure, logged, as one line) is the result
instead. The thread holds only `work`: no widget, so no Tk object is freed off the Tk thread.
Once the widget is gone the result is dropped."""

from __future__ import annotations

import logging
import queue
import threading
import tkinter as tk
from collections.abc import Callable
from typing import Any

from core.errors import AppError

log = logging.getLogger(__name__)
POLL_MS = 50


def on_worker(
    widget: tk.Misc, work: Callable[[], Any], done: Callable[[Any], None], name: str = "worker"
) -> None:
    inbox: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=_run, args=(work, inbox, name), name=name, daemon=True).start()

    def poll() -> None:
        if not widget.winfo_exists():
            return
        try:
            result = inbox.get_nowait()
        except queue.Empty:
            widget.after(POLL_MS, poll)
            return
        done(result)

    widget.after(POLL_MS, poll)


def _run(work: Callable[[], Any], inbox: queue.Queue[Any], name: str) -> None:
    try:
        inbox.put(work())
    except AppError as exc:
        inbox.put(exc)
    except Exception as exc:  # noqa: BLE001 — one line for the user, the rest in the log
        log.exception("%s: background work failed", name)
        inbox.put(AppError(f"{name} failed ({type(exc).__name__}: {exc}) — see the log"))
