"""The takes gallery's context menu, as a part of TakesGallery: open, show, copy, details,
compare, batch grid, circle, rate, regenerate and delete; it acts on the take right-clicked
(rating: on every selected take)."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.compare_state import TakeSelection
from app.gallery_state import take_details
from app.views.take_choice import TakeChoice
from core.models import ArtifactRecord, MediaKind

if TYPE_CHECKING:
    from app.views.gallery import GalleryActions


class TakeMenu:
    actions: GalleryActions
    choice: TakeChoice
    selection: TakeSelection
    menu: tk.Menu
    records: Sequence[ArtifactRecord]
    _menu_record: ArtifactRecord | None
    path_of: Callable[[ArtifactRecord], Path]
    compare_selected: Callable[[], None]
    record_at: Callable[[int, int], ArtifactRecord | None]
    _mark_selection: Callable[[], None]

    def _build_menu(self) -> tk.Menu:
        menu = tk.Menu(self, tearoff=False)
        items = [
            ("Open", lambda r: self.actions.open_file(self.path_of(r))),
            ("Show in folder", lambda r: self.actions.show_in_folder(self.path_of(r))),
            ("Copy path", lambda r: self.actions.copy_path(self.path_of(r))),
            ("Details…", self.show_details),
            ("Compare selected (C)", lambda _r: self.compare_selected()),
            ("Show batch as grid…", lambda r: self.actions.show_batch(r)),
            (None, None),
            ("Circle as the take (Enter)", lambda r: self.choice.circle(r.id)),
            ("Rate", None),
            (None, None),
            ("Regenerate same seed", lambda r: self.actions.regenerate_same_seed(r.id)),
            ("Regenerate from this take", lambda r: self.actions.regenerate_from_take(r.id)),
            (None, None),
            ("Delete take", lambda r: self.actions.delete_take(r.id)),
        ]
        for label, action in items:
            if label is None:
                menu.add_separator()
            elif action is None:
                menu.add_cascade(label="Rate (keys 0–5)", menu=self._rating_menu(menu))
            else:
                menu.add_command(label=label, command=lambda a=action: self._menu_command(a))
        return menu

    def _rating_menu(self, parent: tk.Menu) -> tk.Menu:
        """Rate every selected take (the right-clicked one is among them)."""
        menu = tk.Menu(parent, tearoff=False)
        for rating in range(6):
            menu.add_command(
                label=f"{rating}  " + ("★" * rating or "no rating"),
                command=lambda n=rating: self.choice.rate(list(self.selection.ids), n),
            )
        return menu

    def show_details(self, record: ArtifactRecord) -> tk.Toplevel:
        """A small window with the take's details and the texts its workflow displayed."""
        window = tk.Toplevel(self)
        window.title(f"Take {record.id}")
        text = tk.Text(window, wrap="word", width=72, height=14)
        text.insert("1.0", take_details(record))
        text.configure(state="disabled")
        text.pack(fill="both", expand=True, padx=8, pady=8)
        window.bind("<Escape>", lambda event: window.destroy())
        return window

    def _menu_command(self, action: Callable[[ArtifactRecord], None]) -> None:
        if self._menu_record is not None:
            action(self._menu_record)

    def _on_context_click(self, event: tk.Event) -> None:
        record = self.record_at(event.x, event.y)
        if record is not None:
            if record.id not in self.selection.ids:  # right-click acts on what it points at
                self.selection.click(record.id)
                self._mark_selection()
            self._menu_record = record
            video = record.kind == MediaKind.VIDEO  # a video plays in the system's player
            self.menu.entryconfigure(0, label="Play in system player" if video else "Open")
            self.post_menu(event.x_root, event.y_root)

    def post_menu(self, x_root: int, y_root: int) -> None:
        """Show the take menu (its own method so tests can stub the modal tk_popup)."""
        try:
            self.menu.tk_popup(x_root, y_root)
        finally:
            self.menu.grab_release()
