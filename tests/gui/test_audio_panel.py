"""The audio panel in a real Tk window under Xvfb, playing on miniaudio's null device: keys and
clicks change the real playback state (playing, the playhead advancing, paused, seek, A/B)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import theme
from app.views.audio_panel import MISSING, AudioPanel
from app.views.compare import CompareView
from core.models import ArtifactRecord, MediaKind
from tests.audio_files import write_tone
from tests.gui.conftest import pump
from tests.gui.test_gallery_queue_status import Recorder

WAIT_MS = 5000


@pytest.fixture(autouse=True)
def null_device(monkeypatch):
    monkeypatch.setenv("TAKEBOARD_AUDIO", "null")


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("songs")
    return write_tone(folder / "a.wav", 12.0), write_tone(folder / "b.wav", 9.0, hz=330)


def record(path: Path, artifact_id: int = 1) -> ArtifactRecord:
    return ArtifactRecord(
        artifact_id, 1, MediaKind.AUDIO, path.name, None, "", 0, metadata={"seed": artifact_id}
    )


def pump_until(root, condition, ms: int = WAIT_MS) -> bool:
    deadline = root.tk.call("clock", "milliseconds") + ms
    while root.tk.call("clock", "milliseconds") < deadline:
        if condition():
            return True
        pump(root, 10)
    return bool(condition())


def panel_for(root, path: Path | None, **pack) -> AudioPanel:
    panel = AudioPanel(root, record(path or Path("gone.flac")), path, None)
    panel.pack(fill="both", expand=True, **pack)
    return panel


@pytest.fixture
def panel(root, songs):
    root.geometry("640x200+0+0")
    panel = panel_for(root, songs[0])
    assert pump_until(root, lambda: drawn(panel))
    return panel


def drawn(panel: AudioPanel) -> bool:
    """Decoded, and its waveform drawn at the canvas's final size."""
    settled = panel._redraw_id is None and panel._wave_future is None
    return bool(panel.take and panel.canvas.find_withtag("wave") and settled)


def key(root, widget, keysym):
    """A key press as the user makes it: on the focused widget."""
    widget.focus_force()
    root.update()
    widget.event_generate(f"<KeyPress-{keysym}>")
    pump(root)


def test_a_take_shows_its_waveform_and_length(root, panel):
    assert panel.can_play
    picture = panel._wave_photo
    assert picture.width() == panel.canvas.winfo_width()
    middle, right = picture.height() // 2, picture.width() - 2

    def pixel(x, y):
        return panel.tk.call(str(picture), "get", x, y)

    assert pixel(right, middle - 30) != pixel(right, 1)  # the loud end fills the band
    assert pixel(2, middle - 30) == pixel(right, 1)  # the silent start is a thin line
    assert panel.time_label.cget("text") == "0:00 / 0:12"
    assert panel.message.cget("text") == ""


def test_space_plays_the_playhead_moves_and_space_pauses(root, panel):
    key(root, panel.canvas, "space")
    assert panel.player.playing
    start_x = panel.canvas.coords("playhead")[0]
    assert pump_until(root, lambda: panel.canvas.coords("playhead")[0] > start_x + 10)
    assert panel.position_s() > 0 and "Pause" in panel.play_button.cget("text")
    key(root, panel.canvas, "space")
    held = panel.player.position_s
    assert not panel.player.playing and panel.position_s() is None
    pulls = panel.player.pulls
    assert pump_until(root, lambda: panel.player.pulls >= pulls + 3)  # the device went on
    assert panel.player.position_s == held and "Play" in panel.play_button.cget("text")


def test_arrow_keys_seek_five_seconds(root, panel):
    key(root, panel.canvas, "Right")
    key(root, panel.canvas, "Right")
    assert panel.player.position_s == pytest.approx(10.0)
    key(root, panel.canvas, "Left")
    assert panel.player.position_s == pytest.approx(5.0)
    assert panel.time_label.cget("text") == "0:05 / 0:12"
    key(root, panel.canvas, "Right")
    key(root, panel.canvas, "Right")
    assert panel.player.position_s == pytest.approx(12.0)  # clamped at the end


def test_the_keys_the_viewer_offers_are_used_or_declined(root, panel):
    assert panel.key("Right") and panel.player.position_s == pytest.approx(5.0)
    assert panel.key("space") and panel.player.playing
    assert not panel.key("Escape") and not panel.key("Up")


