"""What the window does to prompts (the prompt list's and the menus' actions), as a part of
Application. Prompt edits are the repository's (a few ms); queueing and cancelling go to the
engine API on the bridge's worker, so the Tk thread never waits for a database write lock."""

from __future__ import annotations

import random
import tkinter as tk
from collections.abc import Callable, Sequence
from tkinter import messagebox, simpledialog
from typing import TYPE_CHECKING, Any

from app.history_state import take_request
from app.list_state import favorite_after_toggle
from app.system_open import open_with_system
from app.variations_state import function_schema, queue_batch
from app.views.draft_dialog import DraftDialog
from app.views.variations import VariationsDialog
from core.errors import AppError

if TYPE_CHECKING:
    from app.bridge import EventBridge
    from app.cli import Context
    from app.views.editor import PromptEditor
    from app.views.gallery import TakesGallery
    from app.views.prompt_list import PromptList
    from executors.control import Control


class PromptActions:
    root: tk.Tk
    ctx: Context
    control: Control
    bridge: EventBridge
    prompts: PromptList
    gallery: TakesGallery
    editor: PromptEditor
    tabs: Any
    confirm: Callable[[str], bool]

    def _show_prompt(self, prompt_id: int | None) -> None:
        if prompt_id is None:
            return
        if prompt_id != self.editor.prompt_id or self.editor.dirty:  # not the one just saved
            self.editor.load(prompt_id)
        self.gallery.show_prompt(prompt_id)

    def _saved(self, prompt_id: int) -> None:
        self.prompts.refresh()
        self.prompts.select(prompt_id)

    def new(self, kind: str) -> None:
        self.tabs.select(self.editor)
        self.editor.new(kind)

    def refresh(self) -> None:
        self.prompts.refresh()

    def open_editor(self, prompt_id: int) -> None:
        self.tabs.select(self.editor)
        self.editor.load(prompt_id)

    # --- the screenwriter -------------------------------------------------------------------------

    def draft(self) -> DraftDialog:
        """File → Draft…: a new prompt from an idea; it fills the editor, unsaved."""
        return DraftDialog(self.root, self.ctx.config, self._screenwriter(), self._drafted)

    def enhance_selected(self) -> DraftDialog | None:
        """File → Enhance…: the selected prompt rewritten into the editor, unsaved."""
        selected = self.prompts.selected_ids()
        if not selected:
            return None
        record = self.ctx.prompts.get(selected[0])
        return DraftDialog(
            self.root,
            self.ctx.config,
            self._screenwriter(),
            lambda kind, title, data: self._drafted(kind, title, data, record.id),
            enhance={"kind": record.kind.value, "data": record.data},
        )

    def _screenwriter(self) -> Callable[[], Any]:
        """For a worker: the screenwriter of the settings in effect now."""
        control, config = self.control, self.ctx.config
        return lambda: control.screenwriter(config)

    def _drafted(
        self, kind: str, title: str, data: dict[str, Any], prompt_id: int | None = None
    ) -> None:
        self.tabs.select(self.editor)
        if prompt_id is None:
            self.editor.new(kind)
        else:
            self.editor.load(prompt_id)
        self.editor.fill(title, data)

    # --- generating -------------------------------------------------------------------------------

    def generate_selected(self) -> None:
        """Ctrl+Enter: Generate every selected prompt, each with its own seed (if it fixes one)."""
        selected = self.prompts.selected_ids()
        if selected:
            self.generate(selected, new_seed=False)

    def generate(
        self,
        ids: list[int],
        quality: str | None = None,
        new_seed: bool = True,
        seed: int | None = None,
    ) -> None:
        """Generate keeps the prompt's own seed (random when it has none); Regenerate asks
        for a fresh one even when the prompt fixes it; same-seed passes `seed`."""
        if seed is None and new_seed:
            seed = random.randrange(2**32)
        overrides = {"seed": seed} if seed is not None else {}
        control = self.control
        self.bridge.call(
            lambda: control.queue(ids, quality=quality, overrides=overrides), self._queued
        )

    def regenerate_same_seed(self, artifact_id: int) -> None:
        take = self.ctx.artifacts.get(artifact_id)
        self.generate(
            [take.prompt_id], quality=take.metadata.get("tier"), seed=take.metadata.get("seed")
        )

    def regenerate_from_take(self, artifact_id: int) -> None:
        """The take's own prompt version, tier and seed, even after the prompt was edited."""
        control, artifacts = self.control, self.ctx.artifacts

        def queue() -> object:
            request = take_request(artifacts.get(artifact_id))
            overrides = {} if request.seed is None else {"seed": request.seed}
            return control.queue(
                [request.prompt_id],
                quality=request.quality,
                overrides=overrides,
                version=request.version,
            )

        self.bridge.call(queue, self._queued)

    def _queued(self, result: object) -> None:
        """Tk thread: the jobs are stored (their prompts' rows say so), or why not."""
        self._show_failure(result)
        if isinstance(result, list):
            self.prompts.update_rows({job.prompt_id for job in result})

    def _show_failure(self, result: object) -> None:
        if isinstance(result, AppError):
            messagebox.showerror("Takeboard", str(result), parent=self.root)

    def variations(self, ids: Sequence[int] | None = None) -> VariationsDialog | None:
        """Variations… of the selected prompts (or `ids`): one batch of new seeds or a grid,
        over the parameters of the first prompt's function."""
        ids = list(ids if ids is not None else self.prompts.selected_ids())
        if not ids:
            return None
        first = self.ctx.prompts.get(ids[0])
        try:
            schema = function_schema(self.control.templates, None, first.kind.value)
        except AppError as exc:
            self._show_failure(exc)
            return None
        control = self.control
        return VariationsDialog(
            self.root,
            len(ids),
            schema,
            lambda batch: queue_batch(control, ids, batch),
            lambda _batch, _jobs: self.prompts.update_rows(),
            seed=first.data.get("seed") if len(ids) == 1 else None,
        )

    def cancel_jobs(self, prompt_id: int) -> None:
        control = self.control
        self.bridge.call(lambda: control.cancel_prompt(prompt_id), self._show_failure)

    # --- prompt edits -----------------------------------------------------------------------------

    def choices_changed(self, prompt_id: int) -> None:
        """A take was rated or circled: the list's rows (thumbnail column) follow."""
        self.prompts.update_rows()

    def duplicate(self, prompt_id: int) -> None:
        record = self.ctx.prompts.get(prompt_id)
        copy = self.ctx.prompts.add(
            record.kind, f"{record.title} (copy)", record.data, tags=record.tags
        )
        self._saved(copy.id)

    def toggle_favorite(self, ids: Sequence[int]) -> None:
        records = [self.ctx.prompts.get(prompt_id) for prompt_id in ids]
        favorite = favorite_after_toggle([record.favorite for record in records])
        for record in records:
            self.ctx.prompts.update(record.id, favorite=favorite)
        self.prompts.update_rows()

    def add_tag(self, ids: Sequence[int]) -> None:
        """Ask for a tag and add it to every prompt in `ids`."""
        tag = simpledialog.askstring("Add tag", f"Tag for {len(ids)} prompt(s):", parent=self.root)
        if tag and tag.strip():
            try:
                self._tag_all(ids, tag.strip())
            except AppError as exc:
                self._show_failure(exc)

    def _tag_all(self, ids: Sequence[int], tag: str) -> None:
        for prompt_id in ids:
            record = self.ctx.prompts.get(prompt_id)
            if tag not in record.tags:
                self.ctx.prompts.update(prompt_id, tags=[*record.tags, tag])
        self.prompts.update_rows()

    def open_folder(self, prompt_id: int) -> None:
        takes = self.ctx.artifacts.for_prompt(prompt_id)
        home = self.ctx.config.home
        open_with_system((home / takes[0].path).parent if takes else home / "artifacts")

    def copy_text(self, prompt_id: int) -> None:
        data = self.ctx.prompts.get(prompt_id).data
        self.root.clipboard_clear()
        self.root.clipboard_append(data.get("prompt") or data.get("lyrics") or "")

    def delete(self, ids: Sequence[int]) -> None:
        these = "this prompt" if len(ids) == 1 else f"these {len(ids)} prompts"
        if ids and self.confirm(
            f"Move {these} to the trash? Their takes stay on disk and they can be "
            "restored (tick Trash in the list, then right-click → Restore)."
        ):
            for prompt_id in ids:
                self.ctx.prompts.delete(prompt_id)
            self.prompts.refresh()

    def restore(self, prompt_id: int) -> None:
        self.ctx.prompts.restore(prompt_id)
        self.prompts.refresh()

    def delete_selected(self) -> None:
        self.delete(self.prompts.selected_ids())
