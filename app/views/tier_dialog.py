"""Add tier…: a tier added to a function as overrides of its standard tier (as `workflows tier
FUNCTION TIER --set NAME=VALUE`). The write and the engine's template reload run on a worker
thread that never touches Tk; the dialog polls with after() and shows the one-line outcome.
"""

from __future__ import annotations

import logging
import re
import threading
import tkinter as tk
from collections.abc import Callable
from tkinter import ttk
from typing import Any

from app.cli_workflows import parse_settings
from core.errors import AppError

log = logging.getLogger(__name__)

POLL_MS = 100
TIERS = ("low", "high", "premium")
ERROR_COLOR = "#c0392b"

# (function, tier, {name: text}) → the line to show; raises AppError with the reason
AddTier = Callable[[str, str, dict[str, str]], str]


class TierDialog(tk.Toplevel):
    """`settings` prefills the NAME=VALUE line (e.g. the prompt's current parameter values);
    on success the dialog closes and `on_done` gets the line to show."""

    def __init__(
        self,
        parent: tk.Misc,
        function: str,
        add_tier: AddTier,
        settings: str = "",
        on_done: Callable[[str], None] | None = None,
    ):
        super().__init__(parent)
        self.on_done = on_done
        self.title(f"Add a tier to {function}")
        self.transient(parent.winfo_toplevel())
        self.function, self.add_tier = function, add_tier
        self.outcome = ""  # what the last try said (for tests and the log)
        self._result: tuple[bool, str] | None = None
        self._worker: threading.Thread | None = None
        self._build(settings)
        self.bind("<Escape>", lambda _e: self.destroy())
        self.bind("<Return>", lambda _e: self.submit())

    def _build(self, settings: str) -> None:
        frame = ttk.Frame(self, padding=12)
        frame.pack(fill="both", expand=True)
        frame.columnconfigure(1, weight=1)
        ttk.Label(frame, text="Tier").grid(row=0, column=0, sticky="w", padx=(0, 6))
        self.tier = tk.StringVar(self, TIERS[0])
        ttk.Combobox(frame, textvariable=self.tier, values=TIERS, state="readonly").grid(
            row=0, column=1, sticky="ew"
        )
        ttk.Label(frame, text="Settings").grid(row=1, column=0, sticky="w", padx=(0, 6))
        self.settings = tk.StringVar(self, settings)
        ttk.Entry(frame, textvariable=self.settings, width=48).grid(row=1, column=1, sticky="ew")
        ttk.Label(frame, text="e.g. steps=12 width=768 height=768", foreground="#777777").grid(
            row=2, column=1, sticky="w"
        )
        self.message = ttk.Label(frame, foreground=ERROR_COLOR, wraplength=420)
        self.message.grid(row=3, column=0, columnspan=2, sticky="w", pady=(6, 0))
        self.ok_button = ttk.Button(frame, text="Add tier", command=self.submit)
        self.ok_button.grid(row=4, column=1, sticky="e", pady=(8, 0))

    def submit(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            return
        try:
            settings = parse_settings(re.split(r"[\s,]+", self.settings.get().strip()))
        except AppError as exc:
            self._show(False, str(exc))
            return
        self.ok_button.state(["disabled"])
        self.message.configure(text="writing the tier…", foreground="#777777")
        self._result = None
        self._worker = threading.Thread(
            target=self._run, args=(self.tier.get(), settings), name="add-tier", daemon=True
        )
        self._worker.start()
        self.after(POLL_MS, self._poll)

    def _run(self, tier: str, settings: dict[str, Any]) -> None:
        try:
            self._result = (True, self.add_tier(self.function, tier, settings))
        except AppError as exc:
            self._result = (False, str(exc))
        except Exception as exc:  # noqa: BLE001 - one line for the user, the rest in the log
            log.exception("adding a tier failed")
            self._result = (False, f"the tier was not added: {type(exc).__name__}: {exc}")

    def _poll(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            self.after(POLL_MS, self._poll)
            return
        ok, line = self._result or (False, "the tier was not added")
        self._show(ok, line)
        if ok:
            self.destroy()
            if self.on_done is not None:
                self.on_done(line)

    def _show(self, ok: bool, line: str) -> None:
        self.outcome = line
        self.ok_button.state(["!disabled"])
        self.message.configure(text=line, foreground="#1e8449" if ok else ERROR_COLOR)
