"""The Tk window (minimal for now: prompt list with search, a detail pane, a status bar).

Only the Tk thread touches Tk. A page of prompts is read straight from SQLite (about 1 ms),
so the list never holds more than one page of rows.
"""

from __future__ import annotations

import json
import tkinter as tk
from tkinter import ttk

from app.cli import Context, iso
from core.errors import UserError
from core.models import PromptQuery, PromptRecord

PAGE_SIZE = 200
SEARCH_DELAY_MS = 200


class MainWindow:
    def __init__(self, root: tk.Tk, ctx: Context):
        self.root, self.ctx = root, ctx
        self._search_job: str | None = None
        self._records: dict[str, PromptRecord] = {}
        root.title("Takeboard")
        root.geometry("1100x700")
        root.minsize(1000, 650)
        self.search = tk.StringVar()
        self.status = tk.StringVar()
        self._build()
        self.search.trace_add("write", lambda *_: self._schedule_refresh())
        root.bind("<F5>", lambda _e: self.refresh())
        root.bind("<Control-f>", lambda _e: self.search_entry.focus_set())
        root.bind("<Control-q>", lambda _e: root.destroy())
        self.refresh()

    def _build(self) -> None:
        top = ttk.Frame(self.root, padding=6)
        top.pack(fill="x")
        ttk.Label(top, text="Search").pack(side="left")
        self.search_entry = ttk.Entry(top, textvariable=self.search, width=40)
        self.search_entry.pack(side="left", padx=6)
        body = ttk.PanedWindow(self.root, orient="horizontal")
        body.pack(fill="both", expand=True)
        self.tree = self._build_tree(body)
        self.detail = tk.Text(body, width=50, wrap="word", state="disabled")
        body.add(self.detail, weight=2)
        ttk.Label(self.root, textvariable=self.status, anchor="w", padding=(6, 2)).pack(fill="x")

    def _build_tree(self, parent: ttk.PanedWindow) -> ttk.Treeview:
        columns = ("kind", "title", "status", "takes", "updated")
        tree = ttk.Treeview(parent, columns=columns, show="headings", selectmode="browse")
        for name, width in zip(columns, (70, 320, 90, 60, 150), strict=True):
            tree.heading(name, text=name.capitalize())
            tree.column(name, width=width, stretch=name == "title")
        tree.bind("<<TreeviewSelect>>", lambda _e: self._show_selected())
        parent.add(tree, weight=3)
        return tree

    def _schedule_refresh(self) -> None:
        if self._search_job:
            self.root.after_cancel(self._search_job)
        self._search_job = self.root.after(SEARCH_DELAY_MS, self.refresh)

    def refresh(self) -> None:
        self._search_job = None
        query = PromptQuery(search=self.search.get())
        records = self.ctx.prompts.page(query, limit=PAGE_SIZE)
        self.tree.delete(*self.tree.get_children())
        self._records = {str(r.id): r for r in records}
        for record in records:
            self.tree.insert("", "end", iid=str(record.id), values=_row(record))
        self.status.set(self._status_text(query))

    def _status_text(self, query: PromptQuery) -> str:
        total = self.ctx.prompts.count(query)
        servers = ", ".join(s.url for s in self.ctx.config.comfyui_servers) or "none"
        shown = min(total, PAGE_SIZE)
        return f"{total} prompts ({shown} shown)  ·  ComfyUI: {servers}  ·  {self.ctx.config.home}"

    def _show_selected(self) -> None:
        selection = self.tree.selection()
        record = self._records.get(selection[0]) if selection else None
        text = json.dumps(record.data, indent=2, ensure_ascii=False) if record else ""
        self.detail.configure(state="normal")
        self.detail.delete("1.0", "end")
        self.detail.insert("1.0", text)
        self.detail.configure(state="disabled")


def _row(record: PromptRecord) -> tuple[str, ...]:
    updated = (iso(record.updated_at) or "")[:16].replace("T", " ")
    return (record.kind.value, record.title, record.status.value, str(record.take_count), updated)


def open_window(ctx: Context, banner: str = "") -> int:
    try:
        root = tk.Tk(className="Takeboard")
    except tk.TclError as exc:
        raise UserError(
            f"cannot open the window ({exc}) — run it in a desktop session, or use "
            "the command line (python main.py --help)"
        ) from None
    MainWindow(root, ctx)
    if banner:
        root.title(f"Takeboard — {banner}")
    root.mainloop()
    return 0
