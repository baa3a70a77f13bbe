"""The prompt editor's inline errors: one label under each field, shown while that field has
an error. Tk thread only."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from app.editor_state import error_text

ERROR_COLOR = "#c0392b"


class FieldErrors(dict[str, ttk.Label]):
    """Error labels by field key: "title", "tags", "data.<field>", and "data" under the form."""

    def add(self, parent: tk.Misc, row: int, key: str) -> None:
        """A hidden label for `key`'s errors in grid row `row` of `parent`."""
        label = ttk.Label(parent, foreground=ERROR_COLOR, wraplength=500)
        label.grid(row=row, column=1, columnspan=2, sticky="w")
        label.grid_remove()
        self[key] = label

    def drop_form(self) -> None:
        """Forget the form's labels (its widgets are being rebuilt for another kind)."""
        for key in [k for k in self if k.startswith("data")]:
            del self[key]

    def show(self, errors: dict[str, str]) -> None:
        """Each error under its field, the other labels hidden; an error naming no known field
        shows under the form."""
        for key, label in self.items():
            message = errors.get(key)
            if message:
                label.configure(text=error_text(message))
                label.grid()
            else:
                label.configure(text="")
                label.grid_remove()
        shown = [m for k, m in errors.items() if k not in self]
        if shown:
            self["data"].configure(text=shown[0])
            self["data"].grid()
