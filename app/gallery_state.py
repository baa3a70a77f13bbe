"""Plain-Python state behind the takes gallery and what shows a take (no tkinter here).

- caption() and take_details() say what a take is; is_text_take() finds the takes of
  workflows whose only output is text.
- GridLayout places gallery tiles in a width and says which ones a scrolled window shows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from core.models import ArtifactRecord


def caption(record: ArtifactRecord) -> str:
    """'tier · seed' over the date, from the take's metadata (missing parts are left out;
    a text take says so first). Two lines at most, so captions never run into the next row."""
    meta = record.metadata
    parts = ["text" if is_text_take(record) else ""]
    parts.append(str(meta["tier"]) if meta.get("tier") else "")
    parts.append(f"seed {meta['seed']}" if meta.get("seed") is not None else "")
    first = " · ".join(p for p in parts if p)
    when = (
        time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created_at))
        if record.created_at
        else ""
    )
    return "\n".join(line for line in (first, when) if line)


def is_text_take(record: ArtifactRecord) -> bool:
    """A take of a workflow whose only output is text (a text display, not media)."""
    output = record.metadata.get("output")
    return isinstance(output, dict) and output.get("media") == "text"


DETAIL_FIELDS = (("template", "template"), ("tier", "tier"), ("seed", "seed"))


def take_details(record: ArtifactRecord) -> str:
    """The take's details as plain lines: file, settings, server and the texts its workflow
    displayed (PreviewAny / "Show Text" nodes), which are kept with the take, not as takes."""
    meta = record.metadata
    lines = [f"file: {record.path}"]
    lines += [f"{label}: {meta[key]}" for key, label in DETAIL_FIELDS if meta.get(key) is not None]
    server = meta.get("server")
    if isinstance(server, dict) and server.get("name"):
        lines.append(f"server: {server['name']} ({server.get('url', '')})")
    if meta.get("remote_prompt_id"):
        lines.append(f"prompt id on the server: {meta['remote_prompt_id']}")
    texts = meta.get("texts")
    for node, values in texts.items() if isinstance(texts, dict) else ():
        for value in values if isinstance(values, list) else [values]:
            lines.append(f"text from node {node}: {value}")
    return "\n".join(lines)


@dataclass(frozen=True)
class GridLayout:
    """Tiles of tile_w × tile_h with `gap` around them, as many columns as fit."""

    tile_w: int = 192
    tile_h: int = 216
    gap: int = 12

    def columns(self, width: int) -> int:
        return max(1, (width - self.gap) // (self.tile_w + self.gap))

    def position(self, index: int, columns: int) -> tuple[int, int]:
        """Top-left corner of tile `index`."""
        row, col = divmod(index, columns)
        return (
            self.gap + col * (self.tile_w + self.gap),
            self.gap + row * (self.tile_h + self.gap),
        )

    def height(self, count: int, columns: int) -> int:
        rows = -(-count // columns)
        return self.gap + rows * (self.tile_h + self.gap)

    def visible(self, count: int, columns: int, top: float, bottom: float) -> range:
        """Indices of the tiles that overlap the band [top, bottom) (canvas coordinates)."""
        pitch = self.tile_h + self.gap
        first_row = max(0, math.floor((top - self.gap - self.tile_h) / pitch) + 1)
        end_row = max(first_row, math.ceil((bottom - self.gap) / pitch))
        return range(min(count, first_row * columns), min(count, end_row * columns))
