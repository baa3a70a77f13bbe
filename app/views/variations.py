"""Variations… on the selected prompts (N new seeds, or a grid over one or two parameters)
queued as one batch on a worker; and a batch shown as a labelled grid, saved as one image on
request (composed by Pillow on a worker)."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import filedialog, ttk
from typing import Any

from PIL import Image, ImageTk

from app import theme
from app.variations_state import (
    TIER,
    Batch,
    batch_of,
    batch_title,
    compose_grid,
    grid_layout,
    parse_axis,
    plan,
    seed_axis,
)
from app.views.on_worker import on_worker
from core.errors import AppError
from core.models import ArtifactRecord

THUMB = 160


class VariationsDialog(tk.Toplevel):
    """`queue_batch(batch)` runs on a worker and stores the jobs; `on_queued(batch, jobs)`
    follows on the Tk thread."""

    def __init__(
        self,
        parent: tk.Misc,
        count: int,
        schema: dict[str, Any],
        queue_batch: Callable[[Batch], list[Any]],
        on_queued: Callable[[Batch, list[Any]], None],
        *,
        seed: int | None = None,
    ):
        super().__init__(parent)
        self.schema, self.queue_batch, self.on_queued, self.seed = (
            schema,
            queue_batch,
            on_queued,
            seed,
        )
        self.title(f"Variations of {count} prompt(s)")
        self.transient(parent.winfo_toplevel())
        self.mode = tk.StringVar(self, "seeds")
        self.count = tk.StringVar(self, "4")
        names = [TIER, *schema.get("properties", {})]
        self.axes = [(tk.StringVar(self, name), tk.StringVar(self, "")) for name in ("steps", "")]
        self.axes[0][0].set("steps" if "steps" in names else TIER)
        self._build(names)
        self.bind("<Escape>", lambda _e: self.destroy())
        self.bind("<Return>", lambda _e: self.submit())

    def _build(self, names: list[str]) -> None:
        body = ttk.Frame(self, padding=theme.PAD * 2)
        body.pack(fill="both", expand=True)
        seeds = ttk.Frame(body)
        seeds.pack(anchor="w")
        ttk.Radiobutton(seeds, text="New seeds:", value="seeds", variable=self.mode).pack(
            side="left"
        )
        self.count_box = ttk.Spinbox(seeds, from_=1, to=64, width=4, textvariable=self.count)
        self.count_box.pack(side="left", padx=theme.PAD)
        grid_text = "A grid over one or two parameters (values with commas):"
        grid = ttk.Radiobutton(body, text=grid_text, value="grid", variable=self.mode)
        grid.pack(anchor="w", pady=(theme.PAD, 0))
        self.axis_boxes = []
        for name, values in self.axes:
            row = ttk.Frame(body)
            row.pack(anchor="w", padx=(theme.PAD * 3, 0), pady=2)
            box = ttk.Combobox(
                row, textvariable=name, values=["", *names], width=16, state="readonly"
            )
            box.pack(side="left")
            entry = ttk.Entry(row, textvariable=values, width=28)
            entry.pack(side="left", padx=theme.PAD)
            entry.bind("<FocusIn>", lambda _e: self.mode.set("grid"))
            self.axis_boxes.append((box, entry))
        self.message = ttk.Label(body, text="", wraplength=420, justify="left")
        self.message.pack(anchor="w", pady=theme.PAD)
        buttons = ttk.Frame(body)
        buttons.pack(anchor="e")
        ttk.Button(buttons, text="Cancel", command=self.destroy).pack(side="right")
        self.queue_button = ttk.Button(buttons, text="Queue batch", command=self.submit)
        self.queue_button.pack(side="right", padx=(0, theme.PAD))

    def batch(self) -> Batch:
        """The batch the form describes; AppError (one line) when it is not one."""
        if self.mode.get() == "seeds":
            text = self.count.get().strip()
            if not text.isdigit():
                raise AppError(f"{text!r} is not a count — give a whole number from 1 to 64")
            return plan([seed_axis(int(text))])
        chosen = [(n.get(), v.get().strip()) for n, v in self.axes if n.get()]
        axes = [parse_axis(f"{name}={values}", self.schema) for name, values in chosen]
        return plan(axes, self.seed)

    def submit(self) -> None:
        try:
            batch = self.batch()
        except AppError as exc:
            self.message.configure(text=str(exc).replace("--grid", "grid"))
            return
        self.queue_button.state(["disabled"])
        self.message.configure(text=f"Queueing {len(batch.cells)} variation(s)…")
        queue_batch = self.queue_batch
        on_worker(self, lambda: queue_batch(batch), lambda jobs: self._queued(batch, jobs), "queue")

    def _queued(self, batch: Batch, jobs: Any) -> None:
        self.queue_button.state(["!disabled"])
        if isinstance(jobs, AppError):
            self.message.configure(text=str(jobs))
            return
        self.on_queued(batch, jobs)
        self.destroy()


class BatchGrid(tk.Toplevel):
    """One batch of takes as a grid: rows from the first axis, columns from the second, the
    previews decoded on a worker; "Save as image…" composes it with Pillow on a worker."""

    def __init__(self, parent: tk.Misc, records: list[ArtifactRecord], home: Path):
        super().__init__(parent)
        self.home = Path(home)
        self.records = {record.id: record for record in records}
        takes = [(record.id, batch_of(record.metadata)) for record in records]
        self.layout = grid_layout(takes)
        self.heading = batch_title(takes[0][1], len(records))
        self.title(self.heading)
        self.photos: dict[int, ImageTk.PhotoImage] = {}
        self.pictures: dict[tuple[int, int], Image.Image] = {}
        self._build()
        self.bind("<Escape>", lambda _e: self.destroy())
        paths = {aid: self._preview(self.records[aid]) for aid in self.layout.places}
        on_worker(self, lambda: _decode_all(paths), self._show, "batch previews")

    def _preview(self, record: ArtifactRecord) -> Path:
        return self.home / (record.preview_path or record.path)

    def _build(self) -> None:
        body = ttk.Frame(self, padding=theme.PAD * 2)
        body.pack(fill="both", expand=True)
        ttk.Label(body, text=self.heading, font=("TkDefaultFont", 11, "bold")).grid(
            row=0, column=0, columnspan=len(self.layout.column_labels) + 1, sticky="w"
        )
        for column, text in enumerate(self.layout.column_labels):
            ttk.Label(body, text=text).grid(row=1, column=column + 1)
        for row, text in enumerate(self.layout.row_labels):
            ttk.Label(body, text=text).grid(row=row + 2, column=0, sticky="e", padx=theme.PAD)
        self.cells: dict[int, ttk.Label] = {}
        for artifact_id, (row, column) in self.layout.places.items():
            cell = ttk.Label(body, text="loading…", width=18, anchor="center")
            cell.grid(row=row + 2, column=column + 1, padx=2, pady=2)
            self.cells[artifact_id] = cell
        self.save_button = ttk.Button(body, text="Save as image…", command=self.ask_save)
        self.save_button.grid(
            row=len(self.layout.row_labels) + 2, column=0, sticky="w", pady=theme.PAD
        )
        self.message = ttk.Label(body, text="")
        self.message.grid(row=len(self.layout.row_labels) + 2, column=1, columnspan=4, sticky="w")

    def _show(self, decoded: Any) -> None:
        if isinstance(decoded, AppError):
            self.message.configure(text=str(decoded))
            return
        for artifact_id, picture in decoded.items():
            cell = self.cells[artifact_id]
            if picture is None:
                cell.configure(text="no preview")
                continue
            self.pictures[self.layout.places[artifact_id]] = picture
            thumb = picture.copy()
            thumb.thumbnail((THUMB, THUMB))
            self.photos[artifact_id] = ImageTk.PhotoImage(thumb, master=self)
            cell.configure(image=self.photos[artifact_id], text="", width=0)

    def ask_save(self) -> None:
        path = filedialog.asksaveasfilename(
            parent=self, defaultextension=".png", filetypes=[("PNG image", "*.png")]
        )
        if path:
            self.save(Path(path))

    def save(self, path: Path) -> None:
        """Compose and write the grid on a worker; the message says where it went."""
        self.save_button.state(["disabled"])
        pictures, layout, heading = dict(self.pictures), self.layout, self.heading

        def work() -> Path:
            try:
                compose_grid(pictures, layout, heading).save(path)
            except OSError as exc:
                raise AppError(
                    f"cannot save {path} ({exc.strerror}) — pick another folder"
                ) from None
            return path

        on_worker(self, work, self._saved, "save grid")

    def _saved(self, result: Any) -> None:
        self.save_button.state(["!disabled"])
        self.message.configure(
            text=str(result) if isinstance(result, AppError) else f"Saved {result}"
        )


def _decode_all(paths: dict[int, Path]) -> dict[int, Image.Image | None]:
    """A worker thread: each preview as a loaded RGB picture (None when unreadable)."""
    decoded: dict[int, Image.Image | None] = {}
    for artifact_id, path in paths.items():
        try:
            with Image.open(path) as image:
                decoded[artifact_id] = image.convert("RGB")
        except OSError:
            decoded[artifact_id] = None
    return decoded
