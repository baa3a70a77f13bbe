"""Running and queued jobs: one Treeview row per job, plus the progress bar, label, ETA and live
preview of the running job (the selected one, else the one that started last).

Fed by handle(event) on the Tk thread. Preview bytes are kept newest-only per job and drawn at
most PREVIEW_HZ times a second.
"""

from __future__ import annotations

import io
import time
import tkinter as tk
from tkinter import ttk
from typing import Protocol

from PIL import Image, ImageTk

from app.live_state import JobTable, JobView, eta_text
from core.jobs import JobEvent, JobFinished, JobPreview

PREVIEW_SIZE = 256
PREVIEW_HZ = 10


class QueueActions(Protocol):
    """What the panel asks the window to do (called on the Tk thread)."""

    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def cancel(self, job_id: int) -> None: ...
    def retry_failed(self) -> None: ...


class QueuePanel(ttk.Frame):
    def __init__(self, parent: tk.Misc, actions: QueueActions, *, keep_finished: int = 20):
        super().__init__(parent, padding=4)
        self.actions = actions
        self.table = JobTable(keep_finished)
        self.paused = False
        self.preview_photo: ImageTk.PhotoImage | None = None
        self.preview_count = 0  # pictures drawn (for the throttle's tests)
        self._previews: dict[int, bytes] = {}  # newest bytes per active job
        self._shown: bytes | None = None
        self._preview_after: str | None = None
        self._last_preview = 0.0
        self._build()
        self.bind("<Destroy>", self._on_destroy)

    def _build(self) -> None:
        top = ttk.Frame(self)
        top.pack(fill="x")
        self.preview = ttk.Label(top, anchor="center", text="No preview", width=20)
        self.preview.pack(side="left", padx=(0, 8))
        info = ttk.Frame(top)
        info.pack(side="left", fill="x", expand=True)
        self.current = ttk.Label(info, text="Idle", anchor="w")
        self.current.pack(fill="x")
        self.progress = ttk.Progressbar(info, maximum=100, mode="determinate")
        self.progress.pack(fill="x", pady=2)
        self.eta = ttk.Label(info, text="", anchor="w")
        self.eta.pack(fill="x")

        columns = ("job", "status", "progress", "eta")
        self.tree = ttk.Treeview(self, columns=columns, show="headings", height=8)
        for name, text, width in zip(
            columns, ("Job", "Status", "Progress", "ETA"), (60, 240, 70, 70), strict=True
        ):
            self.tree.heading(name, text=text)
            self.tree.column(name, width=width, stretch=name == "status")
        self.tree.tag_configure("failed", foreground="#c03030")
        self.tree.tag_configure("done", foreground="#2e7d32")
        self.tree.tag_configure("cancelled", foreground="#808080")
        self.tree.bind("<<TreeviewSelect>>", lambda _e: self._show_focus())
        self.tree.pack(fill="both", expand=True, pady=4)

        buttons = ttk.Frame(self)
        buttons.pack(fill="x")
        self.pause_button = ttk.Button(buttons, text="Pause queue", command=self._toggle_pause)
        self.cancel_button = ttk.Button(buttons, text="Cancel selected", command=self._cancel)
        self.retry_button = ttk.Button(buttons, text="Retry failed", command=self._retry)
        for button in (self.pause_button, self.cancel_button, self.retry_button):
            button.pack(side="left", padx=(0, 4))

    # --- events -----------------------------------------------------------------------------

    def handle(self, event: JobEvent) -> None:
        """One engine event (Tk thread)."""
        before = self.table.jobs.get(event.job_id)
        old_state = before.state if before else None
        view = self.table.apply(event)
        if view is None:
            return
        if isinstance(event, JobPreview):
            self._previews[event.job_id] = event.data
            self._schedule_preview()
            return
        if isinstance(event, JobFinished):
            self._previews.pop(event.job_id, None)
        self._write_row(view)
        if view.state != old_state:
            self._reorder()
        self._show_focus()

    def focus_job(self) -> JobView | None:
        """The selected job while it is active, else the running job that started last."""
        for iid in self.tree.selection():
            view = self.table.jobs.get(int(iid))
            if view is not None and view.active:
                return view
        return self.table.current()

    def _write_row(self, view: JobView) -> None:
        iid = str(view.job_id)
        values = (
            f"#{view.job_id}",
            view.status_text(),
            f"{view.percent:.0f}%" if view.state in ("running", "done") else "",
            eta_text(view.eta_s),
        )
        if self.tree.exists(iid):
            self.tree.item(iid, values=values, tags=(view.state,))
        else:
            self.tree.insert("", "end", iid=iid, values=values, tags=(view.state,))

    def _reorder(self) -> None:
        for job_id in self.table.prune():
            self._previews.pop(job_id, None)
            if self.tree.exists(str(job_id)):
                self.tree.delete(str(job_id))
        self.tree.set_children("", *(str(v.job_id) for v in self.table.ordered()))

    def _show_focus(self) -> None:
        view = self.focus_job()
        if view is None:
            self.current.configure(text="Idle")
            self.progress.configure(value=0)
            self.eta.configure(text="")
            return
        self.current.configure(text=f"#{view.job_id} {view.status_text()}")
        self.progress.configure(value=view.percent)
        eta = eta_text(view.eta_s)
        self.eta.configure(text=f"ETA {eta}" if eta else "")
        if self._previews.get(view.job_id) not in (None, self._shown):
            self._schedule_preview()

    # --- live preview -------------------------------------------------------------------------

    def _schedule_preview(self) -> None:
        if self._preview_after is None:
            wait = self._last_preview + 1 / PREVIEW_HZ - time.monotonic()
            self._preview_after = self.after(max(0, int(wait * 1000)), self._draw_preview)

    def _draw_preview(self) -> None:
        self._preview_after = None
        view = self.focus_job()
        data = self._previews.get(view.job_id) if view else None
        if data is None or data is self._shown:
            return
        self._last_preview = time.monotonic()
        self._shown = data
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.draft("RGB", (PREVIEW_SIZE, PREVIEW_SIZE))
                image.thumbnail((PREVIEW_SIZE, PREVIEW_SIZE))
                photo = ImageTk.PhotoImage(image.convert("RGB"), master=self)
        except Exception:  # a broken preview frame is skipped; the next one may be fine
            return
        self.preview_photo = photo  # keep a reference, or Tk drops the picture
        self.preview.configure(image=photo, text="")
        self.preview_count += 1

    # --- buttons ------------------------------------------------------------------------------

    def _toggle_pause(self) -> None:
        if self.paused:
            self.actions.resume()
        else:
            self.actions.pause()
        self.paused = not self.paused
        self.pause_button.configure(text="Resume queue" if self.paused else "Pause queue")

    def _cancel(self) -> None:
        for iid in self.tree.selection():
            view = self.table.jobs.get(int(iid))
            if view is not None and view.active:
                self.actions.cancel(view.job_id)

    def _retry(self) -> None:
        self.actions.retry_failed()

    def _on_destroy(self, event: tk.Event) -> None:
        if event.widget is self and self._preview_after is not None:
            self.after_cancel(self._preview_after)
            self._preview_after = None
