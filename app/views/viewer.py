"""The take viewer: one take inside the window, over the prompt list and the tabs.

Pictures fit, zoom (wheel, + and -, Ctrl+0 fit, Ctrl+1 1:1) and pan (drag) in an ImagePane;
video takes show their poster, songs play in an AudioPanel (the MediaPanel seam below), which
gets Space, ← and → first. ← and → (and Page Up/Down) step through the prompt's takes in the
gallery's order, Escape goes back. The side panel lists the take's facts
(viewer_state.take_facts), the exact workflow behind "Show workflow", and Copy seed, Regenerate
with this seed and Open in the system's viewer or player.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk
from typing import Protocol

from app import theme
from app.viewer_state import media_of, seed_of, step, take_facts, zoom_label
from app.views.audio_panel import AudioPanel
from app.views.image_pane import ImagePane
from core.models import ArtifactRecord

OPEN_LABELS = {
    "image": "Open in system viewer",
    "video": "Play in system player",
    "audio": "Open in system player",
    "text": "Open in system viewer",
}
SIDE_WIDTH = 44  # characters of the side panel's text


class MediaPanel(Protocol):
    """A take's media that plays (app/views/audio_panel.AudioPanel; issue 14 part C). Made as
    `AudioPanel(parent, record, media_path, preview_path)`; Tk thread only."""

    can_play: bool

    def key(self, keysym: str) -> bool:
        """Space, Left, Right…: True when the panel used the key (the viewer then does not)."""
        ...

    def position_s(self) -> float | None:
        """The playhead while playing, else None (compare's A/B)."""
        ...

    def playhead_s(self) -> float:
        """The playhead, playing or paused."""
        ...

    def play_from(self, seconds: float) -> None: ...
    def seek_to(self, seconds: float) -> None: ...
    def pause(self) -> None: ...

    def close(self) -> None:
        """Stop and let go of the audio device (before the widget is destroyed)."""
        ...


class ViewerActions(Protocol):
    """What the viewer asks the window to do (Tk thread)."""

    def open_file(self, path: Path) -> None: ...
    def regenerate_same_seed(self, artifact_id: int) -> None: ...
    def viewer_closed(self, artifact_id: int | None) -> None:
        """Back to the gallery: select this take (None: keep the selection)."""
        ...


def media_widget(parent: tk.Misc, record: ArtifactRecord, home: Path) -> tk.Widget:
    """The widget that shows a take's media: a zoomable picture (the poster of a video, the
    preview of a text take) or the AudioPanel of a song."""
    media = media_of(record)
    preview = home / record.preview_path if record.preview_path else None
    if media == "audio":
        return AudioPanel(parent, record, home / record.path, preview)
    pane = ImagePane(parent)
    pane.show(home / record.path if media == "image" else None, preview, size_of(record))
    if preview is None and media != "image":
        pane.say("no preview of this take yet — open it in the system's player")
    return pane


def size_of(record: ArtifactRecord) -> tuple[int, int] | None:
    """The take's picture size as the library recorded it (None: not recorded)."""
    return (record.width, record.height) if record.width and record.height else None


def cover(widget: tk.Widget, host: tk.Widget) -> None:
    """Show `widget` over `host` (same size, on top) and give it the keys."""
    widget.place(in_=host, x=0, y=0, relwidth=1, relheight=1)
    widget.lift()
    widget.focus_set()


class TakeViewer(ttk.Frame):
    def __init__(
        self,
        parent: tk.Misc,
        records: list[ArtifactRecord],
        artifact_id: int,
        home: Path,
        actions: ViewerActions,
    ):
        super().__init__(parent, padding=theme.PAD)
        self.records, self.home, self.actions = records, Path(home), actions
        self.record = records[0]
        self.media: tk.Widget | None = None
        self._keys = f"TakeViewer{id(self)}"  # bind tags: keys work wherever the focus is
        self._nav = self._keys + "nav"  # only Escape and Page Up/Down: for a song's panel
        self._workflow_shown = False
        self._build_bar()
        body = ttk.Frame(self)
        body.pack(fill="both", expand=True, pady=(theme.PAD, 0))
        self.side = self._build_side(body)
        self.side.pack(side="right", fill="y", padx=(theme.PAD, 0))
        self.area = ttk.Frame(body)
        self.area.pack(side="left", fill="both", expand=True)
        self._bind_keys()
        self.show(artifact_id)

    # --- public ---------------------------------------------------------------------------

    @property
    def picture(self) -> ImagePane | None:
        return self.media if isinstance(self.media, ImagePane) else None

    def show(self, artifact_id: int) -> None:
        """Show one of the prompt's takes (its media and its facts)."""
        self.record = next(r for r in self.records if r.id == artifact_id)
        self._drop_media()
        self.media = media_widget(self.area, self.record, self.home)
        self.media.pack(fill="both", expand=True)
        self._tag(self.media)
        if self.picture is not None:
            self.picture.painted.append(lambda _stage: self._show_zoom())
        self._fill_side()

    def step(self, delta: int) -> None:
        ids = [record.id for record in self.records]
        target = step(ids, self.record.id, delta)
        if target != self.record.id:
            self.show(target)

    def zoom(self, how: str) -> None:
        """Zoom the picture: "in", "out", "fit" or "1:1" (keys, buttons)."""
        if self.picture is not None:
            self.picture.zoom(how)
            self._show_zoom()

    def copy_seed(self) -> None:
        seed = seed_of(self.record)
        if seed is not None:
            self.clipboard_clear()
            self.clipboard_append(str(seed))
            self.note.configure(text=f"Seed {seed} copied")

    def regenerate(self) -> None:
        self.actions.regenerate_same_seed(self.record.id)
        self.note.configure(text=f"Queued with seed {seed_of(self.record)} — see the queue below")

    def close(self) -> None:
        """Escape: back to the gallery, which selects the take shown last."""
        shown = self.record.id
        self._drop_media()
        self.destroy()
        self.actions.viewer_closed(shown)

    def _drop_media(self) -> None:
        if isinstance(self.media, AudioPanel):
            self.media.close()  # a song stops playing
        if self.media is not None:
            self.media.destroy()

    # --- building -------------------------------------------------------------------------

    def _build_bar(self) -> None:
        bar = ttk.Frame(self)
        bar.pack(fill="x")
        ttk.Button(bar, text="← Takes (Esc)", command=self.close).pack(side="left")
        self.title = ttk.Label(bar)
        self.title.pack(side="left", padx=theme.PAD)
        self.zoom_text = zoom_bar(bar, self.zoom)
        for child in bar.winfo_children():
            self._tag(child)

    def _build_side(self, parent: tk.Misc) -> ttk.Frame:
        side = ttk.Frame(parent)
        buttons = ttk.Frame(side)
        buttons.pack(fill="x")
        self.copy_button = ttk.Button(buttons, text="Copy seed", command=self.copy_seed)
        self.copy_button.pack(side="left")
        self.regenerate_button = ttk.Button(
            buttons, text="Regenerate with this seed", command=self.regenerate
        )
        self.regenerate_button.pack(side="left", padx=theme.PAD)
        self.open_button = ttk.Button(side, command=self._open)
        self.open_button.pack(fill="x", pady=theme.PAD)
        self.note = ttk.Label(side, wraplength=SIDE_WIDTH * 7)
        self.note.pack(fill="x")
        self.facts = _text_box(side, height=14)
        self.workflow_button = ttk.Button(side, command=self._toggle_workflow)
        self.workflow_button.pack(fill="x", pady=(theme.PAD, 0))
        self.workflow = _text_box(side, height=16, pack=False, font="TkFixedFont")
        for widget in (side, buttons, self.copy_button, self.regenerate_button, self.open_button):
            self._tag(widget)
        return side

    def _fill_side(self) -> None:
        record, facts = self.record, take_facts(self.record)
        ids = [r.id for r in self.records]
        self.title.configure(text=f"Take {ids.index(record.id) + 1} of {len(ids)}")
        _set_text(self.facts, "\n".join(facts.lines))
        _set_text(self.workflow, facts.workflow or "This take has no workflow.")
        seed = seed_of(record)
        self.copy_button.state(["!disabled"] if seed is not None else ["disabled"])
        self.regenerate_button.state(["!disabled"] if seed is not None else ["disabled"])
        self.open_button.configure(text=OPEN_LABELS[media_of(record)])
        self.note.configure(text="")
        self._show_workflow(self._workflow_shown)
        self._show_zoom()

    def _toggle_workflow(self) -> None:
        self._show_workflow(not self._workflow_shown)

    def _show_workflow(self, shown: bool) -> None:
        self._workflow_shown, frame = shown, self.workflow.master
        if shown:
            frame.pack(fill="both", expand=True, pady=(theme.PAD, 0))
        else:
            frame.pack_forget()
        self.workflow_button.configure(text="Hide workflow" if shown else "Show workflow")

    def _show_zoom(self) -> None:
        scale = self.picture.scale if self.picture is not None else None
        self.zoom_text.configure(text=zoom_label(scale) if scale else "")

    def _open(self) -> None:
        self.actions.open_file(self.home / self.record.path)

    # --- keys -----------------------------------------------------------------------------

    def _bind_keys(self) -> None:
        navigation: dict[str, Callable[[], None]] = {
            "<Escape>": self.close,
            "<Prior>": lambda: self.step(-1),
            "<Next>": lambda: self.step(1),
        }
        keys = {
            **navigation,
            "<Left>": lambda: self._offered("Left") or self.step(-1),
            "<Right>": lambda: self._offered("Right") or self.step(1),
            "<space>": lambda: self._offered("space"),
            **zoom_keys(self.zoom),
        }
        bind_keys(self, self._keys, keys)
        bind_keys(self, self._nav, navigation)
        self._tag(self)
        for box in (self.facts, self.workflow):  # text boxes keep their arrows; Escape leaves
            box.bind("<Escape>", lambda _e: self.close())

    def _offered(self, keysym: str) -> bool:
        """A song's panel gets Space and the arrows first (play/pause, seek)."""
        return isinstance(self.media, AudioPanel) and self.media.key(keysym)

    def _tag(self, widget: tk.Misc) -> None:
        """Let this widget's keys reach the viewer; a song's panel keeps Space and the arrows
        (it seeks with them), so it and its parts get only Escape and Page Up/Down."""
        if isinstance(widget, AudioPanel):
            for part in (widget, *descendants(widget)):
                part.bindtags((self._nav, *part.bindtags()))
        else:
            widget.bindtags((self._keys, *widget.bindtags()))


def zoom_bar(bar: ttk.Frame, zoom: Callable[[str], None]) -> ttk.Label:
    """+, −, 1:1 and Fit at the right of a bar, and the label that shows the zoom."""
    label = ttk.Label(bar, width=8, anchor="e")
    for text, how in (("+", "in"), ("−", "out"), ("1:1", "1:1"), ("Fit", "fit")):
        button = ttk.Button(bar, text=text, width=4, command=lambda h=how: zoom(h))
        button.pack(side="right", padx=(theme.PAD // 2, 0))
    label.pack(side="right")
    return label


def zoom_keys(zoom: Callable[[str], None]) -> dict[str, Callable[[], None]]:
    """+ (or =) and − zoom, Ctrl+0 fits, Ctrl+1 shows 1:1."""
    keys = {"<plus>": "in", "<equal>": "in", "<KP_Add>": "in", "<minus>": "out"}
    keys |= {"<KP_Subtract>": "out", "<Control-Key-0>": "fit", "<Control-Key-1>": "1:1"}
    return {sequence: lambda h=how: zoom(h) for sequence, how in keys.items()}


def bind_keys(widget: tk.Misc, tag: str, keys: dict[str, Callable[[], None]]) -> None:
    """Bind `keys` to the bind tag `tag` (widgets listing the tag get them)."""
    for sequence, command in keys.items():
        widget.bind_class(tag, sequence, lambda _e, c=command: c())


def descendants(widget: tk.Misc) -> list[tk.Misc]:
    children = widget.winfo_children()
    return children + [d for child in children for d in descendants(child)]


def _text_box(parent: tk.Misc, *, height: int, pack: bool = True, font: str = "") -> tk.Text:
    """A read-only, scrollable text (its frame is packed unless `pack` is False)."""
    frame = ttk.Frame(parent)
    text = tk.Text(frame, width=SIDE_WIDTH, height=height, wrap="word", borderwidth=0)
    if font:
        text.configure(font=font, wrap="none")
    bar = ttk.Scrollbar(frame, orient="vertical", command=text.yview)
    text.configure(yscrollcommand=bar.set, state="disabled")
    bar.pack(side="right", fill="y")
    text.pack(side="left", fill="both", expand=True)
    if pack:
        frame.pack(fill="both", expand=True, pady=(theme.PAD, 0))
    theme.follow(text, lambda p: text.configure(background=p.tooltip, foreground=p.text))
    return text


def _set_text(box: tk.Text, content: str) -> None:
    box.configure(state="normal")
    box.delete("1.0", "end")
    box.insert("1.0", content)
    box.configure(state="disabled")
