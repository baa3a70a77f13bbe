"""File → Import workflow… and files dropped on the window: a ComfyUI workflow becomes a
function (app/cli_workflows.py import_file), imported on a worker thread that never touches Tk;
the Tk thread polls with after() and shows the result, or the one-line reason it failed.

Drops use tkinterdnd2 (the tkdnd Tk extension) when it is installed and loads; without it the
window simply takes no drops and the menu still works.
"""

from __future__ import annotations

import logging
import threading
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import filedialog, messagebox
from urllib.parse import unquote, urlparse

from app.cli_workflows import describe, import_file
from core.config import Config
from core.errors import AppError
from executors.workflow_import.importer import ImportOptions, ImportResult

log = logging.getLogger(__name__)

POLL_MS = 100
FILE_TYPES = [
    ("ComfyUI workflows and outputs", "*.json *.png *.webp *.flac *.mp3 *.opus *.mp4 *.webm"),
    ("All files", "*"),
]


class WorkflowImport:
    """One import at a time; `shown` is what the last one said (for tests and the log)."""

    def __init__(
        self, root: tk.Misc, config: Config, on_imported: Callable[[], None] | None = None
    ):
        """`on_imported` runs on the import's worker after a success (the engine reloads its
        templates there, so the new function runs at once)."""
        self.root = root
        self.config = config
        self.on_imported = on_imported
        self.shown = ""
        self._outcome: ImportResult | str | None = None
        self._worker: threading.Thread | None = None

    def ask(self) -> None:
        """The file dialog, then the import."""
        name = filedialog.askopenfilename(
            parent=self.root, title="Import a ComfyUI workflow", filetypes=FILE_TYPES
        )
        if name:
            self.start(Path(name))

    def start(self, path: Path) -> None:
        if self._worker is not None and self._worker.is_alive():
            self._show_error("another workflow is being imported — wait for it, then try again")
            return
        self._outcome = None
        self._worker = threading.Thread(
            target=self._run, args=(path,), name="workflow-import", daemon=True
        )
        self._worker.start()
        self.root.after(POLL_MS, self._poll)

    def _run(self, path: Path) -> None:
        try:
            result = import_file(self.config, path, ImportOptions())
            if self.on_imported is not None:
                self.on_imported()
            self._outcome = result
        except AppError as exc:
            self._outcome = str(exc)
        except Exception as exc:  # noqa: BLE001 - one line for the user, the rest in the log
            log.exception("workflow import failed")
            self._outcome = f"the import stopped: {type(exc).__name__}: {exc}"

    def _poll(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            self.root.after(POLL_MS, self._poll)
            return
        outcome = self._outcome
        if isinstance(outcome, ImportResult):
            self.shown = (
                f"{describe(outcome)}\nPick {outcome.function} as a prompt's function in the "
                f"editor, or run: generate <prompt id> --function {outcome.function}"
            )
            messagebox.showinfo("Workflow imported", self.shown, parent=self.root)
        else:
            self._show_error(str(outcome))

    def _show_error(self, line: str) -> None:
        self.shown = line
        messagebox.showerror("Import workflow", line, parent=self.root)

    # --- drops ------------------------------------------------------------------------------

    def accept_drops(self, widget: tk.Misc) -> bool:
        """Let files be dropped on `widget`; False when no drag-and-drop library loads."""
        try:
            from tkinterdnd2 import DND_FILES, TkinterDnD
        except ImportError:
            return False
        try:
            TkinterDnD._require(widget.winfo_toplevel())
            widget.drop_target_register(DND_FILES)
        except (RuntimeError, tk.TclError) as exc:
            log.info("no drag and drop: %s", exc)
            return False
        widget.dnd_bind("<<Drop>>", self._dropped)
        return True

    def _dropped(self, event) -> str:
        paths = self.root.tk.splitlist(event.data)
        if paths:
            self.start(dropped_path(paths[0]))
        return getattr(event, "action", "copy")


def dropped_path(item: str) -> Path:
    """A dropped file as a path (some file managers send `file://` URIs)."""
    if item.startswith("file://"):
        return Path(unquote(urlparse(item).path))
    return Path(item)
