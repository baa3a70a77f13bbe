"""The editor's form widgets, each read and written as a string: an entry or a dropdown, a
multi-line text, and (from app/views/param_controls.py) the function dropdown and a file
picker."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from app.editor_state import FormField
from app.views.param_controls import FileInput, FunctionInput
from app.views.traces import on_write

TEXT_HEIGHTS = {"prompt": 5, "negative_prompt": 2, "lyrics": 14}


class Input:
    """One form widget as a string: get() / set()."""

    widget: tk.Widget

    def get(self) -> str:
        raise NotImplementedError

    def set(self, text: str) -> None:
        raise NotImplementedError


class EntryInput(Input):
    def __init__(self, parent: tk.Misc, on_change: Callable[[], None], choices=()) -> None:
        self.var = tk.StringVar(parent)
        if choices:
            self.widget = ttk.Combobox(
                parent, textvariable=self.var, values=list(choices), state="readonly"
            )
        else:
            self.widget = ttk.Entry(parent, textvariable=self.var, width=40)
        on_write(self.widget, self.var, on_change)

    def get(self) -> str:
        return self.var.get()

    def set(self, text: str) -> None:
        self.var.set(text)


class TextInput(Input):
    def __init__(self, parent: tk.Misc, on_change: Callable[[], None], height: int) -> None:
        self.widget = tk.Text(parent, height=height, width=60, wrap="word", undo=True)
        self.on_change = on_change
        self.widget.bind("<<Modified>>", self._modified)

    def _modified(self, _event: tk.Event) -> None:
        if self.widget.edit_modified():
            self.widget.edit_modified(False)
            self.on_change()

    def get(self) -> str:
        return self.widget.get("1.0", "end-1c")

    def set(self, text: str) -> None:
        if self.get() != text:
            self.widget.delete("1.0", "end")
            self.widget.insert("1.0", text)


FormInput = Input | FunctionInput | FileInput


def make_input(
    parent: tk.Misc,
    spec: FormField,
    on_change: Callable[[], None],
    function_names: Callable[[], list[str]],
) -> FormInput:
    """The widget for one form field: `function_names()` fills the function dropdown."""
    if spec.widget == "long":
        return TextInput(parent, on_change, TEXT_HEIGHTS.get(spec.name, 3))
    if spec.widget == "function":
        return FunctionInput(parent, on_change, function_names)
    if spec.widget == "file":
        return FileInput(parent, on_change, title=spec.name.replace("_", " "))
    return EntryInput(parent, on_change, spec.choices)
