"""The prompt list's thumbnail column and choose filters on a real Tk root over a real library
(issue 14, part D): a prompt with a circled take shows that take's picture (decoded on a worker),
the others their kind; '◎ circled' and 'Rated ≥' narrow the list."""

from __future__ import annotations

import pytest
from PIL import Image

from app.views.prompt_list import PromptList
from tests.gui.conftest import pump
from tests.gui.test_prompt_list import RecordingActions
from tests.waiting import wait_for


@pytest.fixture
def chosen(ctx, home):
    """Three prompts: one with a circled take (a real JPEG preview), one rated 4, one plain."""
    (home / "thumbnails").mkdir()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(home / "thumbnails" / "fox.jpg")
    circled, rated, plain = (ctx.prompts.add("image", t, {"prompt": t}) for t in "CRP")
    take = ctx.artifacts.add(prompt_id=circled.id, kind="image", path="a/fox.png",
                             sha256="1", size=1, preview_path="thumbnails/fox.jpg")  # fmt: skip
    ctx.artifacts.circle(take.id)
    other = ctx.artifacts.add(prompt_id=rated.id, kind="image", path="a/r.png", sha256="2", size=1)
    ctx.artifacts.rate([other.id], 4)
    ctx.artifacts.add(prompt_id=plain.id, kind="image", path="a/p.png", sha256="3", size=1)
    return {"C": circled.id, "R": rated.id, "P": plain.id}


@pytest.fixture
def view(root, ctx, home, chosen) -> PromptList:
    widget = PromptList(root, ctx.prompts, RecordingActions(), home=home)
    widget.pack(fill="both", expand=True)
    pump(root)
    return widget


def row_of(view: PromptList, title: str) -> str:
    return next(s for s in view.tree.get_children() if view.tree.set(s, "title") == title)


def picture_shown(root, view: PromptList, title: str) -> bool:
    pump(root)
    image = view.tree.item(row_of(view, title), "image")
    photo = view.thumbs.photos.get("thumbnails/fox.jpg")
    return bool(image) and photo is not None and str(image[0]) == str(photo)


def test_the_circled_take_shows_in_the_thumbnail_column(root, view):
    assert wait_for(lambda: picture_shown(root, view, "C"), 10)
    photo = view.thumbs.photos["thumbnails/fox.jpg"]
    assert photo.width() <= 36 and photo.height() <= view._row_height()
    assert view.tree.item(row_of(view, "P"), "text") == "▣"  # no circle: the kind sign
    assert not view.tree.item(row_of(view, "P"), "image")


def test_circling_later_shows_after_update_rows(root, view, ctx, chosen):
    take = ctx.artifacts.for_prompt(chosen["P"])[0]
    ctx.artifacts.set_preview(take.id, "thumbnails/fox.jpg")
    ctx.artifacts.circle(take.id)
    view.update_rows()
    assert wait_for(lambda: picture_shown(root, view, "P"), 10)


def test_a_missing_preview_keeps_the_kind(root, view, ctx, chosen, home):
    (home / "thumbnails" / "fox.jpg").unlink()
    take = ctx.artifacts.for_prompt(chosen["R"])[0]
    ctx.artifacts.set_preview(take.id, "thumbnails/gone.jpg")
    ctx.artifacts.circle(take.id)
    view.update_rows()
    assert wait_for(lambda: pump(root) or "thumbnails/gone.jpg" in view.thumbs._failed, 10)
    assert view.tree.item(row_of(view, "R"), "text") == "▣"


def test_circled_and_rated_filters(root, view):
    assert view.total == 3
    view.circled_check.invoke()
    pump(root)
    assert (view.total, view.tree.set(view.tree.get_children()[0], "title")) == (1, "C")
    view.circled_check.invoke()
    view.rating_var.set("4")
    view.rating_box.event_generate("<<ComboboxSelected>>")
    pump(root)
    assert (view.total, view.tree.set(view.tree.get_children()[0], "title")) == (1, "R")
    view.rating_var.set("5")
    view.rating_box.event_generate("<<ComboboxSelected>>")
    pump(root)
    assert view.total == 0


def test_a_picture_arriving_after_its_row_was_removed_is_kept_quietly(root, ctx, home, chosen):
    view = PromptList(root, ctx.prompts, RecordingActions(), home=home)  # asks for the picture
    view.pack(fill="both", expand=True)
    view._set_slots(1)  # the window shrank: the circled prompt's row is gone before it arrives
    assert wait_for(lambda: pump(root) or "thumbnails/fox.jpg" in view.thumbs.photos, 10)
    assert view.tree.item(view.tree.get_children()[0], "text") == "▣"
