"""Songs made by the engine on the project's ComfyUI protocol server (real FLAC files), heard in
the real window on miniaudio's null device: double-click → the viewer's audio panel, Space
plays to the end; two takes selected → C → compare, B takes over where A is."""

from __future__ import annotations

import pytest

from app.views.audio_panel import AudioPanel
from app.views.compare import CompareView
from app.views.viewer import TakeViewer
from tests.gui.conftest import pump, pump_until
from tests.gui.test_gallery_queue_status import tile_centre
from tests.gui.test_viewer import CLOCK, app, click, key, overlay, takes_of  # noqa: F401


@pytest.fixture(autouse=True)
def null_device(monkeypatch):
    monkeypatch.setenv("TAKEBOARD_AUDIO", "null")


@pytest.fixture
def comfy_profile() -> str:
    return "current"  # the songs' template (ACE-Step 1.5) needs a current server


def test_a_generated_song_plays_in_the_viewer_and_two_compare_a_b(app, root, ctx):  # noqa: F811
    prompt = ctx.prompts.add("audio", "Shanty", {"tags": ["sea shanty"], "lyrics": "yo ho"})
    app.generate([prompt.id] * 2)
    records = takes_of(app, root, ctx, prompt.id, 2)
    assert {record.path.rsplit(".", 1)[-1] for record in records} <= {"flac", "mp3", "opus"}

    x, y = tile_centre(app.gallery, records[0].id)
    at = next(CLOCK)
    click(app.gallery.canvas, x, y, at=at)
    click(app.gallery.canvas, x, y, at=at + 100)  # a double-click
    pump(root)
    viewer = overlay(root, TakeViewer)
    panel = viewer.media
    assert isinstance(panel, AudioPanel)
    assert pump_until(root, lambda: panel.player.duration_s > 0, 10)
    key(root, viewer, "<space>")
    assert panel.player.playing
    assert pump_until(root, lambda: not panel.player.playing, 10)  # played to its end
    assert panel.playhead_s() == pytest.approx(panel.player.duration_s)
    key(root, viewer, "<Escape>")
    assert not viewer.winfo_exists()

    x2, y2 = tile_centre(app.gallery, records[1].id)
    click(app.gallery.canvas, x, y)
    click(app.gallery.canvas, x2, y2, "Control-")
    key(root, app.gallery.canvas, "<KeyPress-c>")
    view = overlay(root, CompareView)
    a, b = view.players[0], view.players[1]
    assert pump_until(root, lambda: a.player.duration_s > 0 and b.player.duration_s > 0, 10)
    a.seek_to(0.1)
    key(root, view, "<space>")
    assert pump_until(root, lambda: (a.position_s() or 0) > 0.15, 10)
    key(root, view, "<KeyPress-b>")
    assert not a.player.playing and view.heard == 1
    assert b.playhead_s() >= a.playhead_s() > 0.15  # B took over where A was
