"""The prompt list: a virtual ttk.Treeview over the prompts table, with search, filters and sort.

The tree holds only one "slot" item per visible row; scrolling rewrites the slots from a page read
straight from SQLite (~2 ms), so 100,000 prompts open as fast as 100. The selection is record ids
(ListState.selection, the current one ListState.selected_id), never tree items: clicks are handled
here, not by the Treeview, so a Shift-click range may span rows that are not on screen. Tk thread
only; the decisions live in app/list_state.py.
"""

from __future__ import annotations

import time
import tkinter as tk
from collections.abc import Callable, Collection
from pathlib import Path
from tkinter import ttk

from app.list_state import (
    SORTABLE,
    ListState,
    PromptActions,
)
from app.views.prompt_filters import FilterBar
from app.views.prompt_menu import PromptMenu
from app.views.row_thumbs import RowThumbnails
from core.errors import NotFound
from core.models import MediaKind, PromptRecord
from repositories.prompts import PromptRepository

COLUMNS = ("title", "status", "takes", "updated")  # the kind is the tree column "#0"
KIND = "#0"
HEADINGS = {
    KIND: "",
    "title": "Title",
    "status": "Status",
    "takes": "Takes",
    "updated": "Updated",
}
WIDTHS = {KIND: 40, "title": 320, "status": 90, "takes": 56, "updated": 130}
KIND_ICONS = {MediaKind.IMAGE: "▣", MediaKind.AUDIO: "♪", MediaKind.VIDEO: "▶"}
WHEEL_ROWS = 3
SelectCallback = Callable[[int | None], None]
KindIcon = Callable[[MediaKind], tk.PhotoImage]


def row_values(record: PromptRecord) -> tuple[str, ...]:
    star = "★ " if record.favorite else ""
    updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.updated_at))
    return (
        star + record.title,
        record.status.value,
        str(record.take_count),
        updated,
    )


