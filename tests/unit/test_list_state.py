"""The prompt list's plain-Python state: no display needed."""

from __future__ import annotations

from app.list_state import (
    ALL,
    Filters,
    ListState,
    PromptActions,
    build_query,
    favorite_after_toggle,
    should_debounce,
    toggle_sort,
)
from core.models import MediaKind, PromptQuery, PromptStatus


def test_filters_build_the_query():
    assert build_query(Filters()) == PromptQuery(sort="id")  # newest first until asked
    query = build_query(
        Filters(
            search="  red   fox ", kind="video", status="error", tag=" sea ", favorites_only=True
        ),
        sort="title",
        descending=False,
    )
    assert query == PromptQuery(
        search="red fox",
        kind=MediaKind.VIDEO,
        status=PromptStatus.ERROR,
        tag="sea",
        favorite=True,
        sort="title",
        descending=False,
    )
    assert build_query(Filters(kind=ALL, status="", tag="  ")).kind is None


def test_sort_toggles_on_the_same_column_and_defaults_on_another():
    assert toggle_sort("updated", True, "updated") == ("updated", False)
    assert toggle_sort("updated", True, "title") == ("title", False)
    assert toggle_sort("title", False, "title") == ("title", True)
    assert toggle_sort("title", True, "updated") == ("updated", True)
    assert toggle_sort("title", True, "takes") == ("title", True)  # not sortable: no change


def test_changing_query_goes_back_to_top_but_same_query_does_not():
    state = ListState(visible=30, total=1000, offset=500)
    assert not state.update_filters(search="  ")  # blank search = same query
    assert state.offset == 500
    assert state.update_filters(search="fox")
    assert state.offset == 0
    state.offset = 100
    assert state.sort_by("status") and state.offset == 0
    assert state.query.sort == "status" and not state.query.descending
    assert not state.sort_by("takes")


def test_debounce_only_typed_fields():
    assert should_debounce("search") and should_debounce("tag")
    assert not should_debounce("kind") and not should_debounce("")


def test_offset_is_clamped_and_maps_to_the_scrollbar():
    state = ListState(visible=30, total=1000)
    assert state.scroll_to(5000) and state.offset == 970
    assert state.scrollbar() == (0.97, 1.0)
    assert not state.scroll_by(3)
    assert state.scroll_by(-1000) and state.offset == 0
    assert state.scrollbar() == (0.0, 0.03)
    assert state.offset_at(0.5) == 500 and state.offset_at(1.0) == 970
    short = ListState(visible=30, total=10)
    assert short.clamp(5) == 0 and short.scrollbar() == (0.0, 1.0)
    assert ListState(total=0).scrollbar() == (0.0, 1.0)


def test_selection_is_found_by_id_on_the_page():
    state = ListState(visible=3, total=100, offset=10, ids=[7, 8, 9], selected_id=8)
    assert state.row_of(8) == 1 and state.row_of(42) is None and state.row_of(None) is None
    assert state.id_at(2) == 9 and state.id_at(3) is None and state.id_at(-1) is None


def test_moves_scroll_to_keep_the_target_shown():
    state = ListState(visible=3, total=100, offset=10, ids=[7, 8, 9], selected_id=9)
    assert state.move_target(1) == 13 and state.offset == 11  # one past the bottom row
    state.ids = [8, 9, 6]
    assert state.move_target(-1) == 11 and state.offset == 11  # still shown: no scroll
    state.ids, state.selected_id = [9, 6, 5], 9  # selected at row 0 (index 11)
    assert state.move_target(-3) == 8 and state.offset == 8
    assert state.jump_target(10_000) == 99 and state.offset == 97
    assert state.jump_target(-5) == 0 and state.offset == 0


def test_move_from_off_screen_selection_starts_at_the_first_shown_row():
    state = ListState(visible=3, total=100, offset=40, ids=[1, 2, 3], selected_id=999)
    assert state.move_target(1) == 40
    assert ListState(total=0).move_target(1) is None
    assert ListState(total=0).jump_target(0) is None


def test_a_recording_object_satisfies_the_actions_protocol():
    class Actions:
        def __init__(self):
            self.calls = []

        def __getattr__(self, name):
            return lambda *args, **kw: self.calls.append((name, args, kw))

    actions: PromptActions = Actions()
    actions.generate([1], quality="high")
    assert actions.calls == [("generate", ([1],), {"quality": "high"})]
    names = {"generate", "duplicate", "cancel_jobs", "toggle_favorite", "add_tag", "open_folder"}
    names |= {"copy_text", "delete", "open_editor"}
    assert names <= set(vars(PromptActions))


def test_click_ctrl_click_and_shift_click_build_the_selection():
    state = ListState(visible=3, total=100, offset=10, ids=[7, 8, 9])
    state.select_only(8, 11)
    assert (state.selected_ids(), state.selected_id, state.anchor) == ([8], 8, 11)
    state.toggle(9, 12)
    assert state.selected_ids() == [8, 9] and state.selected_id == 9
    state.toggle(9, 12)  # again: out, the current one is the last still selected
    assert state.selected_ids() == [8] and state.selected_id == 8
    assert state.range_to(40) == (12, 29)  # from the last Ctrl-click's row
    assert state.range_to(2) == (2, 11)
    state.select_range([5, 6, 7], 6)
    assert state.selected_ids() == [5, 6, 7] and state.selected_id == 6
    state.select_range([5, 6], 99)  # the clicked one vanished meanwhile: the last one
    assert state.selected_id == 6
    state.select_only(None)
    assert state.selected_ids() == [] and state.selected_id is None


def test_favorite_on_a_selection_sets_all_unless_all_are():
    assert favorite_after_toggle([True, False]) is True
    assert favorite_after_toggle([True, True]) is False
    assert favorite_after_toggle([False]) is True
