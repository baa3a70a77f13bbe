"""A song take in the take viewer and in compare: its waveform with a moving playhead,
play/pause and seek (issue 14, part C).

The seam the viewer and compare use (app.views.viewer.MediaPanel):
- `AudioPanel(parent, record, media, preview)`: `media` is the song's file (None: missing);
  `preview` (the library's waveform picture) is not needed: the panel draws its own.
- `can_play`: True when there is a file to play.
- `key(keysym) -> bool`: Space play/pause, Left/Right seek 5 s back/on; True when used. The
  panel's canvas also takes these keys itself while it has the focus (clicking it gives it).
- `position_s()`: the playhead while playing, None while not; `playhead_s()`: playing or not;
  `play_from(seconds)`, `seek_to(seconds)`, `pause()`: what compare's A/B uses to move playback
  (or, while paused, the playhead) to another take at the same place.
- `close()`: stop and let go of the audio device (on a worker).

Decoding and the waveform's peaks are made on a worker (app/audio_player.load_take); the Tk
thread polls with after() at about 30 frames a second, and only while the take loads or plays.
The waveform is one polygon, drawn when the take arrives and when the canvas changes size; a
frame moves one line and rewrites the clock when its text changes.
"""

from __future__ import annotations

import logging
import tkinter as tk
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from tkinter import ttk

from PIL import Image, ImageDraw, ImageTk

from app import theme
from app.audio_player import AudioError, AudioPlayer, LoadedTake, load_take
from app.player_state import (
    SEEK_STEP_S,
    Peaks,
    clock,
    seconds_to_x,
    waveform_outline,
    x_to_seconds,
)
from app.views.decoding import lower_priority
from core.models import ArtifactRecord

FRAME_MS = 33  # playhead refresh while playing (~30 fps)
RESIZE_MS = 80
PLAYHEAD = "#e5484d"  # reads on both the light and the dark canvas
# Geometric Shapes (U+25xx) that the theme's fonts have (⏸, U+23F8, showed as a box)
PLAY, PAUSE = "▶ Play", "▮▮ Pause"
# songs (a few hundred ms each) and waveform pictures, at low priority like the gallery's
DECODER = ThreadPoolExecutor(1, "audio-decode", initializer=lower_priority)
MISSING = "The song's file is missing — it was moved or deleted."
UNREADABLE = "This song could not be read — open it in the system player to check it"
log = logging.getLogger(__name__)


def wave_picture(peaks: Peaks, size: tuple[int, int], background: str, fill: str) -> Image.Image:
    """The waveform as one picture (worker thread): a moving playhead then repaints a strip of
    pixels, not a 2,000-point polygon."""
    picture = Image.new("RGB", size, background)
    ImageDraw.Draw(picture).polygon(waveform_outline(peaks, *size), fill=fill)
    return picture


