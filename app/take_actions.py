"""What the window does to takes (the gallery's, the viewer's and compare's actions), as a part
of Application."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk
from typing import TYPE_CHECKING

from app.system_open import open_with_system
from app.variations_state import batch_of
from app.views.compare import CompareView
from app.views.variations import BatchGrid
from app.views.viewer import TakeViewer, cover
from core.models import ArtifactRecord

if TYPE_CHECKING:
    from app.cli import Context
    from app.views.gallery import TakesGallery
    from app.views.prompt_list import PromptList


class TakeActions:
    root: tk.Tk
    ctx: Context
    gallery: TakesGallery
    prompts: PromptList
    confirm: Callable[[str], bool]
    _panes: tuple[ttk.PanedWindow, ttk.PanedWindow]

    def open_file(self, path: Path) -> None:
        open_with_system(path)

    def show_in_folder(self, path: Path) -> None:
        open_with_system(Path(path).parent)

    def copy_path(self, path: Path) -> None:
        self.root.clipboard_clear()
        self.root.clipboard_append(str(path))

    def view_take(self, records: list[ArtifactRecord], artifact_id: int) -> None:
        """Double-click on a take: the take viewer over the list and tabs (Escape returns)."""
        self._cover(TakeViewer(self.root, records, artifact_id, self.ctx.config.home, self))

    def compare_takes(self, records: list[ArtifactRecord]) -> None:
        self._cover(CompareView(self.root, records, self.ctx.config.home, self))

    def viewer_closed(self, artifact_id: int | None) -> None:
        """Back from the viewer (the take it showed last is selected) or compare (None)."""
        self.gallery.select_only(artifact_id)

    def _cover(self, view: ttk.Frame) -> None:
        """One view at a time over the prompt list and tabs; the queue stays in sight."""
        for child in self.root.winfo_children():
            if isinstance(child, TakeViewer | CompareView) and child is not view:
                child.destroy()
        cover(view, self._panes[1])

    def show_batch(self, record: ArtifactRecord) -> BatchGrid | None:
        """A take's batch as a labelled grid (the gallery's menu)."""
        batch = batch_of(record.metadata)
        if batch is None:
            self.gallery.show_hint("This take is not part of a batch — Variations… makes one")
            return None
        takes = [
            r for r in self.gallery.records if (batch_of(r.metadata) or {}).get("id") == batch["id"]
        ]
        return BatchGrid(self.root, takes, self.ctx.config.home)

    def delete_take(self, artifact_id: int) -> None:
        if self.confirm("Delete this take's record? The file stays on disk."):
            take = self.ctx.artifacts.delete(artifact_id)
            self.gallery.show_prompt(take.prompt_id)
            self.prompts.refresh()
