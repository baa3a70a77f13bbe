"""The prompt list on a real Tk root (Xvfb) over a real SQLite file, with a recording fake for
its actions port."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from app.list_state import SEARCH_DELAY_MS
from app.views.prompt_list import PromptList
from core.models import PromptStatus
from tests.gui.conftest import pump

KINDS = ("image", "audio", "video")


class RecordingActions:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def generate(self, ids: Sequence[int], quality: str | None = None, new_seed: bool = True):
        self.calls.append(("generate", list(ids), quality, new_seed))

    def duplicate(self, prompt_id: int) -> None:
        self.calls.append(("duplicate", prompt_id))

    def cancel_jobs(self, prompt_id: int) -> None:
        self.calls.append(("cancel_jobs", prompt_id))

    def toggle_favorite(self, ids: Sequence[int]) -> None:
        self.calls.append(("toggle_favorite", list(ids)))

    def add_tag(self, ids: Sequence[int]) -> None:
        self.calls.append(("add_tag", list(ids)))

    def open_folder(self, prompt_id: int) -> None:
        self.calls.append(("open_folder", prompt_id))

    def copy_text(self, prompt_id: int) -> None:
        self.calls.append(("copy_text", prompt_id))

    def delete(self, ids: Sequence[int]) -> None:
        self.calls.append(("delete", list(ids)))

    def restore(self, prompt_id: int) -> None:
        self.calls.append(("restore", prompt_id))

    def open_editor(self, prompt_id: int) -> None:
        self.calls.append(("open_editor", prompt_id))


def _item(n: int) -> dict:
    kind = KINDS[n % 3]
    words = "a zebra at dusk" if n % 100 == 0 else f"plain prompt number {n}"
    data = {"lyrics": words} if kind == "audio" else {"prompt": words}
    return {"kind": kind, "title": f"P{n:04d}", "data": data, "favorite": n % 50 == 0}


@pytest.fixture
def ids(ctx) -> list[int]:
    return ctx.prompts.add_many(_item(n) for n in range(2000))


@pytest.fixture
def actions() -> RecordingActions:
    return RecordingActions()


@pytest.fixture
def view(root, ctx, ids, actions) -> PromptList:
    widget = PromptList(root, ctx.prompts, actions)
    widget.pack(fill="both", expand=True)
    pump(root)
    return widget


def titles(view: PromptList) -> list[str]:
    return [view.tree.set(slot, "title").removeprefix("★ ") for slot in view.tree.get_children()]


def row_xy(view: PromptList, row: int) -> tuple[int, int]:
    x, y, _w, h = view.tree.bbox(view.tree.get_children()[row], "title")
    return x + 5, y + h // 2


def test_only_the_visible_rows_exist_and_end_shows_the_oldest(view, root, ids):
    rows = len(view.tree.get_children())
    assert 20 <= rows <= 40
    assert view.total == 2000 and view.count_var.get() == "2,000 prompts"
    assert titles(view)[0] == "P1999"
    view._on_scrollbar("moveto", "1.0")
    pump(root)
    assert titles(view)[-1] == "P0000"
    assert len(view.tree.get_children()) == rows
    first, last = (float(f) for f in view.scrollbar.get())
    assert last == 1.0 and first == pytest.approx(1 - rows / 2000)
    view.tree.event_generate("<Button-4>")  # wheel up: 3 rows
    pump(root)
    assert titles(view)[-1] == "P0003"


def test_search_narrows_after_the_debounce(view, root):
    view.search_var.set("zebra")
    pump(root)
    assert view.total == 2000  # not yet: debounced
    pump(root, SEARCH_DELAY_MS + 80)
    assert view.total == 20
    assert titles(view)[:2] == ["P1900", "P1800"]
    assert len(view.tree.get_children()) == 20


def test_kind_status_and_favorite_filters(view, root, ctx, ids):
    view.kind_var.set("audio")
    view.kind_box.event_generate("<<ComboboxSelected>>")
    pump(root)
    assert view.total == 667 and view.tree.item(view.tree.get_children()[0], "text") == "♪"

    view.kind_var.set("All")
    ctx.prompts.set_status(ids[5], PromptStatus.ERROR)
    ctx.prompts.set_status(ids[7], PromptStatus.ERROR)
    view.status_var.set("error")
    view.status_box.event_generate("<<ComboboxSelected>>")
    pump(root)
    assert sorted(titles(view)) == ["P0005", "P0007"]

    view.status_var.set("All")
    view.favorites_check.invoke()
    pump(root)
    assert view.total == 40 and all(
        view.tree.set(s, "title").startswith("★") for s in view.tree.get_children()
    )


def test_heading_click_sorts_and_toggles(view, root):
    tree = view.tree
    x = sum(int(tree.column(c, "width")) for c in ("#0",)) + 20  # inside the Title heading
    for event in ("<ButtonPress-1>", "<ButtonRelease-1>"):
        tree.event_generate(event, x=x, y=5)
    pump(root)
    assert tree.identify_region(x, 5) == "heading"
    assert titles(view)[:2] == ["P0000", "P0001"] and "▲" in tree.heading("title", "text")
    for event in ("<ButtonPress-1>", "<ButtonRelease-1>"):
        tree.event_generate(event, x=x, y=5)
    pump(root)
    assert titles(view)[:2] == ["P1999", "P1998"] and "▼" in tree.heading("title", "text")


def test_double_click_opens_the_editor(view, root, ids, actions):
    x, y = row_xy(view, 2)
    for event in ("<ButtonPress-1>", "<ButtonRelease-1>") * 2:
        view.tree.event_generate(event, x=x, y=y)
    pump(root)
    assert view.selected_id() == ids[1997]
    assert actions.calls == [("open_editor", ids[1997])]


def test_right_click_menu_calls_the_actions(view, root, ids, actions, monkeypatch):
    posted = []
    monkeypatch.setattr(view, "post_menu", lambda x, y: posted.append((x, y)))
    x, y = row_xy(view, 1)
    view.tree.event_generate("<Button-3>", x=x, y=y)
    pump(root)
    assert posted and view.selected_id() == ids[1998]
    view.menu.invoke("Generate")
    view.menu.invoke("Regenerate (new seed)")
    view.tier_menu.invoke("premium")
    view.menu.invoke("Copy prompt text")
    view.menu.invoke("Delete")
    pump(root)
    target = ids[1998]
    assert actions.calls == [
        ("generate", [target], None, False),
        ("generate", [target], None, True),
        ("generate", [target], "premium", True),
        ("copy_text", target),
        ("delete", [target]),
    ]


def test_keys_move_the_selection_by_id(view, root, ids):
    seen: list[int | None] = []
    view.on_select(seen.append)
    view.select(ids[1999])
    view.tree.focus_force()
    pump(root)
    view.tree.event_generate("<Down>")
    pump(root)
    assert view.selected_id() == ids[1998] and seen == [ids[1999], ids[1998]]
    rows = len(view.tree.get_children())
    view.tree.event_generate("<Next>")
    view.tree.event_generate("<Next>")
    pump(root)
    assert view.selected_id() == ids[1998 - 2 * rows]
    assert view.tree.selection() and titles(view)[-1] == f"P{1998 - 2 * rows:04d}"
    view.tree.event_generate("<End>")
    pump(root)
    assert view.selected_id() == ids[0] and titles(view)[-1] == "P0000"
    view.tree.event_generate("<Up>")
    pump(root)
    assert view.selected_id() == ids[1]
    view.tree.event_generate("<Home>")
    pump(root)
    assert view.selected_id() == ids[1999] and titles(view)[0] == "P1999"


def test_selection_survives_scrolling_and_refresh(view, root, ctx, ids):
    view.select(ids[1995])
    pump(root)
    view._on_scrollbar("moveto", "0.5")
    pump(root)
    assert view.tree.selection() == () and view.selected_id() == ids[1995]
    ctx.prompts.add("image", "Newest", {"prompt": "new"})
    view._on_scrollbar("moveto", "0")
    view.refresh()
    pump(root)
    assert view.total == 2001 and titles(view)[0] == "Newest"
    assert view.tree.set(view.tree.selection()[0], "title") == "P1995"


def click(view: PromptList, row: int, modifier: str = "") -> None:
    x, y = row_xy(view, row)
    view.tree.event_generate(f"<{modifier}ButtonPress-1>", x=x, y=y)
    view.tree.event_generate(f"<{modifier}ButtonRelease-1>", x=x, y=y)


def test_shift_and_ctrl_click_select_many_and_the_menu_acts_on_all(
    view, root, ids, actions, monkeypatch
):
    seen: list[int | None] = []
    view.on_select(seen.append)
    click(view, 1)
    click(view, 3, "Shift-")
    pump(root)
    assert view.selected_ids() == [ids[1998], ids[1997], ids[1996]]
    assert len(view.tree.selection()) == 3 and view.selected_id() == ids[1996]
    click(view, 2, "Control-")  # Ctrl-click on a selected row takes it out
    click(view, 6, "Control-")
    pump(root)
    assert view.selected_ids() == [ids[1998], ids[1996], ids[1993]]
    assert seen == [ids[1998], ids[1996], ids[1993]]

    monkeypatch.setattr(view, "post_menu", lambda x, y: None)
    x, y = row_xy(view, 1)
    view.tree.event_generate("<Button-3>", x=x, y=y)  # a selected row: the menu keeps them all
    view.menu.invoke("Generate")
    view.tier_menu.invoke("high")
    view.menu.invoke("Favorite")
    view.menu.invoke("Add tag…")
    view.menu.invoke("Delete")
    chosen = [ids[1998], ids[1996], ids[1993]]
    assert actions.calls == [
        ("generate", chosen, None, False),
        ("generate", chosen, "high", True),
        ("toggle_favorite", chosen),
        ("add_tag", chosen),
        ("delete", chosen),
    ]
    x, y = row_xy(view, 0)
    view.tree.event_generate("<Button-3>", x=x, y=y)  # outside the selection: that row alone
    pump(root)
    assert view.selected_ids() == [ids[1999]]


def test_a_shift_click_range_spans_rows_scrolled_away(view, root, ids):
    rows = len(view.tree.get_children())
    click(view, 0)
    view._on_scrollbar("moveto", str(2 * rows / 2000))
    pump(root)
    click(view, 1, "Shift-")  # another row than the first click: no double-click
    pump(root)
    assert view.selected_ids() == ids[1998 - 2 * rows : 2000][::-1]
    view.tree.focus_force()
    view.tree.event_generate("<Shift-Down>")
    pump(root)
    assert len(view.selected_ids()) == 2 * rows + 3
    view.tree.event_generate("<Down>")  # a plain move: one again
    pump(root)
    assert view.selected_ids() == [ids[1998 - 2 * rows - 2]]


def test_status_changes_update_rows_in_place(view, root, ctx, ids):
    """The list is newest first until a heading is clicked: a status change (which touches
    'updated') rewrites the row where it is instead of moving it to the top."""
    before = titles(view)
    ctx.prompts.set_status(ids[1995], PromptStatus.PROCESSING)
    view.update_rows()
    pump(root)
    assert titles(view) == before
    assert view.tree.set(view.tree.get_children()[4], "status") == "processing"
    view.refresh()  # F5, a save: still no re-sort, since the user asked for none
    pump(root)
    assert titles(view) == before
