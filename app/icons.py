"""Small icons for the media kinds and the main actions, one PNG per theme mode in
app/assets/icons/ (package data). They are drawn here with Pillow at build time:

    python -m app.icons          # rewrites app/assets/icons/*.png

and only loaded at run time (tk.PhotoImage reads PNG; no Pillow, no drawing, no network). A
switch of theme swaps each PhotoImage's file, so every widget showing one follows at once.
"""

from __future__ import annotations

import sys
import tkinter as tk
from collections.abc import Callable
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "assets" / "icons"
SIZE = 16
SCALE = 4  # drawn 4x larger, then shrunk: smooth edges
# Per mode: the ink of the action icons and the colour of each kind.
INK = {"light": "#3b3b3b", "dark": "#e6e6e6"}
KIND_COLOURS = {
    "light": {"image": "#1f6fcf", "audio": "#8e44c9", "video": "#d3651b"},
    "dark": {"image": "#5ea8ff", "audio": "#c191ef", "video": "#ff9d57"},
}
GENERATE = {"light": "#1e8a3e", "dark": "#4fd27a"}
DELETE = {"light": "#c0392b", "dark": "#ff7b6b"}
NAMES = ("image", "audio", "video", "new", "generate", "delete", "settings", "pause", "resume")


def icon_path(name: str, mode: str) -> Path:
    return FOLDER / f"{name}-{mode}.png"


class Icons:
    """The icons of one window; `photo(name)` is shared by every widget that shows it."""

    def __init__(self, root: tk.Misc, mode: str = "light"):
        self.root, self.mode = root, mode
        self._photos: dict[str, tk.PhotoImage] = {}

    def photo(self, name: str) -> tk.PhotoImage:
        if name not in self._photos:
            self._photos[name] = tk.PhotoImage(master=self.root, file=icon_path(name, self.mode))
        return self._photos[name]

    def use(self, mode: str) -> None:
        """Switch every icon to `mode`'s drawing (after a theme switch)."""
        self.mode = mode
        for name, photo in self._photos.items():
            photo.configure(file=icon_path(name, mode))


# --- drawing (build time; Pillow) ---------------------------------------------------------------


def draw(name: str, mode: str):
    """One icon as a Pillow RGBA image of SIZE x SIZE."""
    from PIL import Image, ImageDraw

    big = SIZE * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    DRAWERS[name](pen, big, _colour(name, mode))
    return image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def _colour(name: str, mode: str) -> str:
    if name in KIND_COLOURS[mode]:
        return KIND_COLOURS[mode][name]
    return {"generate": GENERATE, "delete": DELETE}.get(name, INK)[mode]


def _image(pen, s: int, c: str) -> None:
    pen.rounded_rectangle((4, 8, s - 4, s - 8), radius=8, outline=c, width=6)
    pen.polygon([(10, s - 14), (26, 30), (36, 42), (44, 34), (s - 10, s - 14)], fill=c)
    pen.ellipse((40, 16, 50, 26), fill=c)


def _audio(pen, s: int, c: str) -> None:
    pen.rectangle((38, 8, 44, 46), fill=c)
    pen.polygon([(38, 8), (56, 14), (56, 24), (44, 19)], fill=c)
    pen.ellipse((18, 38, 44, 58), fill=c)


def _video(pen, s: int, c: str) -> None:
    pen.rounded_rectangle((4, 12, 44, 52), radius=8, fill=c)
    pen.polygon([(46, 26), (60, 16), (60, 48), (46, 38)], fill=c)


def _new(pen, s: int, c: str) -> None:
    pen.rounded_rectangle((28, 8, 36, s - 8), radius=3, fill=c)
    pen.rounded_rectangle((8, 28, s - 8, 36), radius=3, fill=c)


def _generate(pen, s: int, c: str) -> None:
    pen.polygon([(32, 4), (38, 26), (60, 32), (38, 38), (32, 60), (26, 38), (4, 32), (26, 26)], c)


def _delete(pen, s: int, c: str) -> None:
    pen.rectangle((10, 12, 54, 18), fill=c)
    pen.rectangle((24, 6, 40, 12), fill=c)
    pen.polygon([(14, 22), (50, 22), (46, 58), (18, 58)], fill=c)


def _settings(pen, s: int, c: str) -> None:
    for box in ((28, 2, 36, 62), (2, 28, 62, 36)):
        pen.rectangle(box, fill=c)
    pen.polygon([(10, 14), (14, 10), (54, 50), (50, 54)], fill=c)
    pen.polygon([(50, 10), (54, 14), (14, 54), (10, 50)], fill=c)
    pen.ellipse((12, 12, 52, 52), fill=c)
    pen.ellipse((24, 24, 40, 40), fill=(0, 0, 0, 0))


def _pause(pen, s: int, c: str) -> None:
    pen.rounded_rectangle((14, 10, 26, 54), radius=3, fill=c)
    pen.rounded_rectangle((38, 10, 50, 54), radius=3, fill=c)


def _resume(pen, s: int, c: str) -> None:
    pen.polygon([(16, 8), (56, 32), (16, 56)], fill=c)


DRAWERS: dict[str, Callable] = {
    "image": _image,
    "audio": _audio,
    "video": _video,
    "new": _new,
    "generate": _generate,
    "delete": _delete,
    "settings": _settings,
    "pause": _pause,
    "resume": _resume,
}


def write_all(folder: Path = FOLDER) -> list[Path]:
    """Draw every icon in both modes into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for mode in INK:
        for name in NAMES:
            path = folder / f"{name}-{mode}.png"
            draw(name, mode).save(path, optimize=True)
            written.append(path)
    return written


if __name__ == "__main__":
    print(f"{len(write_all())} icons in {FOLDER}", file=sys.stderr)
