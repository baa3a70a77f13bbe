"""A first start that leads somewhere: while no generation server answers, a panel above the
prompt list says what Takeboard needs and offers "Find servers" (the discovery scan, on a
worker), "Add a server…" (Settings) and "Try the demo backend" (the project's protocol server
with placeholder media, switchable off again here or in the File menu)."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk
from typing import Any

from app import theme
from app.first_start_state import (
    DEMO_LABEL,
    FoundServer,
    addable,
    found_servers,
    found_text,
    needs_a_server,
    scan_summary,
)
from app.views.on_worker import on_worker
from core.errors import AppError
from executors.control import Control

NEEDS = (
    "Takeboard needs a generation server to make images, songs and video: a ComfyUI server "
    "(local, on the LAN or in the cloud) or WanGP started with --mcp. None answers now — find "
    "one on this machine, add its address, or try the demo backend ({label}: it draws "
    "placeholders, so rating, comparing, listening and variations can be tried without a GPU)."
)


class DemoSwitch:
    """The demo backend on and off while the window runs, through the engine API on a
    worker: the pool gains (or loses) the member "demo"."""

    def __init__(self, root: tk.Misc, control: Control):
        self.root, self.control = root, control
        self.busy = False
        self.listeners: list[Callable[[str], None]] = []

    @property
    def on(self) -> bool:
        return self.control.demo_on

    def toggle(self) -> None:
        if self.busy:
            return
        self.busy = True
        work = self._stop if self.on else self._start
        on_worker(self.root, work, self._done, "demo backend")

    def _start(self) -> str:
        self.control.start_demo()
        return f"Demo backend on ({DEMO_LABEL}) — generate a prompt to see its placeholders."

    def _stop(self) -> str:
        self.control.stop_demo()
        return "Demo backend off."

    def _done(self, result: Any) -> None:
        self.busy = False
        for listener in self.listeners:
            listener(str(result))


class FirstStart(ttk.Frame):
    """The panel; `follow(states)` shows or hides it (packed before `before`)."""

    def __init__(
        self,
        parent: tk.Misc,
        demo: DemoSwitch,
        *,
        scan: Callable[[], list[dict[str, Any]]],
        add_server: Callable[[FoundServer | None], None],
        before: tk.Widget,
    ):
        super().__init__(parent, padding=theme.PAD)
        self.demo, self.scan, self.add_server, self.before = demo, scan, add_server, before
        self.shown = False
        self.found: list[FoundServer] = []
        title = ttk.Label(
            self, text="No generation server answers", font=("TkDefaultFont", 12, "bold")
        )
        title.pack(anchor="w")
        ttk.Label(self, text=NEEDS.format(label=DEMO_LABEL), wraplength=900, justify="left").pack(
            anchor="w", pady=(theme.PAD // 2, theme.PAD)
        )
        self._build_buttons()
        self.message = ttk.Label(self, text="", wraplength=900, justify="left")
        self.message.pack(anchor="w")
        self.results = ttk.Frame(self)
        self.results.pack(anchor="w", fill="x")
        demo.listeners.append(self._demo_changed)

    def _build_buttons(self) -> None:
        row = ttk.Frame(self)
        row.pack(anchor="w")
        self.find_button = ttk.Button(row, text="Find servers", command=self.find)
        self.add_button = ttk.Button(
            row, text="Add a server…", command=lambda: self.add_server(None)
        )
        self.demo_button = ttk.Button(row, text=self._demo_text(), command=self.toggle_demo)
        for button in (self.find_button, self.add_button, self.demo_button):
            button.pack(side="left", padx=(0, theme.PAD))

    def _demo_text(self) -> str:
        return "Stop the demo backend" if self.demo.on else f"Try the demo backend ({DEMO_LABEL})"

    def follow(self, states: list[Any]) -> None:
        """Tk thread, from the status refresh: shown while no generation server answers."""
        wanted = needs_a_server(states)
        if wanted and not self.shown:
            self.pack(fill="x", before=self.before, padx=theme.PAD, pady=(0, theme.PAD))
        elif self.shown and not wanted:
            self.pack_forget()
        self.shown = wanted
        if not self.demo.busy:
            self.demo_button.configure(text=self._demo_text())

    # --- actions --------------------------------------------------------------------------------

    def find(self) -> None:
        self.find_button.state(["disabled"])
        self.message.configure(text="Looking on this machine's usual ports…")
        scan = self.scan  # the worker holds no widget
        on_worker(self, lambda: found_servers(scan()), self._show_found, "find servers")

    def _show_found(self, result: Any) -> None:
        self.find_button.state(["!disabled"])
        for child in self.results.winfo_children():
            child.destroy()
        if isinstance(result, AppError):
            self.message.configure(text=str(result))
            return
        self.found = result
        self.message.configure(text=scan_summary(result))
        for found in result:
            line = ttk.Frame(self.results)
            line.pack(anchor="w", fill="x")
            if addable(found):
                ttk.Button(line, text="Add", command=lambda f=found: self.add_server(f)).pack(
                    side="left", padx=(0, theme.PAD)
                )
            ttk.Label(line, text=found_text(found)).pack(side="left")

    def toggle_demo(self) -> None:
        self.demo_button.state(["disabled"])
        self.message.configure(
            text="Stopping the demo backend…" if self.demo.on else "Starting the demo backend…"
        )
        self.demo.toggle()

    def _demo_changed(self, text: str) -> None:
        self.demo_button.state(["!disabled"])
        self.demo_button.configure(text=self._demo_text())
        self.message.configure(text=text)
