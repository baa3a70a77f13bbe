"""The take viewer and compare in the real window, with takes made by the engine on the project's
ComfyUI protocol server: double-click → viewer, arrows step, zoom keys, Copy seed, Regenerate
with this seed (a real job), Escape back; select 3 takes → C → compare with 3 panes and a table
of only the settings that differ."""

from __future__ import annotations

import pytest
from PIL import Image

from app.application import Application
from app.views.audio_panel import AudioPanel
from app.views.compare import CompareView
from app.views.viewer import TakeViewer
from tests.audio_files import write_tone
from tests.gui.conftest import pump, pump_until, wired
from tests.gui.test_gallery_queue_status import Recorder, tile_centre


@pytest.fixture
def app(root, ctx, comfy_server):
    root.geometry("1280x800+0+0")
    application = Application(root, wired(ctx, comfy_server.url))
    pump(root)
    yield application
    application.stop_engine()
    application.bridge.stop()


def takes_of(app, root, ctx, prompt_id: int, count: int) -> list:
    """Wait for `count` takes, show them in the gallery with their thumbnails."""
    assert pump_until(root, lambda: len(ctx.artifacts.for_prompt(prompt_id)) == count)
    app.tabs.select(app.gallery)
    app.gallery.show_prompt(prompt_id)
    assert pump_until(root, lambda: len(app.gallery.canvas.find_withtag("thumb")) == count)
    return app.gallery.records


CLOCK = iter(range(10_000, 10**9, 1000))  # event times a second apart: no accidental doubles


def click(canvas, x: int, y: int, modifier: str = "", at: int | None = None) -> None:
    at = next(CLOCK) if at is None else at
    canvas.event_generate(f"<{modifier}ButtonPress-1>", x=x, y=y, time=at)
    canvas.event_generate(f"<{modifier}ButtonRelease-1>", x=x, y=y, time=at + 50)


def key(root, widget, sequence: str) -> None:
    """A key press where the user's keys go: the focused widget."""
    widget.focus_force()
    root.update()
    widget.event_generate(sequence)
    pump(root)


def overlay(root, kind):
    shown = [child for child in root.winfo_children() if isinstance(child, kind)]
    return shown[0] if shown else None


def test_viewer_steps_zooms_copies_the_seed_regenerates_and_escape_returns(app, root, ctx):
    prompt = ctx.prompts.add("image", "Fox", {"prompt": "a red fox"})
    app.generate([prompt.id] * 3)
    records = takes_of(app, root, ctx, prompt.id, 3)

    x, y = tile_centre(app.gallery, records[1].id)
    at = next(CLOCK)
    click(app.gallery.canvas, x, y, at=at)
    click(app.gallery.canvas, x, y, at=at + 100)  # a second quick click: a double-click
    pump(root)
    viewer = overlay(root, TakeViewer)
    assert viewer is not None and viewer.winfo_ismapped() and viewer.record.id == records[1].id
    assert viewer.winfo_height() > app.prompts.winfo_height() // 2  # over the list and tabs
    assert pump_until(root, lambda: viewer.picture.stage == "full", 5)
    facts = viewer.facts.get("1.0", "end")
    seed = records[1].metadata["seed"]
    assert f"seed: {seed}" in facts and "server: " in facts and "template: create_image" in facts
    assert "Take 2 of 3" in viewer.title.cget("text")

    shown = viewer.picture
    key(root, viewer, "<Right>")
    assert viewer.record.id == records[2].id and "Take 3 of 3" in viewer.title.cget("text")
    assert shown.picture_size is None  # the pane left behind let go of its picture
    key(root, viewer, "<Right>")  # the last one: stays
    key(root, viewer, "<Left>")
    key(root, viewer, "<Left>")
    assert viewer.record.id == records[0].id

    assert pump_until(root, lambda: viewer.picture.stage == "full", 5)
    fitted = viewer.picture.scale
    key(root, viewer.picture, "<plus>")
    assert viewer.picture.scale == pytest.approx(fitted * 1.25)
    key(root, viewer.picture, "<minus>")
    key(root, viewer.picture, "<minus>")  # never below fit
    assert viewer.picture.scale == pytest.approx(fitted)
    key(root, viewer.picture, "<Control-Key-1>")
    assert viewer.picture.scale == pytest.approx(1.0)
    assert viewer.zoom_text.cget("text") == "100 %"

    viewer.workflow_button.invoke()
    assert '"class_type": "KSampler"' in viewer.workflow.get("1.0", "end")

    viewer.copy_button.invoke()
    assert root.clipboard_get() == str(records[0].metadata["seed"])

    viewer.regenerate_button.invoke()
    again = [a for a in takes_of(app, root, ctx, prompt.id, 4) if a.id not in _ids(records)]
    assert again[0].metadata["seed"] == records[0].metadata["seed"]

    key(root, viewer, "<Escape>")
    assert not viewer.winfo_exists()
    assert app.gallery.selection.ids == [records[0].id]
    assert root.focus_get() is app.gallery.canvas


