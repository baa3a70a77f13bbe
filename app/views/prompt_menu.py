"""The prompt list's context menu, as a part of PromptList: Generate, the tiers, Variations…,
Favorite, Add tag… and Delete act on every selected prompt; the rest on the one right-clicked."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable

from app.list_state import ListState, PromptActions
from core.models import QUALITY_TIERS


class PromptMenu:
    state: ListState
    actions: PromptActions
    menu: tk.Menu
    _menu_id: int | None
    refresh: Callable[[], None]
    selected_ids: Callable[[], list[int]]

    def post_menu(self, x_root: int, y_root: int) -> None:
        """Post the context menu (its own method so tests can stub the grab of tk_popup)."""
        try:
            self.menu.tk_popup(x_root, y_root)
        finally:
            self.menu.grab_release()

    def _build_menu(self) -> tk.Menu:
        """Generate, tier, favorite, tag and delete act on every selected prompt; the rest on
        the one right-clicked."""
        menu = tk.Menu(self, tearoff=False)  # self is the list (a ttk.Frame)
        on, each = self._for_target, self._for_selection
        menu.add_command(
            label="Generate", command=each(lambda ids: self.actions.generate(ids, None, False))
        )
        menu.add_command(
            label="Regenerate (new seed)", command=each(lambda ids: self.actions.generate(ids))
        )
        tiers = tk.Menu(menu, tearoff=False)
        for tier in QUALITY_TIERS:
            tiers.add_command(
                label=tier, command=each(lambda ids, t=tier: self.actions.generate(ids, t))
            )
        menu.add_cascade(label="Regenerate at tier", menu=tiers)
        variations = each(lambda ids: self.actions.variations(ids))
        menu.add_command(label="Variations…", command=variations)
        self.tier_menu = tiers
        menu.add_separator()
        menu.add_command(label="Duplicate", command=on(self.actions.duplicate))
        menu.add_command(label="Cancel jobs", command=on(self.actions.cancel_jobs))
        menu.add_command(label="Favorite", command=each(self.actions.toggle_favorite))
        menu.add_command(label="Add tag…", command=each(self.actions.add_tag))
        menu.add_command(label="Open output folder", command=on(self.actions.open_folder))
        menu.add_command(label="Copy prompt text", command=on(self.actions.copy_text))
        menu.add_separator()
        menu.add_command(label="Delete", command=each(self.actions.delete))
        menu.add_command(label="Restore from trash", command=on(self.actions.restore, refresh=True))
        return menu

    def _for_target(
        self, action: Callable[[int], object], *, refresh: bool = False
    ) -> Callable[[], None]:
        def run() -> None:
            prompt_id = self._menu_id if self._menu_id is not None else self.state.selected_id
            if prompt_id is None:
                return
            action(prompt_id)
            if refresh:
                self.refresh()

        return run

    def _for_selection(self, action: Callable[[list[int]], object]) -> Callable[[], None]:
        def run() -> None:
            ids = self.selected_ids()
            if ids:
                action(ids)

        return run
