"""One picture in a pane that zooms (wheel, keys), pans (drag) and fits — the take viewer's
and each compare pane's.

The Tk thread never decodes or resizes. A worker decodes the preview (small: the pane shows it
at once), then the full picture; each picture, and each change of zoom, pan or pane size, asks
a worker to cut exactly what the pane shows at the pane's size (viewer_state.Placement), from
the best picture decoded so far. The Tk thread turns that ready-sized image into one PhotoImage.
Cuts are coalesced: while one is on a worker, later changes wait and only the newest is made.
"""

from __future__ import annotations

import queue
import tkinter as tk
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageTk

from app import theme
from app.viewer_state import ZOOM_STEP, Placement, Size, ZoomPan

POLL_MS = 8
# Shared by every pane. Cuts have their own thread so that a new take's preview never waits
# behind another take's long decode. Not at low priority (unlike the gallery's short thumbnail
# decodes): on a busy machine a niced thread descheduled while it holds the GIL stalled the Tk
# thread for up to 1.6 s during a 24-megapixel decode (bench/viewer.py, RESULTS.md).
DECODERS = ThreadPoolExecutor(2, "viewer-decode")
CUTTER = ThreadPoolExecutor(1, "viewer-cut")


@dataclass(frozen=True)
class Decoded:
    """A worker decoded (or failed to decode) the preview or the full picture."""

    generation: int
    source: Image.Image | None
    full: bool
    last: bool  # nothing more is being decoded
    error: str = ""


@dataclass(frozen=True)
class Cut:
    """What the pane shows of `source` (viewer_state.Placement), ready to become a PhotoImage."""

    generation: int
    source: Image.Image
    image: Image.Image | None
    offset: Size
    error: str = ""


def open_picture(path: Path) -> Image.Image:
    """Decode a whole picture (first frame) into RGB(A) — worker thread only."""
    with Image.open(path) as image:
        image.load()
        if image.mode in ("RGB", "RGBA"):
            return image
        return image.convert("RGBA" if "A" in image.getbands() or image.mode == "P" else "RGB")


def cut(source: Image.Image, placement: Placement) -> Image.Image:
    """What the pane shows of `source`, at the pane's size — worker thread only."""
    resample = Image.Resampling.NEAREST if placement.scale >= 2 else Image.Resampling.BILINEAR
    return source.resize(placement.size, resample, box=placement.box, reducing_gap=2.0)