def test_compare_three_takes_side_by_side_with_only_what_differs(app, root, ctx):
    prompt = ctx.prompts.add("image", "Fox", {"prompt": "a red fox", "seed": 5})
    app.generate([prompt.id], new_seed=False)
    app.generate([prompt.id], new_seed=False)
    assert pump_until(root, lambda: len(ctx.artifacts.for_prompt(prompt.id)) == 2)
    ctx.prompts.update(prompt.id, data={"prompt": "a red fox in snow", "seed": 6})
    app.generate([prompt.id], new_seed=False)
    records = takes_of(app, root, ctx, prompt.id, 3)
    canvas = app.gallery.canvas

    click(canvas, *tile_centre(app.gallery, records[0].id))
    key(root, canvas, "<KeyPress-c>")  # one take: compare says how to select more
    assert "Select 2 to 4 takes" in canvas.itemcget(canvas.find_withtag("hint")[0], "text")
    click(canvas, *tile_centre(app.gallery, records[2].id), "Shift-")
    assert app.gallery.selection.ids == _ids(records)
    assert len(canvas.find_withtag("selection")) == 3
    click(canvas, *tile_centre(app.gallery, records[1].id), "Control-")
    click(canvas, *tile_centre(app.gallery, records[1].id), "Control-")
    assert sorted(app.gallery.selection.ids) == sorted(_ids(records))

    key(root, canvas, "<KeyPress-c>")
    view = overlay(root, CompareView)
    assert view is not None and len(view.panes) == 3
    assert pump_until(root, lambda: all(pane.stage == "full" for pane in view.panes), 5)
    rows = {view.table.set(row, "setting"): view.table.item(row, "values")[1:] for row in
            view.table.get_children()}  # fmt: skip
    assert set(rows) == {"seed", "prompt words"}  # same tier, steps, model, server
    oldest_first = sorted(records, key=lambda r: r.id)
    assert rows["seed"] == tuple(str(r.metadata["seed"]) for r in oldest_first) == ("5", "5", "6")
    assert rows["prompt words"] == ("(first)", "same words", "+in +snow")

    key(root, view.panes[1], "<plus>")  # zoom and pan together
    view.panes[1].event_generate("<ButtonPress-1>", x=100, y=100)
    view.panes[1].event_generate("<B1-Motion>", x=60, y=80)
    pump(root)
    assert {pane.view for pane in view.panes} == {view.panes[1].view}
    assert view.panes[1].view.zoom == pytest.approx(1.25)
    assert view.panes[1].view.centre != (0.5, 0.5)

    key(root, view, "<Escape>")
    assert not view.winfo_exists() and len(app.gallery.selection.ids) == 3


def _ids(records) -> list[int]:
    return [record.id for record in records]


def test_a_song_plays_in_the_viewer_and_a_broken_picture_says_why(root, ctx, home, monkeypatch):
    """A song's panel gets Space and the arrows (play, seek) while Page Down steps on; a picture
    that cannot be decoded says so in one line and keeps its preview."""
    monkeypatch.setenv("TAKEBOARD_AUDIO", "null")
    prompt = ctx.prompts.add("audio", "Shanty", {"tags": ["sea shanty"], "lyrics": "yo ho"})
    (home / "takes").mkdir()
    write_tone(home / "takes/song.wav", 12.0)
    (home / "takes/broken.png").write_bytes(b"\x89PNG not really")
    Image.new("RGB", (256, 128), "navy").save(home / "preview.jpg")
    add = ctx.artifacts.add
    song = add(prompt_id=prompt.id, kind="audio", path="takes/song.wav", sha256="s", size=4,
               preview_path="preview.jpg", metadata={"seed": 3})  # fmt: skip
    broken = add(prompt_id=prompt.id, kind="image", path="takes/broken.png", sha256="b", size=4,
                 preview_path="preview.jpg", metadata={})  # fmt: skip
    actions = Recorder()
    root.geometry("1000x700+0+0")
    viewer = TakeViewer(root, [song, broken], song.id, home, actions)
    viewer.pack(fill="both", expand=True)
    pump(root)
    panel = viewer.media
    assert isinstance(panel, AudioPanel) and viewer.picture is None
    assert viewer.open_button.cget("text") == "Open in system player"
    viewer.open_button.invoke()
    assert actions.calls == [("open_file", home / "takes/song.wav")]

    assert pump_until(root, lambda: panel.player.duration_s > 0, 5)
    key(root, viewer, "<Right>")  # seeks 5 s into the song, does not step
    assert viewer.media is panel and panel.player.position_s == pytest.approx(5.0)
    key(root, viewer, "<space>")
    assert panel.player.playing

    key(root, viewer, "<Next>")
    assert viewer.record.id == broken.id and not panel.player.playing
    assert pump_until(root, lambda: viewer.picture.message, 5)
    assert viewer.picture.stage == "preview" and "\n" not in viewer.picture.message
    assert viewer.picture.message.startswith("cannot show this picture (")
    assert viewer.copy_button.instate(["disabled"])  # no seed to copy


def test_compare_switches_between_two_songs_at_the_same_position(root, ctx, home, monkeypatch):
    monkeypatch.setenv("TAKEBOARD_AUDIO", "null")
    prompt = ctx.prompts.add("audio", "Shanty", {"tags": ["sea shanty"], "lyrics": "yo ho"})
    (home / "takes").mkdir()
    songs = [
        ctx.artifacts.add(prompt_id=prompt.id, kind="audio", path=f"takes/{name}.wav",
                          sha256=name, size=1, metadata={"seed": seed})
        for name, seed in (("a", 1), ("b", 2))
    ]  # fmt: skip
    write_tone(home / "takes/a.wav", 12.0)
    write_tone(home / "takes/b.wav", 9.0, hz=330)
    root.geometry("1000x700+0+0")
    view = CompareView(root, songs, home, Recorder())
    view.pack(fill="both", expand=True)
    pump(root)
    a, b = view.players[0], view.players[1]
    assert view.panes == [] and [row for row in view.table.get_children()]  # seeds differ
    assert pump_until(root, lambda: a.player.duration_s > 0 and b.player.duration_s > 0, 5)
    key(root, view, "<space>")  # plays A
    assert pump_until(root, lambda: (a.position_s() or 0) > 0.3, 5)
    key(root, view, "<KeyPress-b>")
    assert not a.player.playing and b.player.playing and view.heard == 1
    assert b.player.position_s >= a.player.position_s > 0.3  # B took over where A was
