"""Choosing takes in the real window, with takes the engine made on the project's ComfyUI
protocol server (issue 14, part D): number keys rate the selected takes, Enter / * circle one
(the ring shows, and the prompt list's thumbnail column shows the circled take), the menu's
'Regenerate from this take' runs the take's own prompt version after the prompt was edited."""

from __future__ import annotations

import pytest

from app.application import Application
from tests.gui.conftest import pump, pump_until, wired
from tests.gui.test_gallery_queue_status import tile_centre
from tests.gui.test_viewer import click, key, takes_of


@pytest.fixture
def app(root, ctx, comfy_server):
    root.geometry("1280x800+0+0")
    application = Application(root, wired(ctx, comfy_server.url))
    pump(root)
    yield application
    application.stop_engine()
    application.bridge.stop()


def items(canvas, artifact_id: int, kind: str) -> list[int]:
    return [i for i in canvas.find_withtag(f"a{artifact_id}") if kind in canvas.gettags(i)]


def list_picture(app, prompt_id: int) -> str:
    """The image the prompt list's row of `prompt_id` shows ("" when none)."""
    for slot, record in app.prompts._shown.items():
        if record.id == prompt_id and slot in app.prompts.tree.get_children():
            image = app.prompts.tree.item(slot, "image")
            return str(image[0]) if image else ""
    return ""


def test_number_keys_rate_and_enter_circles_into_the_list(app, root, ctx):
    prompt = ctx.prompts.add("image", "Fox", {"prompt": "a red fox"})
    app.prompts.refresh()
    app.generate([prompt.id] * 2)
    first, second = takes_of(app, root, ctx, prompt.id, 2)
    canvas = app.gallery.canvas

    click(canvas, *tile_centre(app.gallery, first.id))
    key(root, canvas, "<KeyPress-4>")
    assert pump_until(root, lambda: ctx.artifacts.get(first.id).rating == 4)
    assert pump_until(root, lambda: bool(items(canvas, first.id, "stars")))
    assert canvas.itemcget(items(canvas, first.id, "stars")[-1], "text") == "★★★★☆"

    click(canvas, *tile_centre(app.gallery, second.id), modifier="Control-")
    key(root, canvas, "<KeyPress-2>")  # every selected take
    assert pump_until(root, lambda: [ctx.artifacts.get(t.id).rating for t in (first, second)]
                      == [2, 2])  # fmt: skip

    click(canvas, *tile_centre(app.gallery, first.id))
    key(root, canvas, "<KeyPress-Return>")
    assert pump_until(root, lambda: ctx.artifacts.get(first.id).circled)
    assert pump_until(root, lambda: bool(items(canvas, first.id, "ring")))
    preview = ctx.artifacts.get(first.id).preview_path
    assert pump_until(root, lambda: app.prompts.thumbs.photos.get(preview) is not None)
    assert pump_until(root, lambda: list_picture(app, prompt.id)
                      == str(app.prompts.thumbs.photos[preview]))  # fmt: skip

    click(canvas, *tile_centre(app.gallery, second.id))
    key(root, canvas, "<KeyPress-asterisk>")  # the circle moves to the second take
    assert pump_until(root, lambda: ctx.artifacts.get(second.id).circled)
    assert pump_until(root, lambda: not items(canvas, first.id, "ring"))
    assert not ctx.artifacts.get(first.id).circled
    key(root, canvas, "<KeyPress-Return>")  # again: uncircled
    assert pump_until(root, lambda: not items(canvas, second.id, "ring"))
    assert not ctx.artifacts.get(second.id).circled
    assert pump_until(root, lambda: list_picture(app, prompt.id) == str(app.icons.photo("image")))


def test_regenerate_from_this_take_runs_its_own_version_after_an_edit(app, root, ctx):
    prompt = ctx.prompts.add("image", "Fox", {"prompt": "a red fox"})
    app.generate([prompt.id])
    (take,) = takes_of(app, root, ctx, prompt.id, 1)
    ctx.prompts.update(prompt.id, data={"prompt": "a blue whale"})
    app.gallery.post_menu = lambda x_root, y_root: None
    x, y = tile_centre(app.gallery, take.id)
    app.gallery.canvas.event_generate("<Button-3>", x=x, y=y)
    app.gallery.menu.invoke("Circle as the take (Enter)")
    app.gallery.menu.invoke("Regenerate from this take")
    assert pump_until(root, lambda: len(ctx.artifacts.for_prompt(prompt.id)) == 2)
    again = ctx.artifacts.for_prompt(prompt.id)[0]
    assert again.metadata["prompt_version"] == 1
    assert again.metadata["values"]["prompt"] == "a red fox"
    assert again.metadata["seed"] == take.metadata["seed"]
    assert ctx.artifacts.get(take.id).circled
