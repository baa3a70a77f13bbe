"""Choosing in the gallery: keys 0–5 rate every selected take (0 clears), Enter or * circles
the selected take as "the take" of its prompt (again: uncircles it). The database writes run on
a worker; their outcome comes back through a queue drained with after(), then the tiles redraw
and the window hears `choices_changed(prompt_id)` (the prompt list's thumbnail follows).
Badges: stars in the picture's bottom-left corner, and a gold ring over a circled take.
"""

from __future__ import annotations

import queue
import tkinter as tk
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from app.choice_state import stars
from core.errors import AppError
from core.models import ArtifactRecord
from repositories.artifacts import ArtifactRepository

RING, STAR_BACK = "#f5b700", "#202020"  # clear on light and dark tiles alike
POLL_MS = 16
RATING_KEYS = {str(n): n for n in range(6)} | {f"KP_{n}": n for n in range(6)}
CIRCLE_KEYS = ("Return", "KP_Enter", "asterisk", "KP_Multiply")


@dataclass(frozen=True)
class Chosen:
    """What a finished write changed (or the one-line error it met)."""

    changed: tuple[ArtifactRecord, ...] = ()
    error: str = ""


def draw_badges(
    canvas: tk.Canvas, record: ArtifactRecord, x: int, y: int, size: int, tags: tuple
) -> None:
    """The take's ring (circled) and stars (rated) over its picture box at (x, y)."""
    if record.circled:
        canvas.create_oval(
            x + 3, y + 3, x + size - 3, y + size - 3, outline=RING, width=4,
            tags=(*tags, "ring"),
        )  # fmt: skip
    if record.rating:
        text = canvas.create_text(
            x + 6, y + size - 6, text=stars(record.rating), fill=RING, anchor="sw",
            tags=(*tags, "stars"),
        )  # fmt: skip
        left, top, right, bottom = canvas.bbox(text)
        back = canvas.create_rectangle(
            left - 3, top - 1, right + 3, bottom + 1, fill=STAR_BACK, outline="",
            tags=(*tags, "stars"),
        )  # fmt: skip
        canvas.tag_lower(back, text)


class TakeChoice:
    """Keys and writes for rating and circling; the gallery supplies the selection and redraws."""

    def __init__(
        self,
        canvas: tk.Canvas,
        artifacts: ArtifactRepository,
        selected: Callable[[], list[int]],
        on_changed: Callable[[Chosen], None],
    ):
        self.canvas, self.artifacts = canvas, artifacts
        self.selected, self.on_changed = selected, on_changed
        self._writer = ThreadPoolExecutor(1, "choices")
        self._done: queue.Queue[Chosen] = queue.Queue()
        self._poll_id: str | None = None
        self._pending = 0  # writes not drained yet
        for key, rating in RATING_KEYS.items():
            canvas.bind(f"<KeyPress-{key}>", lambda _e, n=rating: self.rate(self.selected(), n))
        for key in CIRCLE_KEYS:
            canvas.bind(f"<KeyPress-{key}>", lambda _e: self.toggle_circle(self.selected()))

    def rate(self, artifact_ids: list[int], rating: int) -> None:
        if artifact_ids:
            self._write(lambda: self._rated(artifact_ids, rating))

    def circle(self, artifact_id: int) -> None:
        self._write(lambda: (self.artifacts.circle(artifact_id),))

    def toggle_circle(self, artifact_ids: list[int]) -> None:
        """Circle the one selected take, or uncircle it when it is circled already."""
        if len(artifact_ids) == 1:
            self._write(lambda: self._toggled(artifact_ids[0]))

    def close(self) -> None:
        if self._poll_id is not None:
            self.canvas.after_cancel(self._poll_id)
            self._poll_id = None
        self._writer.shutdown(wait=False, cancel_futures=True)

    # --- worker ---------------------------------------------------------------------------------

    def _rated(self, artifact_ids: list[int], rating: int) -> tuple[ArtifactRecord, ...]:
        self.artifacts.rate(artifact_ids, rating)
        return tuple(self.artifacts.get(i) for i in artifact_ids)

    def _toggled(self, artifact_id: int) -> tuple[ArtifactRecord, ...]:
        before = self.artifacts.get(artifact_id)
        return (self.artifacts.circle(artifact_id, not before.circled),)

    def _write(self, change: Callable[[], tuple[ArtifactRecord, ...]]) -> None:
        self._writer.submit(self._run, change)
        self._pending += 1
        if self._poll_id is None:
            self._poll_id = self.canvas.after(POLL_MS, self._drain)

    def _run(self, change: Callable[[], tuple[ArtifactRecord, ...]]) -> None:
        try:
            self._done.put(Chosen(changed=change()))
        except AppError as exc:
            self._done.put(Chosen(error=str(exc)))
        finally:
            self.artifacts.db.close()  # this worker thread's connection

    # --- Tk thread ------------------------------------------------------------------------------

    def _drain(self) -> None:
        self._poll_id = None
        while not self._done.empty():
            self._pending -= 1
            self.on_changed(self._done.get_nowait())
        if self._pending > 0:
            self._poll_id = self.canvas.after(POLL_MS, self._drain)
