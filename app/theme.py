"""The window's look: the Sun Valley ttk theme (sv-ttk), light or dark, following the OS setting
where it can be read (darkdetect: macOS, Windows, GNOME's color-scheme; elsewhere light).

Why sv-ttk (judged on this window under Xvfb, bench/RESULTS.md): every ttk widget the window
uses is styled in both modes (ttkbootstrap 2.2 left the prompt list's empty area white in dark
mode and cramped the notebook tabs), it restyles the classic Tk widgets and menus itself
(tk_setPalette), and it is one Tcl file with no Python dependencies.

The canvas widgets (takes gallery, status bar) draw their own colours: they call `follow()`
and get a Palette now and after each switch. Tk thread only, except `detect()`.
"""

from __future__ import annotations

import logging
import queue
import threading
import tkinter as tk
from collections.abc import Callable
from dataclasses import dataclass
from tkinter import font as tkfont
from tkinter import ttk

import sv_ttk

log = logging.getLogger(__name__)
SYSTEM, LIGHT, DARK = "system", "light", "dark"
MODES = (LIGHT, DARK, SYSTEM)
MODE_LABELS = {LIGHT: "Light", DARK: "Dark", SYSTEM: "Follow system"}
ROW_HEIGHT = 26  # the lists' rows: room for a 16 px icon and the body font
PAD = 6  # the spacing unit between widgets
FLAT_ITEM = [
    (
        "Treeitem.padding",
        {
            "sticky": "nswe",
            "children": [
                ("Treeitem.image", {"side": "left", "sticky": ""}),
                ("Treeitem.text", {"sticky": "nswe"}),
            ],
        },
    )
]


@dataclass(frozen=True)
class Palette:
    """Colours for what ttk does not draw (canvases, tooltips, banners), per mode."""

    name: str
    background: str  # the window's, as the theme paints it
    text: str
    muted: str  # captions, hints
    canvas: str  # the gallery's backdrop
    tile: str  # a take's picture box
    tooltip: str
    banner: str  # the demo banner's background (its text is `banner_text`)
    banner_text: str


PALETTES = {
    LIGHT: Palette(
        name=LIGHT,
        background="#fafafa",
        text="#1c1c1c",
        muted="#5f5f5f",
        canvas="#f0f0f0",
        tile="#dcdcdc",
        tooltip="#ffffff",
        banner="#fff3bf",
        banner_text="#3d3000",
    ),
    DARK: Palette(
        name=DARK,
        background="#1c1c1c",
        text="#fafafa",
        muted="#a0a0a0",
        canvas="#202020",
        tile="#2f2f2f",
        tooltip="#2b2b2b",
        banner="#4a3f10",
        banner_text="#fff3bf",
    ),
}


def parse_mode(value: object) -> str:
    """A remembered mode, or "system" for anything else (an old or hand-edited layout file)."""
    return value if value in MODES else SYSTEM


def resolve(mode: str, system: str | None) -> str:
    """The theme to show: the chosen one, or the OS's ("Dark"/"Light"/None → light)."""
    if mode in (LIGHT, DARK):
        return mode
    return DARK if (system or "").lower() == DARK else LIGHT


def detect() -> str | None:
    """The OS setting ("Dark", "Light") or None when it cannot be read. May run a short
    subprocess (gsettings on Linux): call it off the Tk thread once the window runs."""
    try:
        import darkdetect

        return darkdetect.theme()
    except Exception as exc:  # noqa: BLE001 — any failure means "cannot be read": light
        log.info("the system's dark/light setting could not be read: %s", exc)
        return None


def detect_later(root: tk.Misc, on_done: Callable[[str | None], None]) -> None:
    """detect() on a worker; on_done(result) on the Tk thread (polled with after())."""
    results: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    threading.Thread(target=lambda: results.put(detect()), name="theme-detect", daemon=True).start()

    def poll() -> None:
        try:
            found = results.get_nowait()
        except queue.Empty:
            root.after(20, poll)
            return
        on_done(found)

    root.after(20, poll)


def apply(root: tk.Tk, name: str) -> None:
    """Show theme `name` ("light" or "dark") on every widget of the window, now."""
    sv_ttk.set_theme(name, root)
    style = ttk.Style(root)
    body = tkfont.nametofont("SunValleyBodyFont", root)
    strong = tkfont.nametofont("SunValleyBodyStrongFont", root)
    for font in ("TkDefaultFont", "TkTextFont", "TkMenuFont"):  # canvases, Text, menus: one type
        tkfont.nametofont(font, root).configure(**body.actual())
    style.configure("Treeview", rowheight=ROW_HEIGHT, font=body)
    style.layout("Treeview.Item", FLAT_ITEM)  # flat lists: no room kept for an open/close sign
    style.configure("Treeview.Heading", font=strong)
    style.configure("Toolbutton", padding=(PAD, PAD // 2))
    _notify(root, PALETTES[name])


def current(widget: tk.Misc) -> Palette:
    """The palette of the theme the window shows now."""
    dark = ttk.Style(widget).theme_use() == "sun-valley-dark"
    return PALETTES[DARK if dark else LIGHT]


def follow(widget: tk.Misc, recolor: Callable[[Palette], None]) -> None:
    """recolor(palette) now and after every theme switch of the widget's window, while the
    widget exists (Tk sends <<ThemeChanged>> to ttk widgets only, not to canvases)."""
    root = widget._root()
    followers = root.__dict__.setdefault("_theme_followers", [])
    _prune(followers)  # widgets destroyed since (a viewer's pictures) are let go now
    followers.append((widget, recolor))
    recolor(current(widget))


def _prune(followers: list[tuple[tk.Misc, Callable[[Palette], None]]]) -> None:
    followers[:] = [(w, recolor) for w, recolor in followers if w.winfo_exists()]


def _notify(root: tk.Tk, colours: Palette) -> None:
    followers = root.__dict__.get("_theme_followers", [])
    _prune(followers)
    for _widget, recolor in followers:
        recolor(colours)
