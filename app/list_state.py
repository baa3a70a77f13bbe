"""Plain-Python state of the prompt list (no tkinter): the query the filter widgets make, the
window of rows shown over the whole result (offset ↔ scrollbar), the selection kept by record ids
(one or many: click, Ctrl-click, Shift-click), sort toggling and the debounce decision. The view
(app/views/prompt_list.py) only draws it.

The list stays put: until the user clicks a heading it is in creation order, newest first (a new
prompt appears at the top, a status change moves nothing), and status changes rewrite the shown
rows in place instead of querying again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from core.models import MediaKind, PromptQuery, PromptStatus

SEARCH_DELAY_MS = 200
ALL = "All"
RATINGS = (ALL, "1", "2", "3", "4", "5")  # the "Rated ≥" filter's choices
SORTABLE = {
    "#0": "kind",
    "title": "title",
    "status": "status",
    "updated": "updated",
}  # "#0": the kind column
# A first click on a column sorts text A→Z and dates newest first.
FIRST_DESCENDING = {"updated": True, "created": True}
NEWEST_FIRST = "id"  # the order before any heading click: ids grow with creation, and are indexed


class PromptActions(Protocol):
    """What the prompt list asks of the application. Called on the Tk thread; must not block."""

    def generate(
        self, ids: Sequence[int], quality: str | None = None, new_seed: bool = True
    ) -> None: ...
    def duplicate(self, prompt_id: int) -> None: ...
    def cancel_jobs(self, prompt_id: int) -> None: ...
    def toggle_favorite(self, ids: Sequence[int]) -> None: ...
    def add_tag(self, ids: Sequence[int]) -> None: ...
    def open_folder(self, prompt_id: int) -> None: ...
    def copy_text(self, prompt_id: int) -> None: ...
    def delete(self, ids: Sequence[int]) -> None: ...
    def restore(self, prompt_id: int) -> None: ...
    def open_editor(self, prompt_id: int) -> None: ...


@dataclass(frozen=True)
class Filters:
    """The raw values of the filter widgets ("" or "All" = no filter)."""

    search: str = ""
    kind: str = ALL
    status: str = ALL
    tag: str = ""
    favorites_only: bool = False
    trash: bool = False  # show deleted prompts (to restore them) instead of the live ones
    circled_only: bool = False  # only prompts with a circled take
    min_rating: str = ALL  # "All", or "1".."5": only prompts with a take rated at least that


def _choice(value: str) -> str | None:
    value = value.strip()
    return None if not value or value == ALL else value


def build_query(filters: Filters, sort: str = NEWEST_FIRST, descending: bool = True) -> PromptQuery:
    kind, status = _choice(filters.kind), _choice(filters.status)
    return PromptQuery(
        search=" ".join(filters.search.split()),
        kind=MediaKind(kind) if kind else None,
        status=PromptStatus(status) if status else None,
        tag=filters.tag.strip() or None,
        favorite=True if filters.favorites_only else None,
        trash=filters.trash,
        circled=filters.circled_only,
        min_rating=int(_choice(filters.min_rating) or 0),
        sort=sort,
        descending=descending,
    )


def toggle_sort(sort: str, descending: bool, column: str) -> tuple[str, bool]:
    """Clicking the sorted column flips the direction; another column starts in its default."""
    key = SORTABLE.get(column)
    if key is None:
        return sort, descending
    if key == sort:
        return sort, not descending
    return key, FIRST_DESCENDING.get(key, False)


def favorite_after_toggle(favorites: Sequence[bool]) -> bool:
    """Favorite on a selection: all become favorites unless all already are."""
    return not all(favorites)


def should_debounce(changed_field: str) -> bool:
    """Typing (search, tag) waits SEARCH_DELAY_MS of quiet; choices apply at once."""
    return changed_field in ("search", "tag")


@dataclass
class ListState:
    visible: int = 30  # slot rows the view shows
    filters: Filters = field(default_factory=Filters)
    sort: str = NEWEST_FIRST
    descending: bool = True
    offset: int = 0  # result index of the first row shown
    total: int = 0
    ids: list[int] = field(default_factory=list)  # ids of the rows shown, top to bottom
    selected_id: int | None = None  # the current one (editor, takes); always in `selection`
    selection: list[int] = field(default_factory=list)  # every selected id, in selection order
    anchor: int | None = None  # result index a Shift-click extends from

    @property
    def query(self) -> PromptQuery:
        return build_query(self.filters, self.sort, self.descending)

    # --- query -------------------------------------------------------------------------------

    def set_filters(self, filters: Filters) -> bool:
        """True when the query changed (then the view goes back to the top)."""
        before = self.query
        self.filters = filters
        if self.query == before:
            return False
        self.offset = 0
        return True

    def update_filters(self, **values: object) -> bool:
        return self.set_filters(replace(self.filters, **values))

    def sort_by(self, column: str) -> bool:
        sort, descending = toggle_sort(self.sort, self.descending, column)
        changed = (sort, descending) != (self.sort, self.descending)
        self.sort, self.descending = sort, descending
        if changed:
            self.offset = 0
        return changed

    # --- scrolling ---------------------------------------------------------------------------

    def clamp(self, offset: int) -> int:
        return max(0, min(int(offset), self.total - self.visible))

    def scroll_to(self, offset: int) -> bool:
        """Move the first shown row; True when it moved."""
        new = self.clamp(offset)
        moved, self.offset = new != self.offset, new
        return moved

    def scroll_by(self, rows: int) -> bool:
        return self.scroll_to(self.offset + rows)

    def offset_at(self, fraction: float) -> int:
        """The offset for a scrollbar position (0.0 = top)."""
        return self.clamp(round(float(fraction) * self.total))

    def scrollbar(self) -> tuple[float, float]:
        if self.total <= 0:
            return 0.0, 1.0
        first = self.offset / self.total
        return first, min(1.0, (self.offset + self.visible) / self.total)

    # --- selection ---------------------------------------------------------------------------

    def select_only(self, prompt_id: int | None, index: int | None = None) -> None:
        """A plain click (or a key move): this one record, the anchor of later Shift-clicks."""
        self.selected_id = prompt_id
        self.selection = [] if prompt_id is None else [prompt_id]
        self.anchor = index

    def toggle(self, prompt_id: int, index: int) -> None:
        """Ctrl-click: add or remove one record; the current one is the last still selected."""
        if prompt_id in self.selection:
            self.selection.remove(prompt_id)
        else:
            self.selection.append(prompt_id)
        self.selected_id = prompt_id if prompt_id in self.selection else self._last()
        self.anchor = index

    def range_to(self, index: int) -> tuple[int, int]:
        """Shift-click at `index`: the (first, count) of result rows to select."""
        start = index if self.anchor is None else self.anchor
        return min(start, index), abs(index - start) + 1

    def select_range(self, ids: Sequence[int], current: int) -> None:
        """The rows a Shift-click spans (read by the view); the anchor stays."""
        self.selection = list(ids)
        self.selected_id = current if current in self.selection else self._last()

    def selected_ids(self) -> list[int]:
        return list(self.selection)

    def _last(self) -> int | None:
        return self.selection[-1] if self.selection else None

    def row_of(self, prompt_id: int | None) -> int | None:
        """The shown row (0-based) holding `prompt_id`, or None when it is not on screen."""
        return self.ids.index(prompt_id) if prompt_id in self.ids else None

    def id_at(self, row: int) -> int | None:
        return self.ids[row] if 0 <= row < len(self.ids) else None

    def move_target(self, delta: int) -> int | None:
        """Result index the selection moves to (Up/Down/PgUp/PgDn); scrolls to keep it shown.

        From a selection that is off screen (or none) the move starts at the first shown row.
        """
        if self.total <= 0:
            return None
        row = self.row_of(self.selected_id)
        target = self.offset if row is None else self.offset + row + delta
        return self.jump_target(target)

    def jump_target(self, index: int) -> int | None:
        """Scroll so result `index` (clamped) is shown; return the clamped index (Home/End)."""
        if self.total <= 0:
            return None
        index = max(0, min(index, self.total - 1))
        if index < self.offset:
            self.offset = index
        elif index >= self.offset + self.visible:
            self.offset = self.clamp(index - self.visible + 1)
        return index
