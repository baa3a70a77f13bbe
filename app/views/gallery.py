"""The takes of one prompt as a Canvas grid of thumbnails (tk-notes §3–4).

Preview files are decoded and shrunk on two low-priority worker threads; the PIL images come
back through a queue that the Tk thread drains with after(), a few per tick, turning each into a
PhotoImage and a create_image item. Tiles are cheap canvas items; only the tiles near the visible
band load their pictures, and at most MAX_PHOTOS PhotoImages are kept.

Click, Ctrl-click and Shift-click select takes (outlined); C or "Compare selected" compares 2–4
of them; a double-click opens the take viewer (the window's view_take). Keys 0–5 rate the
selected takes, Enter or * circles one as "the take" (app/views/take_choice.py).
"""

from __future__ import annotations

import dataclasses
import queue
import tkinter as tk
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tkinter import ttk
from typing import Protocol

from PIL import Image, ImageTk

from app import theme
from app.choice_state import merged
from app.compare_state import TakeSelection, compare_hint
from app.gallery_state import GridLayout, caption
from app.variations_state import batch_of, cell_label, group_batches
from app.views.decoding import load_thumbnail, lower_priority
from app.views.take_choice import Chosen, TakeChoice, draw_badges
from app.views.take_menu import TakeMenu
from core.errors import NotFound
from core.jobs import ArtifactSaved, JobEvent, PreviewReady
from core.models import ArtifactRecord
from repositories.artifacts import ArtifactRepository

THUMB = 192  # square picture box of a tile; the caption goes below it
PER_TICK = 8  # PhotoImages made per after() tick (about 1 ms each plus the first draw)
POLL_MS = 16
MAX_PHOTOS = 300
SELECTED = "#3b8eea"  # the outline of selected takes, clear on light and dark backdrops
HINT_MS = 4000


class GalleryActions(Protocol):
    """What the gallery asks the window to do (called on the Tk thread)."""

    def open_file(self, path: Path) -> None: ...
    def show_in_folder(self, path: Path) -> None: ...
    def copy_path(self, path: Path) -> None: ...
    def regenerate_same_seed(self, artifact_id: int) -> None: ...
    def delete_take(self, artifact_id: int) -> None: ...
    def view_take(self, records: list[ArtifactRecord], artifact_id: int) -> None: ...
    def compare_takes(self, records: list[ArtifactRecord]) -> None: ...
    def regenerate_from_take(self, artifact_id: int) -> None: ...
    def choices_changed(self, prompt_id: int) -> None: ...
    def show_batch(self, record: ArtifactRecord) -> object: ...


