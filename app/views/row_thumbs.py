"""Small pictures of circled takes for the prompt list's thumbnail column.

A Treeview row shows one PhotoImage; the list asks `photo(preview_path)` for each row it
writes. A picture not loaded yet is decoded on a worker thread (never on the Tk thread), handed
back through a queue drained with after(), and `on_ready(preview_path)` tells the list to write
the rows that show it again. At most MAX_PHOTOS PhotoImages are kept (least recently used go).
"""

from __future__ import annotations

import queue
import tkinter as tk
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageTk

MAX_PHOTOS = 200  # a few screens of rows
POLL_MS = 16
PER_TICK = 16  # PhotoImages made per tick (a small one costs well under 1 ms)


def load_row_picture(path: Path, box: tuple[int, int]) -> Image.Image:
    """Decode and shrink one preview to fit `box` (worker thread; no Tk here)."""
    with Image.open(path) as image:
        image.draft("RGB", box)  # JPEG: DCT-domain downscale; others: no-op
        image.thumbnail(box)
        return image.convert("RGBA" if "A" in image.getbands() else "RGB")


class RowThumbnails:
    def __init__(
        self,
        widget: tk.Misc,
        home: Path,
        box: tuple[int, int],
        on_ready: Callable[[str], None],
    ):
        self.widget, self.home, self.box, self.on_ready = widget, Path(home), box, on_ready
        self.photos: OrderedDict[str, ImageTk.PhotoImage] = OrderedDict()  # LRU, newest last
        self._requested: set[str] = set()
        self._failed: set[str] = set()
        self._results: queue.Queue[tuple[str, Image.Image | None]] = queue.Queue()
        self._pool = ThreadPoolExecutor(1, "row-thumbs")
        self._poll_id: str | None = None

    def photo(self, preview_path: str) -> ImageTk.PhotoImage | None:
        """The picture when loaded (else None, and it is being loaded)."""
        photo = self.photos.get(preview_path)
        if photo is not None:
            self.photos.move_to_end(preview_path)
            return photo
        if preview_path not in self._requested and preview_path not in self._failed:
            self._requested.add(preview_path)
            self._pool.submit(self._decode, preview_path)
            if self._poll_id is None:
                self._poll_id = self.widget.after(POLL_MS, self._drain)
        return None

    def _decode(self, preview_path: str) -> None:
        try:
            image: Image.Image | None = load_row_picture(self.home / preview_path, self.box)
        except Exception:  # a missing or broken preview: the row keeps its kind icon
            image = None
        self._results.put((preview_path, image))

    def _drain(self) -> None:
        self._poll_id = None
        for _ in range(PER_TICK):
            try:
                preview_path, image = self._results.get_nowait()
            except queue.Empty:
                break
            self._requested.discard(preview_path)
            if image is None:
                self._failed.add(preview_path)
                continue
            self.photos[preview_path] = ImageTk.PhotoImage(image, master=self.widget)
            while len(self.photos) > MAX_PHOTOS:
                self.photos.popitem(last=False)
            self.on_ready(preview_path)
        if self._requested or not self._results.empty():
            self._poll_id = self.widget.after(POLL_MS, self._drain)

    def close(self) -> None:
        if self._poll_id is not None:
            self.widget.after_cancel(self._poll_id)
            self._poll_id = None
        self._pool.shutdown(wait=False, cancel_futures=True)
