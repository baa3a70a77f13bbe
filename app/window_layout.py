"""Where the window opens and how it was left: the first window's size, the panes' default
sashes, and the size, sashes and theme saved at quit (<home>/window.json)."""

from __future__ import annotations

import json
import logging
import tkinter as tk
from pathlib import Path
from tkinter import ttk
from typing import Any

from core import atomic

log = logging.getLogger(__name__)
MIN_SIZE, MAX_SIZE = (1000, 650), (2400, 1500)
FIRST_SHARE = 0.8  # of the screen, for the first window (later ones restore the saved size)
LAYOUT_FILE = "window.json"


def first_geometry(screen_w: int, screen_h: int) -> str:
    """The first window: 80 % of the screen within MIN_SIZE..MAX_SIZE (never over the screen),
    centred."""
    size = [
        min(screen, max(low, min(high, int(screen * FIRST_SHARE))))
        for screen, low, high in zip((screen_w, screen_h), MIN_SIZE, MAX_SIZE, strict=True)
    ]
    return f"{size[0]}x{size[1]}+{(screen_w - size[0]) // 2}+{(screen_h - size[1]) // 2}"


def default_panes(geometry: str) -> list[int]:
    """Sash positions without a saved layout: the queue below 56 % of the height, the list
    left of 55 % of the width (not the panes' natural sizes, which follow their widgets)."""
    try:
        width, height = (int(v) for v in geometry.split("+")[0].split("x"))
    except ValueError:
        return []
    return [int(height * 0.56), int(width * 0.55)]  # the queue has room for a preview


def read_layout(home: Path) -> dict[str, Any]:
    """Size and pane positions from the last session ({} when none or unreadable)."""
    try:
        layout = json.loads((home / LAYOUT_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return layout if isinstance(layout, dict) else {}


def restore_panes(root: tk.Tk, panes: tuple[ttk.PanedWindow, ...], positions: list[Any]) -> None:
    root.update_idletasks()
    for pane, position in zip(panes, positions, strict=False):
        try:
            pane.sashpos(0, int(position))
        except (tk.TclError, TypeError, ValueError):
            log.info("pane position %r not restored", position)


def save_layout(root: tk.Tk, panes: tuple[ttk.PanedWindow, ...], theme: str, home: Path) -> None:
    layout = {
        "geometry": root.geometry(),
        "panes": [pane.sashpos(0) for pane in panes],
        "theme": theme,
    }
    try:
        atomic.write_text(home / LAYOUT_FILE, json.dumps(layout))
    except OSError as exc:
        log.info("window layout not saved: %s", exc)
