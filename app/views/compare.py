"""Compare: 2–4 takes side by side, over the prompt list and the tabs, with a table of only the
settings that differ (compare_state.differences).

Pictures zoom and pan together: each pane reports its new ZoomPan (zoom relative to fit, centre
as a fraction), which the other panes show. Songs play in an AudioPanel each (viewer.MediaPanel):
A, B, C, D make that take the one heard — at the same position when one is playing (A/B) — and
Space plays or pauses it. Escape goes back to the gallery.
"""

from __future__ import annotations

from pathlib import Path
from tkinter import ttk

from app import theme
from app.compare_state import differences
from app.gallery_state import caption
from app.viewer_state import ZoomPan, media_of, zoom_label
from app.views.audio_panel import AudioPanel
from app.views.image_pane import ImagePane
from app.views.viewer import (
    ViewerActions,
    bind_keys,
    descendants,
    size_of,
    zoom_bar,
    zoom_keys,
)
from core.models import ArtifactRecord


class CompareView(ttk.Frame):
    def __init__(
        self,
        parent: ttk.Frame,
        records: list[ArtifactRecord],
        home: Path,
        actions: ViewerActions,
    ):
        super().__init__(parent, padding=theme.PAD)
        self.records, self.home, self.actions = records, Path(home), actions
        self._keys = f"CompareView{id(self)}"
        bar = ttk.Frame(self)
        bar.grid(row=0, column=0, sticky="ew")
        ttk.Button(bar, text="← Takes (Esc)", command=self.close).pack(side="left")
        ttk.Label(bar, text=f"Comparing {len(records)} takes").pack(side="left", padx=theme.PAD)
        self.zoom_text = zoom_bar(bar, self.zoom)
        self.panes: list[ImagePane] = []  # the pictures, zoomed together
        self.players: dict[int, AudioPanel] = {}  # the songs, by column
        self.heard = 0  # the column A/B plays
        self._build_columns()
        self.table = self._build_table()
        self.columnconfigure(0, weight=1)
        self.rowconfigure(1, weight=1)
        letters = {f"<KeyPress-{chr(97 + i)}>": lambda i=i: self.listen(i) for i in self.players}
        song_keys = {"<Escape>": self.close, **letters}  # a player keeps Space and the arrows
        keys = {**song_keys, "<space>": self._play_pause, **zoom_keys(self.zoom)}
        bind_keys(self, self._keys, keys)
        bind_keys(self, self._keys + "song", song_keys)
        for widget in (self, *bar.winfo_children(), *self.panes, self.table):
            widget.bindtags((self._keys, *widget.bindtags()))
        for player in self.players.values():
            for part in (player, *descendants(player)):
                part.bindtags((self._keys + "song", *part.bindtags()))

    def zoom(self, how: str) -> None:
        """Zoom the first pane ("in", "out", "fit" or "1:1"); the others follow."""
        if self.panes:
            self.panes[0].zoom(how)

    def listen(self, column: int) -> None:
        """A/B: the song in `column` becomes the one heard, from where the other one was."""
        target, current = self.players.get(column), self.players.get(self.heard)
        if target is None:
            return
        position = current.position_s() if current is not None else None
        if current is not None and current is not target:
            current.pause()
            target.seek_to(current.playhead_s())  # paused too: the other take waits there
        if position is not None:
            target.play_from(position)
        self.heard = column

    def _play_pause(self) -> None:
        if self.heard in self.players:
            self.players[self.heard].key("space")

    def close(self) -> None:
        for player in self.players.values():
            player.close()
        self.destroy()
        self.actions.viewer_closed(None)

    # --- building -------------------------------------------------------------------------

    def _build_columns(self) -> None:
        """A heading and the take's picture (zoomed with the others) or its song player."""
        row = ttk.Frame(self)
        row.grid(row=1, column=0, sticky="nsew", pady=theme.PAD)
        row.rowconfigure(1, weight=1)
        for column, record in enumerate(self.records):
            row.columnconfigure(column, weight=1, uniform="take")
            heading = ttk.Label(row, text=_title(column, record), anchor="center")
            heading.grid(row=0, column=column, sticky="ew")
            media = media_of(record)
            preview = self.home / record.preview_path if record.preview_path else None
            if media == "audio":
                player = AudioPanel(row, record, self.home / record.path, preview)
                player.grid(row=1, column=column, sticky="new", padx=theme.PAD // 2)
                self.players[column] = player
                continue
            pane = ImagePane(row, on_view=self._sync)
            full = self.home / record.path if media == "image" else None
            pane.show(full, preview, size_of(record))
            pane.painted.append(lambda _stage: self._show_zoom())
            pane.grid(row=1, column=column, sticky="nsew", padx=theme.PAD // 2)
            self.panes.append(pane)
        self.heard = min(self.players, default=0)

    def _build_table(self) -> ttk.Treeview:
        """Only the settings that differ; the first take is what the prompt words are against."""
        rows = differences(self.records)
        columns = [f"t{i}" for i in range(len(self.records))]
        table = ttk.Treeview(
            self, columns=["setting", *columns], height=max(1, len(rows)), show="headings"
        )
        table.heading("setting", text="setting")
        table.column("setting", width=110, stretch=False)
        for i, record in enumerate(self.records):
            table.heading(f"t{i}", text=_title(i, record))
            table.column(f"t{i}", width=160, stretch=True)
        for row in rows:
            table.insert("", "end", values=(row.setting, *row.values))
        if rows:
            table.grid(row=3, column=0, sticky="ew")
        else:
            same = ttk.Label(self, text="These takes were made with the same settings.")
            same.grid(row=3, column=0)
        return table

    # --- synchronised zoom ----------------------------------------------------------------

    def _sync(self, view: ZoomPan) -> None:
        """One pane was zoomed or panned: the others show the same part of their picture."""
        for pane in self.panes:
            if pane.view != view:
                pane.set_view(view)
        self._show_zoom()

    def _show_zoom(self) -> None:
        scale = self.panes[0].scale if self.panes else None
        self.zoom_text.configure(text=zoom_label(scale) if scale else "")


def _title(index: int, record: ArtifactRecord) -> str:
    """The pane's heading, e.g. A · take 12 · standard · seed 7."""
    details = caption(record).splitlines()
    return " · ".join([chr(ord("A") + index), f"take {record.id}", *details[:1]])
