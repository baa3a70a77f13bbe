"""One picture in a pane that zooms (wheel, keys), pans (drag) and fits — the take viewer's
and each compare pane's.

The Tk thread never decodes or resizes: a worker opens the preview (small, so the pane shows
something at once), then the full picture, and cuts from it exactly what the pane shows at the
pane's size (viewer_state.Placement). The Tk thread turns that ready-sized image into one
PhotoImage. Renders are coalesced: while one is on the worker, later changes wait for it and
only the newest is made.
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
from app.views.gallery import _lower_priority

POLL_MS = 8
# shared by every pane, at low priority like the gallery's (tk-notes §4)
WORKERS = ThreadPoolExecutor(2, "viewer", initializer=_lower_priority)


@dataclass(frozen=True)
class Rendered:
    """A worker's answer: the view cut from the picture (or why not), and that picture."""

    generation: int
    image: Image.Image | None
    source: Image.Image | None  # the decoded picture the next renders cut from
    full: bool  # `source` is the full picture, not the preview
    final: bool  # the last answer to this request
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


def _cut(generation, source, full, final, view, pane) -> Rendered:
    return Rendered(generation, cut(source, view.place(source.size, pane)), source, full, final)


class ImagePane(tk.Canvas):
    """Shows `full` (and `preview` until it is decoded); `on_view(view)` after the user zoomed
    or panned, so compare can move the other panes along."""

    def __init__(self, parent: tk.Misc, *, on_view: Callable[[ZoomPan], None] | None = None):
        super().__init__(parent, highlightthickness=0, width=320, height=240)
        self.view = ZoomPan()
        self.on_view = on_view
        self.stage = "empty"  # "preview", "full" or "failed" once something is shown
        self.message = ""
        self.painted: list[Callable[[str], None]] = []  # called with the stage after each paint
        self._source: Image.Image | None = None
        self._source_full = False
        self._full: Path | None = None  # None once it failed: the preview stays
        self._preview: Path | None = None
        self._generation = 0
        self._busy = self._dirty = False
        self._results: queue.SimpleQueue[Rendered] = queue.SimpleQueue()
        self._photo: ImageTk.PhotoImage | None = None
        self._drag: tuple[int, int] | None = None
        self._poll: str | None = None
        theme.follow(self, lambda colours: self.configure(background=colours.canvas))
        self.bind("<Configure>", lambda _e: self._render())
        self.bind("<ButtonPress-1>", self._press)
        self.bind("<B1-Motion>", self._dragged)
        self.bind("<ButtonRelease-1>", lambda _e: setattr(self, "_drag", None))
        self.bind("<MouseWheel>", lambda e: self.zoom_at(e.delta > 0, e.x, e.y))
        self.bind("<Button-4>", lambda e: self.zoom_at(True, e.x, e.y))
        self.bind("<Button-5>", lambda e: self.zoom_at(False, e.x, e.y))
        self.bind("<Destroy>", self._destroyed)

    # --- public ---------------------------------------------------------------------------

    def show(self, full: Path | None, preview: Path | None) -> None:
        """Start showing a picture: the preview first (when there is one), then `full`."""
        self._full, self._preview = full, preview
        self._source, self._source_full, self.view = None, False, ZoomPan()
        self.stage, self.message = "empty", ""
        self._generation += 1
        self._busy = False
        self.delete("all")
        self._render()

    @property
    def picture_size(self) -> Size | None:
        return self._source.size if self._source is not None else None

    @property
    def scale(self) -> float | None:
        size = self.picture_size
        return self.view.scale(size, self._pane()) if size else None

    def set_view(self, view: ZoomPan) -> None:
        """Show `view` (compare: another pane moved); does not call on_view."""
        self.view = view
        self._render()

    def zoom(self, zoom_in: bool) -> None:
        self._change(self.view.zoomed(ZOOM_STEP if zoom_in else 1 / ZOOM_STEP))

    def zoom_at(self, zoom_in: bool, x: int, y: int) -> None:
        """Wheel: zoom keeping the point under the pointer where it is."""
        if self.picture_size:
            factor = ZOOM_STEP if zoom_in else 1 / ZOOM_STEP
            self._change(self.view.zoomed_at(factor, (x, y), self.picture_size, self._pane()))

    def fit(self) -> None:
        self._change(ZoomPan())

    def actual_size(self) -> None:
        """1:1 — one picture pixel per screen pixel."""
        if self.picture_size:
            self._change(self.view.at_scale(1.0, self.picture_size, self._pane()))

    # --- interaction ------------------------------------------------------------------------

    def _change(self, view: ZoomPan) -> None:
        self.view = view
        self._render()
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

    # --- rendering --------------------------------------------------------------------------

    def _render(self) -> None:
        """Ask the worker for the current view (or remember to, when it is busy)."""
        if self._busy:
            self._dirty = True
            return
        decode = self._full if not self._source_full else None
        if self._source is None and decode is None and self._preview is None:
            return
        self._busy, self._dirty = True, False
        job = (self._source, self._source_full, self._preview, decode, self.view, self._pane())
        WORKERS.submit(self._work, self._generation, *job)
        if self._poll is None:
            self._poll = self.after(POLL_MS, self._drain)

    def _work(self, generation, source, source_full, preview, decode, view, pane) -> None:
        """Worker: decode what is missing (the preview first, shown while the full picture
        decodes), then cut the view from the best picture there is."""
        try:
            if source is None and preview is not None:
                source, source_full = open_picture(preview), False
                if decode is not None:
                    self._results.put(_cut(generation, source, False, False, view, pane))
            if decode is not None:
                source, source_full = open_picture(decode), True
            self._results.put(_cut(generation, source, source_full, True, view, pane))
        except Exception as exc:  # a missing, broken or huge file: one line in the pane
            self._results.put(Rendered(generation, None, None, False, True, _why(exc)))

    def _drain(self) -> None:
        self._poll = None
        while True:
            try:
                result = self._results.get_nowait()
            except queue.Empty:
                break
            if result.generation == self._generation:
                self._paint(result)
        if self._busy:
            self._poll = self.after(POLL_MS, self._drain)

    def _paint(self, result: Rendered) -> None:
        if result.image is not None and result.source is not None:
            self._source, self._source_full = result.source, result.full
            self.stage = "full" if result.full else "preview"
            self._photo = ImageTk.PhotoImage(result.image, master=self)
            placement = self.view.place(result.source.size, self._pane())
            self.delete("picture")
            self.create_image(*placement.offset, image=self._photo, anchor="nw", tags="picture")
        else:
            self._fail(result.error)
        for listener in self.painted:
            listener(self.stage)
        if result.final:
            self._busy = False
            if self._dirty:
                self._render()

    def _fail(self, error: str) -> None:
        """Say why in the pane; a preview already shown stays (and is zoomed from now on)."""
        self._full = None
        if self._source is None:
            self.stage, self._preview = "failed", None
        self.say(error)

    def say(self, text: str) -> None:
        """One line over the picture (why it is missing, what to do)."""
        self.message = text
        self.delete("message")
        colour = theme.current(self).text
        self.create_text(8, 8, text=text, anchor="nw", fill=colour, tags="message", width=600)

    def _destroyed(self, event: tk.Event) -> None:
        if event.widget is self:
            self._generation += 1
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
