"""A variable's trace goes with the widget it serves (app/views/traces.py), under Xvfb."""

from __future__ import annotations

import gc
import tkinter as tk
import weakref
from tkinter import ttk

from app.views.traces import on_write


def traced_frame(root: tk.Tk, var: tk.StringVar, seen: list[str]) -> ttk.Frame:
    """A frame whose trace's callback reaches it, as a form's own callbacks do."""
    frame = ttk.Frame(root)
    on_write(frame, var, lambda: seen.append(f"{frame.winfo_name()}={var.get()}"))
    return frame


def test_a_destroyed_widget_and_what_its_trace_reaches_are_freed(root):
    var = tk.StringVar(root)
    seen: list[str] = []
    frame = traced_frame(root, var, seen)
    var.set("a")
    assert seen == [f"{frame.winfo_name()}=a"]

    freed = weakref.ref(frame)
    frame.destroy()
    del frame
    gc.collect()
    assert freed() is None  # Tcl held the trace's callback, and through it the frame, for good
    var.set("b")
    assert len(seen) == 1


def test_a_child_destroyed_leaves_its_parents_trace(root):
    var = tk.StringVar(root)
    frame = ttk.Frame(root)
    child = ttk.Label(frame)
    seen: list[str] = []
    on_write(root, var, lambda: seen.append(var.get()))
    child.destroy()  # the root hears the child's <Destroy> too
    var.set("still")
    assert seen == ["still"]
