"""Variations (issue 14, part E) in the real window under Xvfb, against the project's ComfyUI
protocol server: the dialog queues a grid (or N new seeds) as one batch on a worker, a bad value
is one line and queues nothing, the gallery keeps a batch's takes together, and the batch opens
as a labelled grid that saves as one image."""

from __future__ import annotations

import pytest
from PIL import Image

from core.models import MediaKind
from tests.gui.conftest import pump, pump_until


@pytest.fixture
def comfy_profile() -> str:
    return "current"


def selected_prompt(app, ctx, root) -> int:
    data = {"prompt": "a lighthouse", "params": {"width": 64, "height": 64}}
    record = ctx.prompts.add(MediaKind.IMAGE, "Lighthouse", data)
    app.prompts.refresh()
    app.prompts.select(record.id)
    pump(root)
    return record.id


def test_grid_is_one_batch_grouped_and_saved_as_a_labelled_image(app, root, ctx, tmp_path):
    prompt_id = selected_prompt(app, ctx, root)
    dialog = app.variations()
    dialog.mode.set("grid")
    (steps_name, steps_values), (cfg_name, cfg_values) = dialog.axes
    steps_name.set("steps")
    steps_values.set("12, 20")
    cfg_name.set("cfg")
    cfg_values.set("4,7")
    dialog.queue_button.invoke()
    assert pump_until(root, lambda: not dialog.winfo_exists())
    assert pump_until(root, lambda: len(ctx.artifacts.for_prompt(prompt_id)) == 4)
    takes = ctx.artifacts.for_prompt(prompt_id)
    assert len({take.metadata["batch"]["id"] for take in takes}) == 1

    ctx.artifacts.add(prompt_id=prompt_id, kind="image", path="single.png", sha256="0", size=1)
    app.gallery.show_prompt(prompt_id)
    cells = [
        tuple(r.metadata["batch"]["cell"]) for r in app.gallery.records if "batch" in r.metadata
    ]
    assert cells == [(0, 0), (0, 1), (1, 0), (1, 1)]  # together, cell by cell

    in_batch = next(r for r in app.gallery.records if "batch" in r.metadata)
    grid = app.show_batch(in_batch)
    assert pump_until(root, lambda: len(grid.photos) == 4)
    assert grid.layout.row_labels == ("steps 12", "steps 20")
    assert grid.layout.column_labels == ("cfg 4.0", "cfg 7.0")
    target = tmp_path / "grid.png"
    grid.save(target)
    assert pump_until(root, lambda: "Saved" in grid.message.cget("text"))
    with Image.open(target) as image:
        assert image.width > 2 * 256 and image.height > 2 * 256
    grid.destroy()


def test_a_take_outside_any_batch_says_how_to_make_one(app, root, ctx):
    prompt_id = selected_prompt(app, ctx, root)
    take = ctx.artifacts.add(prompt_id=prompt_id, kind="image", path="x.png", sha256="0", size=1)
    assert app.show_batch(take) is None
    assert app.gallery.canvas.find_withtag("hint")


def test_new_seeds_and_a_bad_value(app, root, ctx):
    prompt_id = selected_prompt(app, ctx, root)
    dialog = app.variations()
    dialog.mode.set("grid")
    dialog.axes[0][0].set("steps")
    dialog.axes[0][1].set("ten")
    dialog.queue_button.invoke()
    assert "'ten' is not a whole number" in dialog.message.cget("text")
    assert "--grid" not in dialog.message.cget("text")
    assert ctx.jobs.list(prompt_id=prompt_id) == []
    dialog.mode.set("seeds")
    dialog.count.set("3")
    dialog.queue_button.invoke()
    assert pump_until(root, lambda: not dialog.winfo_exists())
    jobs = ctx.jobs.list(prompt_id=prompt_id)
    assert len(jobs) == 3 and len({job.spec.batch["id"] for job in jobs}) == 1
    assert len({job.spec.overrides["seed"] for job in jobs}) == 3


def test_batch_tiles_show_their_cell(app, root, ctx):
    prompt_id = selected_prompt(app, ctx, root)
    axes = [{"name": "steps", "values": [12, 20]}, {"name": "cfg", "values": [4.0]}]
    for cell in ([0, 0], [1, 0]):
        batch = {"id": "abc", "axes": axes, "cell": cell}
        ctx.artifacts.add(
            prompt_id=prompt_id, kind="image", path=f"x{cell[0]}.png", sha256="0", size=1,
            metadata={"batch": batch},
        )  # fmt: skip
    app.gallery.show_prompt(prompt_id)
    canvas = app.gallery.canvas
    labels = [i for i in canvas.find_withtag("batch") if canvas.type(i) == "text"]
    texts = [canvas.itemcget(i, "text") for i in labels]
    assert "▦ steps 12 · cfg 4.0" in texts and "▦ steps 20 · cfg 4.0" in texts
