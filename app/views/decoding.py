"""Decoding off the Tk thread: the picture and sound decoders' worker threads run at low
priority, and thumbnails are decoded and shrunk there (no Tk here)."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from PIL import Image


def lower_priority() -> None:
    """A worker thread's initializer: nice it so decoding never slows the window."""
    with contextlib.suppress(AttributeError, OSError):  # Linux only: threads are tasks
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def load_thumbnail(path: Path, size: int) -> Image.Image:
    """Decode and shrink one preview file to fit a `size` square (worker thread)."""
    with Image.open(path) as image:
        image.draft("RGB", (size, size))  # JPEG: DCT-domain downscale; others: no-op
        image.thumbnail((size, size))
        return image.convert("RGBA" if "A" in image.getbands() else "RGB")