class ImagePane(tk.Canvas):
    """Shows `full` (and `preview` until it is decoded); `on_view(view)` after the user zoomed
    or panned, so compare can move the other panes along."""

    def __init__(self, parent: tk.Misc, *, on_view: Callable[[ZoomPan], None] | None = None):
        super().__init__(parent, highlightthickness=0, width=320, height=240)
        self.view = ZoomPan()
        self.on_view = on_view
        self.stage = "empty"  # "preview" or "full" once painted from it; "failed": nothing
        self.message = ""
        self.painted: list[Callable[[str], None]] = []  # called with the stage after each paint
        self._source: Image.Image | None = None
        self._source_full = False
        self._size: Size | None = None  # the full picture's, known before it is decoded
        self._generation = 0
        self._decoding = self._cutting = self._dirty = False
        self._full: Path | None = None  # decoded once the preview is on the screen
        self._results: queue.SimpleQueue[Decoded | Cut] = queue.SimpleQueue()
        self._photo: ImageTk.PhotoImage | None = None
        self._drag: tuple[int, int] | None = None
        self._poll: str | None = None
        theme.follow(self, lambda colours: self.configure(background=colours.canvas))
        self.bind("<Configure>", lambda _e: self._request_cut())
        self.bind("<ButtonPress-1>", self._press)
        self.bind("<B1-Motion>", self._dragged)
        self.bind("<ButtonRelease-1>", lambda _e: setattr(self, "_drag", None))
        self.bind("<MouseWheel>", lambda e: self.zoom_at(e.delta > 0, e.x, e.y))
        self.bind("<Button-4>", lambda e: self.zoom_at(True, e.x, e.y))
        self.bind("<Button-5>", lambda e: self.zoom_at(False, e.x, e.y))
        self.bind("<Destroy>", self._destroyed)

    # --- public ---------------------------------------------------------------------------

    def show(self, full: Path | None, preview: Path | None, size: Size | None = None) -> None:
        """Start showing a picture: the preview first (when there is one; scaled as `full`
        will be when its `size` is given), then `full`."""
        self._generation += 1
        self._size = size if full is not None and size and min(size) > 0 else None
        self._source, self._source_full, self.view = None, False, ZoomPan()
        self.stage, self.message = "empty", ""
        self._cutting = self._dirty = False
        self.delete("all")
        self._full = full if preview is not None else None
        first = preview or full
        self._decoding = first is not None
        if first is not None:
            DECODERS.submit(self._decode, self._generation, first, first is full, not self._full)
            self._poll_soon()

    @property
    def picture_size(self) -> Size | None:
        """The full picture's size (as far as known: from `show` until it is decoded)."""
        if self._source is None:
            return None
        return self._source.size if self._source_full else self._size or self._source.size

    @property
    def scale(self) -> float | None:
        size = self.picture_size
        return self.view.scale(size, self._pane()) if size else None

    def set_view(self, view: ZoomPan) -> None:
        """Show `view` (compare: another pane moved); does not call on_view."""
        self.view = view
        self._request_cut()

    def zoom(self, how: str) -> None:
        """ "in", "out", "fit" or "1:1" (one picture pixel per screen pixel)."""
        if how == "fit":
            self._change(ZoomPan())
        elif how == "1:1" and self.picture_size:
            self._change(self.view.at_scale(1.0, self.picture_size, self._pane()))
        elif how in ("in", "out"):
            self._change(self.view.zoomed(ZOOM_STEP if how == "in" else 1 / ZOOM_STEP))

    def zoom_at(self, zoom_in: bool, x: int, y: int) -> None:
        """Wheel: zoom keeping the point under the pointer where it is."""
        if self.picture_size:
            factor = ZOOM_STEP if zoom_in else 1 / ZOOM_STEP
            self._change(self.view.zoomed_at(factor, (x, y), self.picture_size, self._pane()))

    def say(self, text: str) -> None:
        """One line over the picture (why it is missing, what to do)."""
        self.message = text
        self.delete("message")
        colour = theme.current(self).text
        self.create_text(8, 8, text=text, anchor="nw", fill=colour, tags="message", width=600)

    # --- interaction ------------------------------------------------------------------------

    def _change(self, view: ZoomPan) -> None:
        self.view = view
        self._request_cut()
        if self.on_view is not None:
            self.on_view(view)

    def _press(self, event: tk.Event) -> None:
        self._drag = (event.x, event.y)
        self.focus_set()

    def _dragged(self, event: tk.Event) -> None:
        if self._drag is None or not self.picture_size:
            return
        dx, dy = event.x - self._drag[0], event.y - self._drag[1]
        self._drag = (event.x, event.y)
        moved = self.view.panned(dx, dy, self.picture_size, self._pane())
        self.move("picture", dx, dy)  # at once; the sharp cut follows from the worker
        self._change(moved)

    def _pane(self) -> Size:
        return max(1, self.winfo_width()), max(1, self.winfo_height())

    # --- workers ----------------------------------------------------------------------------

    def _decode(self, generation: int, path: Path, full: bool, last: bool) -> None:
        """Worker: decode the preview or the full picture."""
        if generation != self._generation:
            return  # the pane shows another take by now
        try:
            self._results.put(Decoded(generation, open_picture(path), full, last))
        except Exception as exc:  # a missing, broken or huge file: one line in the pane
            self._results.put(Decoded(generation, None, full, last, _why(exc)))

    def _decode_full(self) -> None:
        """Once the preview is painted (or cannot be): decode the full picture, which then
        does not slow the preview down."""
        if self._full is not None:
            DECODERS.submit(self._decode, self._generation, self._full, True, True)
            self._full = None

    def _request_cut(self) -> None:
        """Ask a worker for the current view (or remember to, while one is cutting)."""
        if self._source is None or self.winfo_width() <= 1:  # nothing yet, or not laid out
            return
        if self._cutting:
            self._dirty = True
            return
        self._cutting, self._dirty = True, False
        picture = self.picture_size or self._source.size
        placement = self.view.place(picture, self._pane()).for_picture(picture, self._source.size)
        CUTTER.submit(self._cut, self._generation, self._source, placement)
        self._poll_soon()

    def _cut(self, generation: int, source: Image.Image, placement: Placement) -> None:
        try:
            self._results.put(Cut(generation, source, cut(source, placement), placement.offset))
        except Exception as exc:  # noqa: BLE001 — a worker must answer, or the pane waits
            self._results.put(Cut(generation, source, None, placement.offset, _why(exc)))

    # --- the Tk side ------------------------------------------------------------------------

    def _poll_soon(self) -> None:
        if self._poll is None:
            self._poll = self.after(POLL_MS, self._drain)

    def _drain(self) -> None:
        self._poll = None
        while True:
            try:
                result = self._results.get_nowait()
            except queue.Empty:
                break
            if result.generation != self._generation:
                continue
            if isinstance(result, Cut):
                self._paint(result)
            else:
                self._decoded(result)
        if self._decoding or self._cutting:
            self._poll_soon()

    def _decoded(self, result: Decoded) -> None:
        self._decoding = self._decoding and not result.last
        if result.source is None and (result.full or result.last):  # else the full one follows
            self.stage = "failed" if self._source is None else self.stage
            self.say(result.error)
        elif result.source is not None and (result.full or not self._source_full):
            self._source, self._source_full = result.source, result.full
            self._request_cut()
        if not self._cutting:  # the preview failed, or the pane is not laid out yet
            self._decode_full()

    def _paint(self, result: Cut) -> None:
        self._cutting = False
        self._decode_full()
        if result.image is None:
            self.say(result.error)
        elif result.source is self._source:
            self._photo = ImageTk.PhotoImage(result.image, master=self)
            self.delete("picture")
            self.create_image(*result.offset, image=self._photo, anchor="nw", tags="picture")
            self.tag_raise("message")
            self.stage = "full" if self._source_full else "preview"
            for listener in self.painted:
                listener(self.stage)
        if self._dirty or result.source is not self._source:
            self._request_cut()

    def _destroyed(self, event: tk.Event) -> None:
        """Let go of the pictures now: the theme's followers keep the widget object itself."""
        if event.widget is self:
            self._generation += 1
            self._source = self._photo = None
            if self._poll is not None:
                self.after_cancel(self._poll)
                self._poll = None


def _why(exc: Exception) -> str:
    """One line for a picture that cannot be shown, with what to do."""
    if isinstance(exc, FileNotFoundError):
        return "the file is gone — it was moved or deleted; right-click the take → Show in folder"
    if isinstance(exc, Image.DecompressionBombError):
        return "the picture is too large to show here — open it in the system viewer"
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"cannot show this picture ({reason}) — open it in the system viewer"
