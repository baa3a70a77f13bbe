"""Plain-Python state behind the take viewer and compare (no tkinter here).

- ZoomPan: how a picture sits in a pane — zoom as a multiple of "fit" and the centre as a
  fraction of the picture, so panes of different sizes (compare) can share one ZoomPan.
- Placement: what to cut from the full picture and where to draw it, for one pane.
- step(): the take the arrow keys move to; take_facts(): the metadata the viewer lists.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from typing import Any

from app.gallery_state import is_text_take, take_details
from core.models import ArtifactRecord, MediaKind
from executors.library_import.graph import is_api_graph, trace

MIN_ZOOM, MAX_ZOOM = 1.0, 64.0  # multiples of fit; never smaller than the whole picture
ZOOM_STEP = 1.25
Size = tuple[int, int]


def fit_scale(picture: Size, pane: Size) -> float:
    """Screen pixels per picture pixel when the whole picture fits the pane (never above 1:1
    for a picture smaller than the pane)."""
    if min(picture) <= 0 or min(pane) <= 0:
        return 1.0
    return min(pane[0] / picture[0], pane[1] / picture[1], 1.0)


@dataclass(frozen=True)
class Placement:
    """One pane's view: cut `box` (picture pixels, left/top/right/bottom) from the picture,
    scale it to `size` and draw its top-left corner at `offset` in the pane."""

    box: tuple[float, float, float, float]
    size: Size
    offset: Size
    scale: float

    def for_picture(self, picture: Size, source: Size) -> Placement:
        """The same view cut from `source`, a smaller copy of the picture (its preview)."""
        fx, fy = source[0] / picture[0], source[1] / picture[1]
        left, top, right, bottom = self.box
        return replace(self, box=(left * fx, top * fy, right * fx, bottom * fy))


@dataclass(frozen=True)
class ZoomPan:
    zoom: float = 1.0  # 1.0 = fit
    centre: tuple[float, float] = (0.5, 0.5)  # fraction of the picture at the pane's centre

    def scale(self, picture: Size, pane: Size) -> float:
        return self.zoom * fit_scale(picture, pane)

    def zoomed(self, factor: float) -> ZoomPan:
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom * factor))
        return replace(self, zoom=zoom, centre=self.centre if zoom > MIN_ZOOM else (0.5, 0.5))

    def zoomed_at(self, factor: float, point: Size, picture: Size, pane: Size) -> ZoomPan:
        """Zoomed keeping the picture point under `point` (pane pixels) where it is."""
        before = self.clamped(picture, pane)
        after = before.zoomed(factor)
        if after.zoom == MIN_ZOOM:
            return after
        old, new = before.scale(picture, pane), after.scale(picture, pane)
        centre = [
            before.centre[i] + (point[i] - pane[i] / 2) * (1 / old - 1 / new) / picture[i]
            for i in range(2)
        ]
        return replace(after, centre=(centre[0], centre[1])).clamped(picture, pane)

    def at_scale(self, scale: float, picture: Size, pane: Size) -> ZoomPan:
        """The zoom that shows `scale` screen pixels per picture pixel (1.0: 1:1)."""
        return replace(self, zoom=1.0).zoomed(scale / fit_scale(picture, pane))

    def panned(self, dx: float, dy: float, picture: Size, pane: Size) -> ZoomPan:
        """Dragged by (dx, dy) screen pixels: the picture follows the pointer."""
        scale = self.scale(picture, pane)
        x = self.centre[0] - dx / (scale * picture[0])
        y = self.centre[1] - dy / (scale * picture[1])
        return replace(self, centre=(x, y)).clamped(picture, pane)

    def clamped(self, picture: Size, pane: Size) -> ZoomPan:
        """No empty band beside a picture larger than its pane; a smaller one stays centred."""
        scale = self.scale(picture, pane)
        centre = tuple(
            _clamp_axis(c, pane[i] / (scale * picture[i])) for i, c in enumerate(self.centre)
        )
        return replace(self, centre=(centre[0], centre[1]))

    def place(self, picture: Size, pane: Size) -> Placement:
        """What of the picture the pane shows, and where."""
        scale = self.scale(picture, pane)
        view = self.clamped(picture, pane)
        box, size, offset = [], [], []
        for i in range(2):
            half = pane[i] / (2 * scale)
            centre = view.centre[i] * picture[i]
            low, high = max(0.0, centre - half), min(float(picture[i]), centre + half)
            box.append((low, high))
            size.append(max(1, round((high - low) * scale)))
            offset.append(round(pane[i] / 2 + (low - centre) * scale))
        return Placement(
            (box[0][0], box[1][0], box[0][1], box[1][1]),
            (size[0], size[1]),
            (offset[0], offset[1]),
            scale,
        )


def _clamp_axis(centre: float, shown: float) -> float:
    """`shown`: the fraction of the picture the pane spans on this axis."""
    if shown >= 1.0:
        return 0.5
    return min(1.0 - shown / 2, max(shown / 2, centre))


def zoom_label(scale: float) -> str:
    return f"{scale * 100:.0f} %"


def step(ids: list[int], current: int, delta: int) -> int:
    """The take `delta` places from `current` in `ids` (stops at either end)."""
    if current not in ids:
        return ids[0] if ids else current
    return ids[max(0, min(len(ids) - 1, ids.index(current) + delta))]


def media_of(record: ArtifactRecord) -> str:
    """How the viewer shows a take: "image", "video", "audio" or "text"."""
    if is_text_take(record):
        return "text"
    return {MediaKind.AUDIO: "audio", MediaKind.VIDEO: "video"}.get(record.kind, "image")


def seed_of(record: ArtifactRecord) -> int | None:
    seed = record.metadata.get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


@dataclass(frozen=True)
class TakeFacts:
    """What the viewer's side panel lists: short lines, then the exact workflow (JSON)."""

    lines: list[str]
    workflow: str  # "" when the take has none


