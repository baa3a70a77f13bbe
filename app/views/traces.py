"""Variable traces that go with the widget they serve.

A trace's callback is a Tcl command, held by Tcl where Python's garbage collector cannot see it:
a callback that reaches its variable or widget (nearly all do) keeps them, and every widget they
reach, alive for good once the widget is destroyed — a form rebuilt for each prompt leaked its
old one. `on_write` removes the trace when its widget is destroyed, so they are freed.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable


def on_write(owner: tk.Misc, var: tk.Variable, callback: Callable[[], object]) -> None:
    """Call `callback()` (Tk thread) whenever `var` is written, for as long as `owner` exists."""
    name = var.trace_add("write", lambda *_: callback())

    def forget(event: tk.Event) -> None:
        if event.widget is owner:  # a toplevel also hears its children's <Destroy>
            var.trace_remove("write", name)

    owner.bind("<Destroy>", forget, add="+")