class AudioPanel(ttk.Frame):
    """Plays one take. Tk thread only."""

    def __init__(
        self,
        parent: tk.Misc,
        record: ArtifactRecord,
        media: Path | None,
        preview: Path | None = None,
        *,
        height: int = 120,
    ):
        super().__init__(parent)
        self.record = record
        self.can_play = media is not None
        self.player = AudioPlayer()
        self.take: LoadedTake | None = None
        self._wave_photo: ImageTk.PhotoImage | None = None
        self._wave_future: Future[Image.Image] | None = None
        self._future = DECODER.submit(load_take, media) if media is not None else None
        self._tick_id: str | None = None
        self._redraw_id: str | None = None
        self._shown_clock = ""
        self._waiting: tuple[float, bool] | None = None  # (seconds, play) asked before decoded
        self._build(height)
        theme.follow(self.canvas, self._recolor)
        self._set_message("Loading…" if self.can_play else MISSING)
        self.bind("<Destroy>", self._on_destroy, add="+")
        self._wake()

    # --- the seam -------------------------------------------------------------------------------

    def key(self, keysym: str) -> bool:
        action = {
            "space": self.toggle,
            "Left": lambda: self.seek_by(-SEEK_STEP_S),
            "Right": lambda: self.seek_by(SEEK_STEP_S),
        }.get(keysym)
        if action is None or not self.can_play:
            return False
        action()
        return True

    def position_s(self) -> float | None:
        return self.player.position_s if self.player.playing else None

    def playhead_s(self) -> float:
        """Where the playhead is, playing or paused (compare's A/B while paused)."""
        return self.player.position_s

    def play_from(self, seconds: float) -> None:
        self._go(seconds, play=True)

    def seek_to(self, seconds: float) -> None:
        self._go(seconds, play=False)

    def pause(self) -> None:
        self._waiting = None
        self.player.pause()
        self._wake()

    def close(self) -> None:
        self.player.close()
        if self._future is not None:
            self._future.cancel()
            self._future = None

    # --- transport ------------------------------------------------------------------------------

    def toggle(self) -> None:
        self.player.toggle()
        self._wake()

    def seek_by(self, delta_s: float) -> None:
        self.player.seek_by(delta_s)
        self._wake()

    def _go(self, seconds: float, *, play: bool) -> None:
        """Move the playhead (and play); before the take is decoded, once it is (compare may
        switch to a take that is still decoding)."""
        if self.take is None:
            self._waiting = (seconds, play)
        if play:
            self.player.play_from(seconds)
        else:
            self.player.seek(seconds)
        self._wake()

    # --- building -------------------------------------------------------------------------------

    def _build(self, height: int) -> None:
        bar = ttk.Frame(self)
        bar.pack(side="top", fill="x", pady=(0, theme.PAD // 2))
        self.play_button = ttk.Button(bar, text=PLAY, width=9, command=self.toggle)
        self.play_button.pack(side="left")
        self.time_label = ttk.Label(bar, text="0:00 / 0:00", width=13, anchor="center")
        self.time_label.pack(side="left", padx=theme.PAD)
        self.message = ttk.Label(bar, text="")
        self.message.pack(side="left", padx=theme.PAD)
        self.canvas = tk.Canvas(self, height=height, highlightthickness=0, takefocus=1)
        self.canvas.pack(side="top", fill="both", expand=True)
        self.canvas.create_line(0, 0, 0, height, tags="playhead", fill=PLAYHEAD, width=2)
        self.canvas.bind("<Configure>", lambda _e: self._redraw_soon())
        self.canvas.bind("<Button-1>", self._on_click)
        self.canvas.bind("<B1-Motion>", self._on_click)
        self.canvas.bind("<Key>", lambda e: "break" if self.key(e.keysym) else None)

    def _recolor(self, colours: theme.Palette) -> None:
        self._colours = colours
        self.canvas.configure(background=colours.canvas)
        self._draw_wave()

    # --- drawing --------------------------------------------------------------------------------

    def _redraw_soon(self) -> None:
        """A resize redraws the waveform once it has stopped (a drag sends many sizes)."""
        if self._redraw_id is not None:
            self.after_cancel(self._redraw_id)
        self._redraw_id = self.after(RESIZE_MS, self._draw_wave)

    def _draw_wave(self) -> None:
        """Have the waveform's picture made on a worker at the canvas's size (tick shows it)."""
        self._redraw_id = None
        width, height = self.canvas.winfo_width(), self.canvas.winfo_height()
        if self.take is None or width < 2:
            return
        colours = self._colours
        self._wave_future = DECODER.submit(
            wave_picture, self.take.peaks, (width, height), colours.canvas, colours.muted
        )
        self._wake()

    def _show_wave(self) -> None:
        future, self._wave_future = self._wave_future, None
        self._wave_photo = ImageTk.PhotoImage(future.result())
        self.canvas.delete("wave")
        self.canvas.create_image(0, 0, image=self._wave_photo, anchor="nw", tags="wave")
        self.canvas.tag_raise("playhead")

    def _draw_playhead(self) -> None:
        position, duration = self.player.position_s, self.player.duration_s
        x = seconds_to_x(position, duration, self.canvas.winfo_width())
        self.canvas.coords("playhead", x, 0, x, self.canvas.winfo_height())
        shown = f"{clock(position)} / {clock(duration)}"
        if shown != self._shown_clock:
            self._shown_clock = shown
            self.time_label.configure(text=shown)

    # --- the frame loop -------------------------------------------------------------------------

    def _wake(self) -> None:
        if self._tick_id is None:
            self._tick_id = self.after(0, self.tick)

    def tick(self) -> None:
        """One frame: take in the decoded take, move the playhead, show the play state; runs
        again in FRAME_MS while the take loads or plays."""
        self._tick_id = None
        if self._future is not None and self._future.done():
            self._take_in()
        if self._wave_future is not None and self._wave_future.done():
            self._show_wave()
        self._draw_playhead()
        playing = self.player.playing
        label = PAUSE if playing else PLAY
        if self.play_button.cget("text") != label:
            self.play_button.configure(text=label)
        if self.player.error or self.player.note:
            self._set_message(self.player.error or self.player.note)
        busy = playing or self._future is not None or self._wave_future is not None
        if busy and self._tick_id is None:  # (a step above may have woken it already)
            self._tick_id = self.after(FRAME_MS, self.tick)

    def _take_in(self) -> None:
        future, self._future = self._future, None
        try:
            self.take = future.result()
        except AudioError as exc:
            self._cannot_play(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 — the worker's boundary: still one line
            log.warning("cannot play %s", self.record.path, exc_info=exc)
            self._cannot_play(f"{UNREADABLE} ({exc.__class__.__name__})")
            return
        self.player.load(self.take.audio)
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self._go(waiting[0], play=waiting[1])
        self._set_message("")
        self._draw_wave()

    def _cannot_play(self, why: str) -> None:
        self.can_play = False
        self._set_message(why)

    def _set_message(self, text: str) -> None:
        if self.message.cget("text") != text:
            self.message.configure(text=text)

    # --- events ---------------------------------------------------------------------------------

    def _on_click(self, event: tk.Event) -> None:
        self.canvas.focus_set()
        width = self.canvas.winfo_width()
        self.seek_to(x_to_seconds(event.x, width, self.player.duration_s))

    def _on_destroy(self, event: tk.Event) -> None:
        if event.widget is not self:
            return
        for pending in (self._tick_id, self._redraw_id):
            if pending is not None:
                self.after_cancel(pending)
        self.close()