class PromptList(FilterBar, PromptMenu, ttk.Frame):
    def __init__(
        self,
        parent: tk.Misc,
        prompts: PromptRepository,
        actions: PromptActions,
        *,
        rows: int = 30,
        kind_icon: KindIcon | None = None,
        home: Path | None = None,
    ):
        """`kind_icon(kind)`: the picture of a kind in the first column (else a text sign).
        With `home`, a prompt with a circled take shows that take's picture there instead."""
        super().__init__(parent)
        self.prompts, self.actions = prompts, actions
        self.kind_icon = kind_icon
        self.thumbs: RowThumbnails | None = None
        self._shown: dict[str, PromptRecord] = {}  # slot → the record written into it
        self.state = ListState(visible=rows)
        self._callbacks: list[SelectCallback] = []
        self._slots: list[str] = []
        self._detached: set[str] = set()
        self._pending: str | None = None
        self._menu_id: int | None = None
        self._build_filters()
        self._build_tree()
        if home is not None:
            box = (WIDTHS[KIND] - 4, self._row_height() - 2)
            self.thumbs = RowThumbnails(self, home, box, self._thumbnail_ready)
        self.menu = self._build_menu()
        self._set_slots(rows)

    # --- public API ------------------------------------------------------------------------------

    def on_select(self, callback: SelectCallback) -> None:
        """`callback(prompt_id or None)` whenever the selected record changes."""
        self._callbacks.append(callback)

    def selected_id(self) -> int | None:
        """The current record (the one the editor and the takes show)."""
        return self.state.selected_id

    def selected_ids(self) -> list[int]:
        """Every selected record, in the order they were selected (what selection actions use)."""
        return self.state.selected_ids()

    def select(self, prompt_id: int | None) -> None:
        """Select one record by id and scroll to it when it is among the first rows or on screen."""
        index = None
        if prompt_id is not None and self.state.row_of(prompt_id) is None:
            ids = [r.id for r in self.prompts.page(self.state.query, limit=500)]
            if prompt_id in ids:
                index = self.state.jump_target(ids.index(prompt_id))
        self._select_only(prompt_id, index)
        if index is None:  # the page stays: only the highlight moves
            self._show_selection()
        else:
            self._show_page()

    def refresh(self) -> None:
        """Re-read the count and the current page (after data changes or a new query)."""
        self.state.total = self.prompts.count(self.state.query)
        self._show_page()

    def update_rows(self, prompt_ids: Collection[int] | None = None) -> None:
        """Rewrite the shown rows (of `prompt_ids`, else all) in place from the database (after
        status, take or favorite changes): nothing moves; the order changes only when the user
        asks for it."""
        for slot, prompt_id in zip(self._slots, self.state.ids, strict=False):
            if prompt_ids is not None and prompt_id not in prompt_ids:
                continue
            try:
                record = self.prompts.get(prompt_id, include_trash=True)
            except NotFound:
                continue
            self._write_row(slot, record)

    @property
    def total(self) -> int:
        return self.state.total

    # --- building --------------------------------------------------------------------------------

    def _build_tree(self) -> None:
        body = ttk.Frame(self)
        body.pack(side="top", fill="both", expand=True)
        tree = ttk.Treeview(
            body,
            columns=COLUMNS,
            show=("tree", "headings"),
            selectmode="extended",
            height=self.state.visible,
        )
        for name in (KIND, *COLUMNS):
            sortable = name in SORTABLE
            tree.heading(name, text=HEADINGS[name], command=self._sorter(name) if sortable else "")
            tree.column(
                name, width=WIDTHS[name], stretch=name == "title", anchor="w" if sortable else "e"
            )
        tree.column(KIND, anchor="center", minwidth=WIDTHS[KIND])
        self.scrollbar = ttk.Scrollbar(body, orient="vertical", command=self._on_scrollbar)
        self.scrollbar.pack(side="right", fill="y")
        tree.pack(side="left", fill="both", expand=True)
        tree.bind("<<TreeviewSelect>>", self._on_tree_select)
        tree.bind("<Button-1>", lambda e: self._on_click(e, "only"))
        tree.bind("<Control-Button-1>", lambda e: self._on_click(e, "toggle"))
        tree.bind("<Shift-Button-1>", lambda e: self._on_click(e, "range"))
        tree.bind("<Configure>", self._on_resize)
        tree.bind("<Double-Button-1>", self._on_double)
        tree.bind("<Button-3>", self._on_right_click)
        tree.bind("<Button-4>", lambda _e: self._scroll(-WHEEL_ROWS))
        tree.bind("<Button-5>", lambda _e: self._scroll(WHEEL_ROWS))
        tree.bind(
            "<MouseWheel>", lambda e: self._scroll(-WHEEL_ROWS if e.delta > 0 else WHEEL_ROWS)
        )
        for key, delta in (("<Up>", -1), ("<Down>", 1)):
            tree.bind(key, lambda _e, d=delta: self._move(d))
        for key, delta in (("<Shift-Up>", -1), ("<Shift-Down>", 1)):
            tree.bind(key, lambda _e, d=delta: self._extend(d))
        tree.bind("<Prior>", lambda _e: self._move(-self.state.visible))
        tree.bind("<Next>", lambda _e: self._move(self.state.visible))
        tree.bind("<Home>", lambda _e: self._jump(0))
        tree.bind("<End>", lambda _e: self._jump(self.state.total - 1))
        self.tree = tree
        self._update_headings()

    def _sorter(self, column: str) -> Callable[[], None]:
        return lambda: self.sort_by(column)

    # --- slots and pages ---------------------------------------------------------------------

    def _set_slots(self, count: int) -> None:
        while len(self._slots) < count:
            self._slots.append(self.tree.insert("", "end", values=()))
        while len(self._slots) > count:
            slot = self._slots.pop()
            self._detached.discard(slot)
            self._shown.pop(slot, None)
            self.tree.delete(slot)
        self.state.visible = count
        self.refresh()

    def _row_height(self) -> int:
        return int(ttk.Style(self).lookup("Treeview", "rowheight") or 20)

    def _on_resize(self, event: tk.Event) -> None:
        row_height = self._row_height()
        first = self.tree.bbox(self._slots[0]) if self._slots else ""
        heading = first[1] if first else row_height + 4
        count = max(1, (event.height - heading) // row_height)
        if count != len(self._slots):
            self._set_slots(count)

    def _show_page(self) -> None:
        state = self.state
        state.offset = state.clamp(state.offset)
        records = self.prompts.page(state.query, limit=state.visible, offset=state.offset)
        state.ids = [record.id for record in records]
        for row, slot in enumerate(self._slots):
            if row < len(records):
                self._write_row(slot, records[row])
                if slot in self._detached:
                    self.tree.reattach(slot, "", row)
                    self._detached.discard(slot)
            elif slot not in self._detached:
                self.tree.detach(slot)
                self._detached.add(slot)
        self._show_selection()
        self.scrollbar.set(*state.scrollbar())
        self.count_var.set(f"{state.total:,} prompts")

    def _show_selection(self) -> None:
        """The selected rows highlighted, the current one focused (the page as it is)."""
        state = self.state
        shown = [self._slots[row] for row, i in enumerate(state.ids) if i in state.selection]
        self.tree.selection_set(shown)
        row = state.row_of(state.selected_id)
        if row is not None:
            self.tree.focus(self._slots[row])

    def _write_row(self, slot: str, record: PromptRecord) -> None:
        self._shown[slot] = record
        picture = self._picture(record)
        if picture is not None:
            self.tree.item(slot, text="", image=picture, values=row_values(record))
        elif self.kind_icon is None:
            self.tree.item(slot, text=KIND_ICONS.get(record.kind, "?"), values=row_values(record))
        else:
            image = self.kind_icon(record.kind)
            self.tree.item(slot, text="", image=image, values=row_values(record))

    def _picture(self, record: PromptRecord) -> tk.PhotoImage | None:
        """The circled take's picture when there is one and it is loaded (else it loads)."""
        if self.thumbs is None or not record.circled_preview:
            return None
        return self.thumbs.photo(record.circled_preview)

    def _thumbnail_ready(self, preview_path: str) -> None:
        for slot, record in self._shown.items():
            if record.circled_preview == preview_path and slot not in self._detached:
                self._write_row(slot, record)

    def _scroll(self, rows: int) -> str:
        if self.state.scroll_by(rows):
            self._show_page()
        return "break"

    def _on_scrollbar(self, *args: str) -> None:
        if args[0] == "moveto":
            moved = self.state.scroll_to(self.state.offset_at(float(args[1])))
        else:
            step = self.state.visible if args[2].startswith("page") else 1
            moved = self.state.scroll_by(int(args[1]) * step)
        if moved:
            self._show_page()

    # --- selection -----------------------------------------------------------------------------

    def _selection_changed(self, before: int | None) -> None:
        """Tell the listeners when the current record changed; redraw the selection."""
        self._show_page()
        if self.state.selected_id != before:
            for callback in self._callbacks:
                callback(self.state.selected_id)

    def _select_only(self, prompt_id: int | None, index: int | None) -> None:
        before = self.state.selected_id
        self.state.select_only(prompt_id, index)
        if prompt_id != before:
            for callback in self._callbacks:
                callback(prompt_id)

    def _id_of_slot(self, slot: str) -> int | None:
        return self.state.id_at(self._slots.index(slot)) if slot in self._slots else None

    def _on_tree_select(self, _event: tk.Event) -> None:
        # Our own selection_set() calls land here too: they match the state and change nothing.
        # A selection made another way (the Treeview's own keys) becomes the state's.
        ids = [i for i in map(self._id_of_slot, self.tree.selection()) if i is not None]
        if set(ids) == {i for i in self.state.ids if i in self.state.selection}:
            return
        before = self.state.selected_id
        focus = self._id_of_slot(self.tree.focus())
        self.state.select_only(None)
        self.state.select_range(ids, focus if focus in ids else ids[-1] if ids else None)
        self._selection_changed(before)

    def _on_click(self, event: tk.Event, how: str) -> str | None:
        """Plain, Ctrl- and Shift-click on a row; headings and separators keep their bindings."""
        if self.tree.identify_region(event.x, event.y) not in ("cell", "tree"):
            return None
        row = self._slots.index(s) if (s := self.tree.identify_row(event.y)) in self._slots else -1
        prompt_id = self.state.id_at(row)
        self.tree.focus_set()
        if prompt_id is None:
            return "break"
        before, index = self.state.selected_id, self.state.offset + row
        if how == "toggle":
            self.state.toggle(prompt_id, index)
        elif how == "range":
            self._select_range(index, prompt_id)
        else:
            self.state.select_only(prompt_id, index)
        self._selection_changed(before)
        return "break"

    def _select_range(self, index: int, current: int) -> None:
        first, count = self.state.range_to(index)
        records = self.prompts.page(self.state.query, limit=count, offset=first)
        self.state.select_range([record.id for record in records], current)

    def _extend(self, delta: int) -> str:
        """Shift+Up/Down: grow or shrink the range from the anchor by one row."""
        index = self.state.move_target(delta)
        if index is None:
            return "break"
        records = self.prompts.page(self.state.query, limit=1, offset=index)
        if records:
            before = self.state.selected_id
            if self.state.anchor is None:
                self.state.anchor = index - delta
            self._select_range(index, records[0].id)
            self._selection_changed(before)
        return "break"

    def _move(self, delta: int) -> str:
        self._select_index(self.state.move_target(delta))
        return "break"

    def _jump(self, index: int) -> str:
        self._select_index(self.state.jump_target(index))
        return "break"

    def _select_index(self, index: int | None) -> None:
        if index is None:
            return
        records = self.prompts.page(self.state.query, limit=1, offset=index)
        self._select_only(records[0].id if records else None, index)
        self._show_page()

    # --- mouse -----------------------------------------------------------------------------------

    def _on_double(self, event: tk.Event) -> str | None:
        if self.tree.identify_region(event.x, event.y) not in ("cell", "tree"):
            return None
        prompt_id = self._id_of_slot(self.tree.identify_row(event.y))
        if prompt_id is not None:
            self.actions.open_editor(prompt_id)
        return "break"

    def _on_right_click(self, event: tk.Event) -> None:
        """The menu acts on the selection when the row is part of it, else on that row alone."""
        slot = self.tree.identify_row(event.y)
        prompt_id = self._id_of_slot(slot)
        if prompt_id is None:
            return
        if prompt_id not in self.state.selection:
            self._select_only(prompt_id, self.state.offset + self._slots.index(slot))
        self._show_page()
        self._menu_id = prompt_id
        self.post_menu(event.x_root, event.y_root)

    def sort_by(self, column: str) -> None:
        """What a heading click does: sort by `column`, or flip the order when sorted by it."""
        if self.state.sort_by(column):
            self._update_headings()
            self._show_page()

    def _update_headings(self) -> None:
        arrow = " ▼" if self.state.descending else " ▲"
        for name in (KIND, *COLUMNS):
            mark = arrow if SORTABLE.get(name) == self.state.sort else ""
            self.tree.heading(name, text=HEADINGS[name] + mark)

    def destroy(self) -> None:
        if self._pending:
            self.after_cancel(self._pending)
            self._pending = None
        if self.thumbs is not None:
            self.thumbs.close()
        super().destroy()