def take_facts(record: ArtifactRecord) -> TakeFacts:
    """Size and date, template, model, tier note and timings, then the take's details (file,
    tier, seed, server, the texts its workflow displayed)."""
    meta = record.metadata
    lines = [f"take {record.id} · {record.kind.value}", *_size_lines(record)]
    template = meta.get("template")
    if isinstance(template, dict):
        lines.append("template: " + _template_text(template))
    model = model_of(meta.get("workflow"))
    lines += [f"model: {model}"] if model else []
    lines += [f"tier note: {meta['tier_reason']}"] if meta.get("tier_reason") else []
    lines += timing_lines(meta.get("timings"))
    details = take_details(record).splitlines()
    lines += [line for line in details if not line.startswith("template: ")]
    workflow = meta.get("workflow")
    shown = json.dumps(workflow, indent=2, sort_keys=True) if isinstance(workflow, dict) else ""
    return TakeFacts(lines, shown)


def _size_lines(record: ArtifactRecord) -> list[str]:
    parts = []
    if record.width and record.height:
        parts.append(f"{record.width}×{record.height}")
    if record.duration_s:
        parts.append(f"{record.duration_s:.1f} s")
    if record.created_at:
        parts.append(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created_at)))
    return [" · ".join(parts)] if parts else []


def _template_text(template: dict[str, Any]) -> str:
    name = f"{template.get('function', '?')}/{template.get('quality', '?')}"
    return f"{name} v{template['version']}" if template.get("version") else name


def model_of(workflow: Any) -> str | None:
    """The model the workflow's sampler used (checkpoint, UNet, GGUF…), traced in the graph."""
    if not isinstance(workflow, dict):
        return None
    return trace(workflow).model if is_api_graph(workflow) else None


def timing_lines(timings: Any) -> list[str]:
    """ "waited 1.2 s in the server's queue", "ran 8.4 s" from the epoch-second timings."""
    if not isinstance(timings, dict):
        return []
    moments = {k: v for k, v in timings.items() if isinstance(v, int | float) and math.isfinite(v)}
    spans = (
        ("queued", "started", "waited {:.1f} s in the server's queue"),
        ("started", "finished", "ran {:.1f} s"),
        ("finished", "harvested", "fetched {:.1f} s after"),
    )
    return [
        text.format(moments[end] - moments[start])
        for start, end, text in spans
        if start in moments and end in moments and moments[end] >= moments[start]
    ]
