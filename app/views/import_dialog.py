"""File → Import takes…: a folder of ComfyUI outputs becomes prompts and takes.

The import runs on a worker thread (which never touches Tk: it only replaces `_progress` and
sets `_summary`/`_error`); the dialog polls them with after() and shows files/s and what
remains. Cancel stops after the file in hand and keeps what was done; closing the dialog while
it runs cancels too.
"""

from __future__ import annotations

import threading
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk

from app.cli_import import describe
from core.errors import AppError
from executors.library_import.importer import ImportProgress, ImportSummary, LibraryImport

POLL_MS = 100


class ImportDialog(tk.Toplevel):
    def __init__(
        self,
        parent: tk.Misc,
        importer: LibraryImport,
        folder: Path,
        on_done: Callable[[], None],
        *,
        link: bool = False,
    ):
        super().__init__(parent)
        self.title("Import takes")
        self.transient(parent.winfo_toplevel())
        self.on_done = on_done
        self.cancel = threading.Event()
        self._progress: ImportProgress | None = None
        self._summary: ImportSummary | None = None
        self._error = ""
        self._phase = ""  # after the files: what the worker does last
        self._build(folder)
        self.protocol("WM_DELETE_WINDOW", self._close)
        self.bind("<Escape>", lambda _e: self._close())
        self._worker = threading.Thread(
            target=self._run, args=(importer, folder, link), name="library-import", daemon=True
        )
        self._worker.start()
        self.after(POLL_MS, self._poll)

    def _build(self, folder: Path) -> None:
        frame = ttk.Frame(self, padding=12)
        frame.pack(fill="both", expand=True)
        ttk.Label(frame, text=f"Importing {folder}", wraplength=480).pack(anchor="w")
        self.bar = ttk.Progressbar(frame, length=480, mode="determinate")
        self.bar.pack(fill="x", pady=8)
        self.status = ttk.Label(frame, text="looking for files…", wraplength=480)
        self.status.pack(anchor="w")
        self.report = tk.Text(frame, height=10, width=70, wrap="word")
        self.button = ttk.Button(frame, text="Cancel", command=self._close)
        self.button.pack(side="bottom", anchor="e", pady=(8, 0))

    def _run(self, importer: LibraryImport, folder: Path, link: bool) -> None:
        try:
            summary = importer.run(folder, link=link, cancel=self.cancel, progress=self._note)
            self._phase = "making previews…"
            importer.takes.drain()
            self._summary = summary
        except AppError as exc:
            self._error = str(exc)
        except Exception as exc:  # noqa: BLE001 - shown as one line, never a traceback
            self._error = f"the import stopped: {type(exc).__name__}: {exc}"

    def _note(self, progress: ImportProgress) -> None:
        self._progress = progress

    def _poll(self) -> None:
        if self._worker.is_alive():
            self._show_progress()
            self.after(POLL_MS, self._poll)
            return
        self._finish()

    def _show_progress(self) -> None:
        progress = self._progress
        if self._phase:
            self.status.configure(text=self._phase)
        elif progress is not None:
            self.bar.configure(maximum=max(progress.total, 1), value=progress.done)
            left = f", about {progress.remaining_s:.0f} s left" if progress.remaining_s else ""
            stopping = " — stopping after this file…" if self.cancel.is_set() else ""
            self.status.configure(
                text=f"{progress.done} of {progress.total} files, "
                f"{progress.files_per_s:.1f} files/s{left}{stopping}"
            )

    def _finish(self) -> None:
        summary = self._summary
        text = describe(summary) if summary is not None else f"error: {self._error}"
        self.status.configure(text=text.splitlines()[0])
        if summary is not None:
            self.bar.configure(maximum=max(summary.seen, 1), value=summary.seen)
        self.report.insert("1.0", text)
        self.report.configure(state="disabled")
        self.report.pack(fill="both", expand=True, pady=(8, 0))
        self.button.configure(text="Close", command=self.destroy)
        self.on_done()

    def _close(self) -> None:
        if self._worker.is_alive():
            self.cancel.set()
            self.button.configure(state="disabled")
        else:
            self.destroy()

    @property
    def summary(self) -> ImportSummary | None:
        return self._summary
