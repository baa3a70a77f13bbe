"""The bottom bar: one dot per backend (green online, grey offline, amber busy, red breaker
open) with a hover tooltip, memory (its tooltip lists every device), job counts and the current
job's progress."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Iterable
from tkinter import font as tkfont
from tkinter import ttk
from typing import TYPE_CHECKING

from app import theme
from app.live_state import (
    JobTable,
    Meter,
    counts_text,
    indicator,
    memory_tooltip,
    progress_text,
    vram_text,
)
from core.jobs import JobEvent

if TYPE_CHECKING:
    from executors.pool import ServerState

DOT = 10


class Tooltip:
    """One small undecorated window near the pointer; shown on <Enter>, hidden on <Leave>."""

    def __init__(self, master: tk.Misc):
        self.master = master
        self.window: tk.Toplevel | None = None
        self.label: ttk.Label | None = None

    def attach(self, widget: tk.Misc, text_of) -> None:
        """Show text_of() while the pointer is over widget (text_of is read on each entry)."""
        widget.bind("<Enter>", lambda e: self.show(text_of(), e.x_root + 12, e.y_root + 16))
        widget.bind("<Leave>", lambda _e: self.hide())
        widget.bind("<Destroy>", lambda _e: self.hide(), add="+")

    def show(self, text: str, x: int, y: int) -> None:
        if self.window is None:
            self.window = tk.Toplevel(self.master)
            self.window.wm_overrideredirect(True)
            colours = theme.current(self.master)
            self.label = ttk.Label(
                self.window,
                justify="left",
                background=colours.tooltip,
                foreground=colours.text,
                relief="solid",
                padding=4,
            )
            self.label.pack()
        assert self.label is not None
        self.label.configure(text=text)
        self.window.wm_geometry(f"+{x}+{y}")

    def hide(self) -> None:
        if self.window is not None:
            self.window.destroy()
            self.window = self.label = None

    def showing_text(self) -> str | None:
        return None if self.label is None else str(self.label.cget("text"))


class StatusBar(ttk.Frame):
    def __init__(self, parent: tk.Misc):
        super().__init__(parent, padding=(6, 2))
        self.table = JobTable(keep_finished=0)
        self.indicators: dict[str, tk.Canvas] = {}
        self._tooltips: dict[str, str] = {}
        self.tooltip = Tooltip(self)
        self._font = tkfont.nametofont("TkDefaultFont")

        self.servers = ttk.Frame(self)
        self.servers.pack(side="left")
        self.vram = ttk.Label(self, text="VRAM –")
        self._vram_tip = memory_tooltip(())
        self.tooltip.attach(self.vram, lambda: self._vram_tip)
        self.counts = ttk.Label(self, text=counts_text(0, 0, 0))
        self.cloud = ttk.Label(self, text="")
        self._cloud_tip = ""
        self.tooltip.attach(self.cloud, lambda: self._cloud_tip)
        self.job = ttk.Label(self, text="", anchor="e")
        self.job_progress = ttk.Progressbar(self, maximum=100, length=120, mode="determinate")
        for widget in (self.vram, self.counts):
            ttk.Separator(self, orient="vertical").pack(side="left", fill="y", padx=8)
            widget.pack(side="left")
        self._cloud_separator = ttk.Separator(self, orient="vertical")
        self.job_progress.pack(side="right")
        self.job.pack(side="right", padx=6)

    def update_servers(self, states: Iterable[ServerState]) -> None:
        """Redraw the dots from the pool's snapshot (Tk thread); servers that left are dropped."""
        states = list(states)
        names = [s.name for s in states]
        for name in [n for n in self.indicators if n not in names]:
            self.indicators.pop(name).destroy()
            self._tooltips.pop(name, None)
        for state in states:
            shown = indicator(state)
            canvas = self.indicators.get(state.name) or self._add_indicator(state.name)
            canvas.itemconfigure("dot", fill=shown.colour)
            self._tooltips[state.name] = shown.tooltip
        self.vram.configure(text=vram_text(states))
        self._vram_tip = memory_tooltip(states)

    def update_cloud(self, meter: Meter | None) -> None:
        """The cloud cost meter; hidden while no machine runs and nothing was spent."""
        if meter is None:
            self.cloud.pack_forget()
            self._cloud_separator.pack_forget()
            return
        self.cloud.configure(text=meter.text, foreground=meter.colour)
        self._cloud_tip = meter.tooltip
        if not self.cloud.winfo_manager():
            self._cloud_separator.pack(side="left", fill="y", padx=8, after=self.counts)
            self.cloud.pack(side="left", after=self._cloud_separator)

    def update_counts(self, running: int, queued: int, failed: int) -> None:
        self.counts.configure(text=counts_text(running, queued, failed))

    def handle(self, event: JobEvent) -> None:
        """Follow the running job that started last (Tk thread)."""
        if self.table.apply(event) is None:
            return
        self.table.prune()
        view = self.table.current()
        self.job.configure(text=progress_text(view) if view else "")
        self.job_progress.configure(value=view.percent if view else 0)

    def colour(self, name: str) -> str:
        return str(self.indicators[name].itemcget("dot", "fill"))

    def tooltip_text(self, name: str) -> str:
        return self._tooltips[name]

    @staticmethod
    def _recolor(canvas: tk.Canvas, colours: theme.Palette) -> None:
        canvas.configure(background=colours.background)
        canvas.itemconfigure("name", fill=colours.text)

    def _add_indicator(self, name: str) -> tk.Canvas:
        width = DOT + 6 + self._font.measure(name) + 8
        height = max(DOT, self._font.metrics("linespace")) + 2
        canvas = tk.Canvas(self.servers, width=width, height=height, highlightthickness=0)
        top = (height - DOT) // 2
        canvas.create_oval(1, top, 1 + DOT, top + DOT, outline="", tags="dot")
        canvas.create_text(
            DOT + 6, height // 2, text=name, anchor="w", font=self._font, tags="name"
        )
        canvas.pack(side="left", padx=(0, 4))
        theme.follow(canvas, lambda colours: self._recolor(canvas, colours))
        self.tooltip.attach(canvas, lambda: self._tooltips.get(name, name))
        self.indicators[name] = canvas
        return canvas