def test_a_click_and_a_drag_on_the_waveform_seek_there(root, panel):
    width = panel.canvas.winfo_width()
    panel.canvas.event_generate("<Button-1>", x=(width - 1) // 2, y=20)
    pump(root)
    assert panel.player.position_s == pytest.approx(6.0, abs=0.05)
    panel.canvas.event_generate("<B1-Motion>", x=(width - 1) // 4, y=20)
    pump(root)
    assert panel.player.position_s == pytest.approx(3.0, abs=0.05)
    assert panel.canvas.coords("playhead")[0] == pytest.approx((width - 1) / 4, abs=1)
    assert root.focus_lastfor() is panel.canvas  # the keys go to the panel now


def test_a_seek_while_playing_lands_and_plays_on(root, panel):
    key(root, panel.canvas, "space")
    key(root, panel.canvas, "Right")
    assert 5.0 <= panel.player.position_s < 5.5
    assert pump_until(root, lambda: panel.player.position_s > 5.3)
    assert panel.player.playing


def test_a_b_moves_playback_to_the_other_take_at_the_same_place(root, panel, songs):
    other = panel_for(root, songs[1])
    assert pump_until(root, lambda: other.take is not None)
    panel.play_from(5.0)
    assert pump_until(root, lambda: (panel.position_s() or 0) > 5.2)
    at = panel.position_s()
    panel.pause()
    other.play_from(at)
    assert other.position_s() == at and panel.position_s() is None
    assert pump_until(root, lambda: other.player.position_s > at + 0.2)
    assert other.time_label.cget("text").endswith("/ 0:09")


def test_play_from_before_the_take_is_decoded_starts_there_once_it_is(root, songs):
    panel = panel_for(root, songs[1])
    panel.play_from(4.0)  # compare's A/B may switch to a take that is still decoding
    assert pump_until(root, lambda: (panel.position_s() or 0) > 4.0)


def test_a_file_that_is_not_audio_shows_one_line(root, tmp_path):
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"\x00garbage" * 50)
    panel = panel_for(root, bad)
    assert pump_until(root, lambda: "broken.mp3" in panel.message.cget("text"))
    assert "\n" not in panel.message.cget("text") and not panel.can_play
    assert not panel.key("space") and not panel.player.playing


def test_a_take_without_its_file_says_so_and_plays_nothing(root):
    panel = panel_for(root, None)
    pump(root)
    assert not panel.can_play and panel.message.cget("text") == MISSING
    assert not panel.key("space")


def test_closing_stops_playback(root, panel):
    panel.play_from(1.0)
    assert pump_until(root, lambda: panel.player.device_name == "Null")
    panel.close()
    assert not panel.player.playing and panel.player.device_name == ""


def test_the_waveform_follows_the_theme(root, panel):
    def corner() -> str:
        rgb = panel.tk.call(str(panel._wave_photo), "get", 1, 1)
        return "#" + "".join(f"{int(c):02x}" for c in rgb)

    light = corner()
    theme.apply(root, theme.DARK)
    assert pump_until(root, lambda: corner() == theme.PALETTES[theme.DARK].canvas != light)


def test_compare_a_b_while_paused_moves_the_playhead_and_plays_on_from_there(root, songs):
    """In compare (app/views/compare.py), B heard after A was paused waits at A's playhead;
    Space plays it from there; A again, while playing, takes over at B's place."""
    takes = [record(path, artifact_id) for artifact_id, path in enumerate(songs, start=1)]
    root.geometry("1000x400+0+0")
    view = CompareView(root, takes, songs[0].parent, Recorder())
    view.pack(fill="both", expand=True)
    a, b = view.players[0], view.players[1]
    assert pump_until(root, lambda: drawn(a) and drawn(b))
    width = a.canvas.winfo_width()
    a.canvas.event_generate("<Button-1>", x=(width - 1) // 2, y=20)  # A's waveform: 6 s
    key(root, view, "space")
    assert pump_until(root, lambda: (a.position_s() or 0) > 6.2)
    key(root, view, "space")
    paused_at = a.playhead_s()
    key(root, view, "b")
    assert view.heard == 1 and not b.player.playing and b.playhead_s() == paused_at
    key(root, view, "space")
    assert pump_until(root, lambda: (b.position_s() or 0) > paused_at + 0.2)
    key(root, view, "a")
    assert not b.player.playing and a.player.playing and a.playhead_s() >= paused_at + 0.2


def test_closing_while_the_take_decodes_ends_quietly(root, songs):
    panel = panel_for(root, songs[0])
    panel.play_from(1.0)
    panel.close()  # the viewer stepped on before the song was decoded
    assert pump_until(root, lambda: panel._tick_id is None)  # the frame loop ended, no error
    assert panel.take is None and not panel.player.playing
