"""The prompt list's filter bar (search, tag, kind, status, favorites, trash, circled, rating),
as a part of PromptList: typing in the search and tag boxes is debounced, the rest applies at
once; a change re-reads the count and the page."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from app.list_state import ALL, RATINGS, SEARCH_DELAY_MS, ListState, should_debounce
from app.views.traces import on_write
from core.models import MediaKind, PromptStatus


class FilterBar:
    state: ListState
    _pending: str | None
    after: Callable[..., str]
    after_cancel: Callable[[str], None]
    refresh: Callable[[], None]

    def _build_filters(self) -> None:
        """Two rows: search and tag boxes (and the count), then the choices, so the list's
        natural width stays near that of its columns."""
        search = ttk.Frame(self, padding=(0, 0, 0, 4))
        search.pack(side="top", fill="x")
        bar = ttk.Frame(self, padding=(0, 0, 0, 4))
        bar.pack(side="top", fill="x")
        self.search_var = tk.StringVar()
        self.kind_var = tk.StringVar(value=ALL)
        self.status_var = tk.StringVar(value=ALL)
        self.tag_var = tk.StringVar()
        self.favorites_var = tk.BooleanVar(value=False)
        self.trash_var = tk.BooleanVar(value=False)
        self.count_var = tk.StringVar()
        ttk.Label(search, text="Search").pack(side="left")
        ttk.Label(search, textvariable=self.count_var).pack(side="right")
        self.search_entry = ttk.Entry(search, textvariable=self.search_var, width=28)
        self.search_entry.pack(side="left", fill="x", expand=True, padx=(4, 8))
        ttk.Label(search, text="Tag").pack(side="left")
        self.tag_entry = ttk.Entry(search, textvariable=self.tag_var, width=12)
        self.tag_entry.pack(side="left", padx=(4, 8))
        self.kind_box = self._combo(bar, self.kind_var, [ALL, *(k.value for k in MediaKind)])
        self.status_box = self._combo(bar, self.status_var, [ALL, *(s.value for s in PromptStatus)])
        self.favorites_check = ttk.Checkbutton(
            bar, text="★ only", variable=self.favorites_var, command=self._filters_changed
        )
        self.favorites_check.pack(side="left")
        self.trash_check = ttk.Checkbutton(
            bar, text="Trash", variable=self.trash_var, command=self._filters_changed
        )
        self.trash_check.pack(side="left", padx=(8, 0))
        self.circled_var = tk.BooleanVar(value=False)
        self.rating_var = tk.StringVar(value=ALL)
        self.circled_check = ttk.Checkbutton(
            bar, text="◎ circled", variable=self.circled_var, command=self._filters_changed
        )
        self.circled_check.pack(side="left", padx=(8, 0))
        ttk.Label(bar, text="Rated ≥").pack(side="left", padx=(8, 4))
        self.rating_box = self._combo(bar, self.rating_var, list(RATINGS))
        self.rating_box.configure(width=4)
        on_write(bar, self.search_var, lambda: self._filters_changed("search"))
        on_write(bar, self.tag_var, lambda: self._filters_changed("tag"))

    def _combo(self, bar: ttk.Frame, var: tk.StringVar, values: list[str]) -> ttk.Combobox:
        box = ttk.Combobox(bar, textvariable=var, values=values, state="readonly", width=8)
        box.pack(side="left", padx=(0, 8))
        box.bind("<<ComboboxSelected>>", lambda _e: self._filters_changed())
        return box

    def _filters_changed(self, field: str = "") -> None:
        if self._pending:
            self.after_cancel(self._pending)
            self._pending = None
        if should_debounce(field):
            self._pending = self.after(SEARCH_DELAY_MS, self._apply_filters)
        else:
            self._apply_filters()

    def _apply_filters(self) -> None:
        self._pending = None
        changed = self.state.update_filters(
            search=self.search_var.get(),
            kind=self.kind_var.get(),
            status=self.status_var.get(),
            tag=self.tag_var.get(),
            favorites_only=self.favorites_var.get(),
            trash=self.trash_var.get(),
            circled_only=self.circled_var.get(),
            min_rating=self.rating_var.get(),
        )
        if changed:
            self.refresh()