class TakesGallery(TakeMenu, ttk.Frame):
    def __init__(
        self,
        parent: tk.Misc,
        artifacts: ArtifactRepository,
        home: Path,
        actions: GalleryActions,
        *,
        workers: int = 2,
    ):
        super().__init__(parent)
        self.artifacts, self.home, self.actions = artifacts, Path(home), actions
        self.layout = GridLayout(tile_w=THUMB, tile_h=THUMB + 40)  # room for two caption lines
        self.prompt_id: int | None = None
        self.records: list[ArtifactRecord] = []
        self.photos: OrderedDict[int, ImageTk.PhotoImage] = OrderedDict()  # LRU, newest last
        self._index: dict[int, int] = {}  # artifact id -> tile position
        self._columns = 1
        self._generation = 0  # results of an older show_prompt are dropped
        self._requested: set[int] = set()
        self._failed: set[int] = set()
        self._results: queue.Queue[tuple[int, int, Image.Image | None]] = queue.Queue()
        self._pool = ThreadPoolExecutor(workers, "thumbs", initializer=lower_priority)
        self._poll_id: str | None = None
        self._visible_id: str | None = None
        self._menu_record: ArtifactRecord | None = None
        self.selection = TakeSelection()
        self._hint_id: str | None = None

        self.canvas = tk.Canvas(self, highlightthickness=0, height=480)
        self.colours = theme.current(self)
        theme.follow(self.canvas, self._recolor)
        self.scrollbar = ttk.Scrollbar(self, orient="vertical", command=self.canvas.yview)
        self.canvas.configure(yscrollcommand=self._on_scrolled)
        self.scrollbar.pack(side="right", fill="y")
        self.canvas.pack(side="left", fill="both", expand=True)
        self.choice = TakeChoice(
            self.canvas, artifacts, lambda: list(self.selection.ids), self._chosen
        )
        self.menu = self._build_menu()

        self.canvas.bind("<Configure>", lambda _e: self._relayout())
        self.canvas.bind("<Double-Button-1>", self._on_double_click)
        self.canvas.bind("<Button-1>", lambda e: self._on_click(e, self.selection.click))
        self.canvas.bind("<Control-Button-1>", lambda e: self._on_click(e, self.selection.toggle))
        self.canvas.bind("<Shift-Button-1>", lambda e: self._on_click(e, self._extend))
        self.canvas.bind("<KeyPress-c>", lambda _e: self.compare_selected())
        self.canvas.bind("<Button-3>", self._on_context_click)
        if self.tk.call("tk", "windowingsystem") == "aqua":  # the Mac's right button
            self.canvas.bind("<Button-2>", self._on_context_click)
        self.canvas.bind("<MouseWheel>", lambda e: self._scroll(-1 if e.delta > 0 else 1))
        self.canvas.bind("<Button-4>", lambda _e: self._scroll(-1))
        self.canvas.bind("<Button-5>", lambda _e: self._scroll(1))
        self.bind("<Destroy>", self._on_destroy)

    # --- public ---------------------------------------------------------------------------

    def show_prompt(self, prompt_id: int | None) -> None:
        """Show the takes of one prompt (None: empty gallery)."""
        same_prompt, self.prompt_id = prompt_id == self.prompt_id, prompt_id
        records = self.artifacts.for_prompt(prompt_id) if prompt_id is not None else []
        self.records = group_batches(records)  # a batch's takes together, cell by cell
        self._index = {record.id: i for i, record in enumerate(self.records)}
        self.selection.keep_only(self._index if same_prompt else ())
        self._generation += 1
        self._requested.clear()
        self._failed.clear()
        for artifact_id in list(self.photos):  # a reload of the same prompt keeps its pictures
            if not same_prompt or artifact_id not in self._index:
                del self.photos[artifact_id]
        self._draw_all()
        self.canvas.yview_moveto(0)
        self._request_visible()

    def handle(self, event: JobEvent) -> None:
        """Engine events (Tk thread): a new take of this prompt, or a take's preview is ready."""
        if isinstance(event, PreviewReady) and event.artifact_id in self._index:
            i = self._index[event.artifact_id]
            self.records[i] = dataclasses.replace(self.records[i], preview_path=event.preview_path)
            self.photos.pop(event.artifact_id, None)
            self._failed.discard(event.artifact_id)
            self._draw_tile(i)
            self._request_visible()
        elif isinstance(event, ArtifactSaved) and self.prompt_id is not None:
            try:
                record = self.artifacts.get(event.artifact_id)
            except NotFound:  # deleted meanwhile
                return
            if record.prompt_id == self.prompt_id and record.id not in self._index:
                self._reload()

    def select_only(self, artifact_id: int | None) -> None:
        """Select one take (None: keep the selection), scroll it into view and take the keys
        (back from the viewer or compare)."""
        if artifact_id in self._index:
            self.selection.click(artifact_id)
            self._mark_selection()
            y = self.layout.position(self._index[artifact_id], self._columns)[1]
            height = self.layout.height(len(self.records), self._columns)
            self.canvas.yview_moveto(max(0.0, y - self.layout.gap) / max(1, height))
        self.canvas.focus_set()

    def selected_records(self) -> list[ArtifactRecord]:
        """The selected takes, oldest first (compare's first take is the one to diff against)."""
        return sorted((self.records[self._index[i]] for i in self.selection.ids), key=_age)

    def compare_selected(self) -> None:
        """C or the menu: compare 2–4 selected takes, or say how to select them."""
        if self.selection.comparable():
            self.actions.compare_takes(self.selected_records())
        else:
            self.show_hint(compare_hint(len(self.selection.ids)))

    def show_hint(self, text: str) -> None:
        """One line over the top of the visible takes for a few seconds."""
        self.canvas.delete("hint")
        top = self.canvas.canvasy(0)
        self.canvas.create_text(
            self.layout.gap, top + 2, text=text, anchor="nw", fill=self.colours.text, tags="hint"
        )
        if self._hint_id is not None:
            self.after_cancel(self._hint_id)
        self._hint_id = self.after(HINT_MS, self._hide_hint)

    def _hide_hint(self) -> None:
        self._hint_id = None
        self.canvas.delete("hint")

    def path_of(self, record: ArtifactRecord) -> Path:
        return self.home / record.path

    def record_at(self, x: int, y: int) -> ArtifactRecord | None:
        """The take under window coordinates (x, y) of the canvas."""
        cx, cy = self.canvas.canvasx(x), self.canvas.canvasy(y)
        for item in reversed(self.canvas.find_overlapping(cx, cy, cx, cy)):
            for tag in self.canvas.gettags(item):
                if tag.startswith("a") and tag[1:].isdigit() and int(tag[1:]) in self._index:
                    return self.records[self._index[int(tag[1:])]]
        return None

    # --- drawing ----------------------------------------------------------------------------

    def _draw_all(self) -> None:
        self.canvas.delete("all")
        self._columns = self.layout.columns(self.canvas.winfo_width())
        for i in range(len(self.records)):
            self._draw_tile(i)
        height = self.layout.height(len(self.records), self._columns)
        self.canvas.configure(scrollregion=(0, 0, self.canvas.winfo_width(), height))
        self._mark_selection()

    def _mark_selection(self) -> None:
        """An outline around each selected take (drawn outside the tile, under nothing)."""
        self.canvas.delete("selection")
        for artifact_id in self.selection.ids:
            x, y = self.layout.position(self._index[artifact_id], self._columns)
            self.canvas.create_rectangle(
                x - 4, y - 4, x + THUMB + 4, y + THUMB + 4,
                outline=SELECTED, width=3, tags="selection",
            )  # fmt: skip

    def _draw_tile(self, i: int) -> None:
        record = self.records[i]
        tag = f"a{record.id}"
        self.canvas.delete(tag)
        x, y = self.layout.position(i, self._columns)
        tags = ("take", tag)
        self.canvas.create_rectangle(
            x, y, x + THUMB, y + THUMB, fill=self.colours.tile, outline="", tags=(*tags, "tile")
        )
        centre = (x + THUMB // 2, y + THUMB // 2)
        photo = self.photos.get(record.id)
        if photo is not None:
            self.canvas.create_image(*centre, image=photo, tags=(*tags, "thumb"))
        else:
            self.canvas.create_text(
                *centre,
                text=self._placeholder_text(record),
                fill=self.colours.text,
                tags=(*tags, "pending"),
            )
        draw_badges(self.canvas, record, x, y, THUMB, tags)
        batch = batch_of(record.metadata)
        if batch is not None:  # a variation: its cell's values on a dark strip at the foot
            label = self.canvas.create_text(
                x + 4, y + THUMB - 3, text=f"▦ {cell_label(batch)}", anchor="sw",
                fill="white", width=THUMB - 8, tags=(*tags, "batch"),
            )  # fmt: skip
            strip = self.canvas.create_rectangle(
                *self.canvas.bbox(label), fill="#202020", outline="", tags=(*tags, "batch")
            )
            self.canvas.tag_lower(strip, label)
        self.canvas.create_text(
            x + THUMB // 2,
            y + THUMB + 4,
            text=caption(record),
            fill=self.colours.muted,
            anchor="n",
            width=THUMB,
            tags=(*tags, "caption"),
        )

    def _recolor(self, colours: theme.Palette) -> None:
        """The theme changed (or is set): the backdrop, tiles and captions follow it."""
        self.colours = colours
        self.canvas.configure(background=colours.canvas)
        self.canvas.itemconfigure("tile", fill=colours.tile)
        self.canvas.itemconfigure("pending", fill=colours.text)
        self.canvas.itemconfigure("caption", fill=colours.muted)

    def _placeholder_text(self, record: ArtifactRecord) -> str:
        if record.id in self._failed:
            return "no preview"
        if not record.preview_path:
            return f"{record.kind.value}\npreview pending…"
        return "loading…"

    def _relayout(self) -> None:
        if self.layout.columns(self.canvas.winfo_width()) != self._columns:
            self._draw_all()
        self._request_visible()

    def _scroll(self, steps: int) -> None:
        self.canvas.yview_scroll(steps, "units")

    def _on_scrolled(self, first: str, last: str) -> None:
        self.scrollbar.set(first, last)
        if self._visible_id is None:
            self._visible_id = self.after_idle(self._request_visible)

    # --- loading ------------------------------------------------------------------------------

    def _visible_range(self) -> range:
        height = max(self.canvas.winfo_height(), int(self.canvas.cget("height")))
        top = self.canvas.canvasy(0)
        return self.layout.visible(len(self.records), self._columns, top - height, top + 2 * height)

    def _request_visible(self) -> None:
        """Queue decodes for the tiles within a screen of the visible band."""
        self._visible_id = None
        for i in self._visible_range():
            record = self.records[i]
            wanted = record.preview_path and record.id not in self._failed
            if wanted and record.id not in self.photos and record.id not in self._requested:
                self._requested.add(record.id)
                path = self.home / record.preview_path
                self._pool.submit(self._decode, self._generation, record.id, path)
        if self._requested and self._poll_id is None:
            self._poll_id = self.after(POLL_MS, self._drain)

    def _decode(self, generation: int, artifact_id: int, path: Path) -> None:
        """Worker thread: decode only, then hand the PIL image to the Tk thread."""
        try:
            image: Image.Image | None = load_thumbnail(path, THUMB)
        except Exception:  # a missing or broken file shows "no preview"; never kills the worker
            image = None
        self._results.put((generation, artifact_id, image))

    def _drain(self) -> None:
        self._poll_id = None
        for _ in range(PER_TICK):
            try:
                generation, artifact_id, image = self._results.get_nowait()
            except queue.Empty:
                break
            if generation != self._generation or artifact_id not in self._index:
                continue
            self._requested.discard(artifact_id)
            if image is None:
                self._failed.add(artifact_id)
            else:
                self.photos[artifact_id] = ImageTk.PhotoImage(image, master=self.canvas)
                self._evict()
            self._draw_tile(self._index[artifact_id])
        if self._requested or not self._results.empty():
            self._poll_id = self.after(POLL_MS, self._drain)

    def _evict(self) -> None:
        """Drop the least recently loaded pictures outside the visible band."""
        if len(self.photos) <= MAX_PHOTOS:
            return
        keep = {self.records[i].id for i in self._visible_range()}
        for artifact_id in [a for a in self.photos if a not in keep]:
            if len(self.photos) <= MAX_PHOTOS:
                break
            del self.photos[artifact_id]
            self._draw_tile(self._index[artifact_id])

    def _reload(self) -> None:
        top = self.canvas.yview()[0]
        self.show_prompt(self.prompt_id)
        self.canvas.yview_moveto(top)

    # --- mouse ----------------------------------------------------------------------------------

    def _chosen(self, chosen: Chosen) -> None:
        """A rating or circle was written (or failed): redraw those tiles, tell the window."""
        if chosen.error:
            self.show_hint(chosen.error)
            return
        for i in merged(self.records, chosen.changed):
            self._draw_tile(i)
        for prompt_id in {record.prompt_id for record in chosen.changed}:
            self.actions.choices_changed(prompt_id)

    def _on_double_click(self, event: tk.Event) -> None:
        record = self.record_at(event.x, event.y)
        if record is not None:
            self.actions.view_take(list(self.records), record.id)

    def _on_click(self, event: tk.Event, select: Callable[[int], None]) -> None:
        """Click selects one take, Ctrl-click adds or removes one, Shift-click a range."""
        self.canvas.focus_set()
        record = self.record_at(event.x, event.y)
        if record is not None:
            select(record.id)
            self._mark_selection()

    def _extend(self, artifact_id: int) -> None:
        self.selection.extend(artifact_id, [record.id for record in self.records])

    def _on_destroy(self, event: tk.Event) -> None:
        if event.widget is not self:
            return
        self._generation += 1
        for after_id in (self._poll_id, self._visible_id, self._hint_id):
            if after_id is not None:
                self.after_cancel(after_id)
        self._poll_id = self._visible_id = self._hint_id = None
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.choice.close()


def _age(record: ArtifactRecord) -> tuple[float, int]:
    return (record.created_at, record.id)
