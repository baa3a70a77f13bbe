"""Instead of the main window: why the library was not opened and what to do."""

from __future__ import annotations

import sys
import tkinter as tk
from tkinter import ttk


def show_library_problem(message: str) -> int:
    """Nothing was written into the library. Exit code 1; on stderr too, for a window started
    from a terminal."""
    print(f"error: {message}", file=sys.stderr)
    try:
        root = tk.Tk(className="Takeboard")
    except tk.TclError:
        return 1
    library_problem_view(root, message)
    root.mainloop()
    return 1


def library_problem_view(root: tk.Tk, message: str) -> ttk.Frame:
    root.title("Takeboard — the library was not opened")
    frame = ttk.Frame(root, padding=16)
    frame.pack(fill="both", expand=True)
    ttk.Label(frame, text="The library was not opened", font=("TkDefaultFont", 12, "bold")).pack(
        anchor="w"
    )
    ttk.Label(frame, text=message, wraplength=560, justify="left").pack(anchor="w", pady=12)
    ttk.Button(frame, text="Quit", command=root.destroy).pack(anchor="e")
    root.protocol("WM_DELETE_WINDOW", root.destroy)
    return frame
