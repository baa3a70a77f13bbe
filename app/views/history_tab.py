"""The editor's History tab: a prompt's saved versions, the word diff of the chosen one against
the current prompt (red, struck through: only in that version; green, underlined: only in the
current one), and Restore, which saves the old version as a new current version.
Thin widgets over app.history_state; Tk thread only (a prompt's history is one indexed read).
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from app.history_state import (
    ADDED,
    REMOVED,
    current_text,
    version_label,
    version_text,
    word_diff,
)
from core.errors import NotFound
from core.models import PromptRecord, PromptVersion
from repositories.prompts import PromptRepository

REMOVED_COLOR, ADDED_COLOR = "#c0392b", "#1e8449"


class HistoryTab(ttk.Frame):
    def __init__(
        self, parent: tk.Misc, prompts: PromptRepository, on_restore: Callable[[int], None]
    ):
        """`on_restore(version)`: the user asked to restore that version of the shown prompt."""
        super().__init__(parent, padding=4)
        self.prompts, self.on_restore = prompts, on_restore
        self.current: PromptRecord | None = None
        self.versions: list[PromptVersion] = []
        self.columnconfigure(1, weight=1)
        self.rowconfigure(0, weight=1)
        self.listbox = tk.Listbox(self, width=34, exportselection=False, activestyle="none")
        self.listbox.grid(row=0, column=0, sticky="ns", padx=(0, 6))
        self.listbox.bind("<<ListboxSelect>>", lambda _e: self._draw_diff())
        self.diff = tk.Text(self, wrap="word", height=12, width=50)
        self.diff.grid(row=0, column=1, sticky="nsew")
        self.diff.tag_configure(REMOVED, foreground=REMOVED_COLOR, overstrike=True)
        self.diff.tag_configure(ADDED, foreground=ADDED_COLOR, underline=True)
        bar = ttk.Frame(self)
        bar.grid(row=1, column=0, columnspan=2, sticky="ew", pady=(4, 0))
        self.restore_button = ttk.Button(bar, text="Restore this version", command=self.restore)
        self.restore_button.pack(side="left")
        self.legend = ttk.Label(bar)
        self.legend.pack(side="left", padx=8)

    def show(self, prompt_id: int | None) -> None:
        """Show the versions of a prompt (None or a vanished prompt: nothing)."""
        try:
            self.current = None if prompt_id is None else self.prompts.get(prompt_id)
            self.versions = [] if prompt_id is None else self.prompts.history(prompt_id)
        except NotFound:
            self.current, self.versions = None, []
        self.listbox.delete(0, "end")
        for version in self.versions:
            self.listbox.insert("end", version_label(version, self._current_number()))
        if self.versions:  # the version before the current one, when there is one
            self.listbox.selection_set(min(1, len(self.versions) - 1))
        self._draw_diff()

    def selected(self) -> PromptVersion | None:
        chosen = self.listbox.curselection()
        return self.versions[chosen[0]] if chosen else None

    def restore(self) -> None:
        version = self.selected()
        if version is not None and version.version != self._current_number():
            self.on_restore(version.version)

    def _current_number(self) -> int:
        return self.current.version if self.current is not None else 0

    def _draw_diff(self) -> None:
        version = self.selected()
        self.diff.configure(state="normal")
        self.diff.delete("1.0", "end")
        if version is None or self.current is None:
            self.legend.configure(text="")
        else:
            for segment in word_diff(version_text(version), current_text(self.current)):
                self.diff.insert("end", segment.text, (segment.change,))
            self.legend.configure(text=self._legend(version))
        self.diff.configure(state="disabled")
        is_current = version is None or version.version == self._current_number()
        self.restore_button.state(["disabled" if is_current else "!disabled"])

    def _legend(self, version: PromptVersion) -> str:
        if version.version == self._current_number():
            return f"v{version.version} is the current version"
        return f"red: only in v{version.version} · green: only in the current text"
