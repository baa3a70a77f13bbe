"""Variations of a prompt as one batch (plain Python, no tkinter): N new seeds, or a grid over
one or two parameters (tier, seed or any parameter of the function's schema, as
`functions --json` shows it). Each cell is one job; the jobs and their takes carry the batch as
`{"id", "axes", "cell"}` so the gallery can group them and lay them out as a labelled grid."""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from core.models import QUALITY_TIERS, JobRecord

if TYPE_CHECKING:
    from executors.control import Control

TIER = "tier"  # the axis over quality tiers (a job setting, not a template parameter)
MAX_AXES = 2
MAX_CELLS = 64  # one batch; more is almost certainly a typo
MAX_VARIATIONS = 64


@dataclass(frozen=True)
class Axis:
    name: str  # a template parameter, or TIER
    values: tuple[Any, ...]

    def label(self, index: int) -> str:
        return f"{self.name} {self.values[index]}"


@dataclass(frozen=True)
class Cell:
    index: tuple[int, ...]  # the value index on each axis
    quality: str | None  # a tier axis sets it; else the prompt's
    overrides: tuple[tuple[str, Any], ...]  # (parameter, value) pairs, seed included


@dataclass(frozen=True)
class Batch:
    id: str
    axes: tuple[Axis, ...]
    cells: tuple[Cell, ...]

    def metadata(self, cell: Cell) -> dict[str, Any]:
        """What a job's params and its takes' metadata carry under `batch`."""
        axes = [{"name": axis.name, "values": list(axis.values)} for axis in self.axes]
        return {"id": self.id, "axes": axes, "cell": list(cell.index)}


def new_seed() -> int:
    return random.randrange(2**32)  # what every bundled template accepts (as the window)


def seed_axis(count: int) -> Axis:
    """N different new seeds."""
    if not 1 <= count <= MAX_VARIATIONS:
        raise InputError(f"--variations: give a count from 1 to {MAX_VARIATIONS}")
    seeds: set[int] = set()
    while len(seeds) < count:
        seeds.add(new_seed())
    return Axis("seed", tuple(sorted(seeds)))


def parse_axis(text: str, schema: dict[str, Any]) -> Axis:
    """`name=v1,v2,…` → Axis, each value typed from the parameter's schema; InputError in one
    line naming what is wrong and what the names are."""
    name, sep, listed = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise InputError(f"--grid {text!r}: write NAME=V1,V2 (e.g. steps=12,20,30)")
    properties = schema.get("properties", {})
    if name != TIER and name not in properties:
        known = ", ".join([TIER, *properties])
        raise InputError(f"--grid: no parameter {name!r} — use one of: {known}")
    raw = [value.strip() for value in listed.split(",") if value.strip()]
    if not raw:
        raise InputError(f"--grid {name}: give at least one value after '='")
    spec = {"enum": list(QUALITY_TIERS)} if name == TIER else properties[name]
    values = tuple(dict.fromkeys(typed_value(name, value, spec) for value in raw))
    return Axis(name, values)


def typed_value(name: str, text: str, spec: dict[str, Any]) -> Any:
    """One value as the schema types it (integer, number, boolean, string, enum, bounds)."""
    kind = spec.get("type", "string")
    try:
        value: Any = {"integer": int, "number": float, "boolean": _boolean}.get(kind, str)(text)
    except ValueError:
        raise InputError(f"--grid {name}: {text!r} is not {_a(kind)}") from None
    if "enum" in spec and value not in spec["enum"]:
        choices = ", ".join(map(str, spec["enum"]))
        raise InputError(f"--grid {name}: {text!r} is not one of: {choices}")
    low, high = spec.get("minimum"), spec.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InputError(f"--grid {name}: {text} is outside {low}..{high}")
    return value


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(text)
    return lowered in ("true", "1", "yes")


def _a(kind: str) -> str:
    return {"integer": "a whole number", "number": "a number", "boolean": "true or false"}.get(
        kind, f"a {kind}"
    )


def plan(axes: list[Axis], seed: int | None = None) -> Batch:
    """The batch: one cell per combination of the axes' values. Without a seed axis every
    cell shares `seed` (or one new seed), so the grid shows the parameter, not the noise."""
    if not 1 <= len(axes) <= MAX_AXES:
        raise InputError(f"variations: give one or {MAX_AXES} axes")
    if len({axis.name for axis in axes}) != len(axes):
        raise InputError("--grid: each parameter once — put all its values after one '='")
    count = 1
    for axis in axes:
        count *= len(axis.values)
    if count > MAX_CELLS:
        raise InputError(f"variations: {count} takes is over {MAX_CELLS} — give fewer values")
    shared = () if any(a.name == "seed" for a in axes) else (("seed", _seed_or_new(seed)),)
    ranges = [range(len(axis.values)) for axis in axes]
    cells = tuple(_cell(axes, index, shared) for index in itertools.product(*ranges))
    return Batch(uuid.uuid4().hex[:12], tuple(axes), cells)


def _seed_or_new(seed: int | None) -> int:
    return new_seed() if seed is None else seed


def _cell(axes: list[Axis], index: tuple[int, ...], shared: tuple) -> Cell:
    chosen = [(axis.name, axis.values[i]) for axis, i in zip(axes, index, strict=True)]
    quality = next((value for name, value in chosen if name == TIER), None)
    overrides = tuple((name, value) for name, value in chosen if name != TIER)
    return Cell(index, quality, (*shared, *overrides))


# --- the gallery's view of a batch ------------------------------------------------------------


@dataclass(frozen=True)
class BatchLayout:
    """Where each take of a batch goes: rows from the first axis, columns from the second."""

    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    places: dict[int, tuple[int, int]]  # artifact id → (row, column)


def batch_of(metadata: dict[str, Any]) -> dict[str, Any] | None:
    """A take's batch record, or None (older takes, single generations, odd shapes)."""
    batch = metadata.get("batch")
    ok = isinstance(batch, dict) and isinstance(batch.get("id"), str)
    return batch if ok and isinstance(batch.get("axes"), list) else None


def cell_label(batch: dict[str, Any]) -> str:
    """The values of a take's cell, e.g. "steps 12 · cfg 4.0" (a tile's batch label)."""
    values = []
    for axis, index in zip(batch["axes"], batch.get("cell", []), strict=False):
        listed = axis.get("values", []) if isinstance(axis, dict) else []
        if isinstance(index, int) and 0 <= index < len(listed):
            values.append(f"{axis.get('name')} {listed[index]}")
    return " · ".join(values)


def batch_title(batch: dict[str, Any], count: int) -> str:
    axes = " × ".join(f"{a.get('name')} ({len(a.get('values', []))})" for a in batch["axes"])
    return f"Batch {batch['id'][:6]} — {axes} — {count} take(s)"


def grid_layout(takes: list[tuple[int, dict[str, Any]]]) -> BatchLayout:
    """(artifact id, batch record) pairs of one batch → rows × columns with labels."""
    axes = takes[0][1]["axes"]
    labels = [tuple(f"{a['name']} {v}" for v in a["values"]) for a in axes]
    rows, columns = labels[0], labels[1] if len(labels) > 1 else ("",)
    places = {}
    for artifact_id, batch in takes:
        cell = [*batch.get("cell", []), 0, 0]
        if 0 <= cell[0] < len(rows) and 0 <= cell[1] < len(columns):
            places[artifact_id] = (cell[0], cell[1])
    return BatchLayout(rows, columns, places)


def group_batches(records: list[Any]) -> list[Any]:
    """The takes in their order, except that a batch's takes sit together, cell by cell, where
    its first take is (records carry `.metadata`)."""
    members: dict[str, list[Any]] = {}
    for record in records:
        batch = batch_of(record.metadata)
        if batch is not None:
            members.setdefault(batch["id"], []).append(record)
    grouped: list[Any] = []
    for record in records:
        batch = batch_of(record.metadata)
        if batch is None:
            grouped.append(record)
        elif batch["id"] in members:
            cells = members.pop(batch["id"])
            grouped += sorted(cells, key=lambda r: [*batch_of(r.metadata).get("cell", [])])
    return grouped


def compose_grid(
    pictures: dict[tuple[int, int], Any], layout: BatchLayout, title: str, tile: int = 256
) -> Any:
    """One image of a batch (a worker thread): PIL pictures by (row, column), row labels on
    the left, column labels on top, the title above; empty cells stay blank."""
    from PIL import Image, ImageDraw, ImageFont  # only when a grid is composed

    font = ImageFont.load_default(size=max(12, tile // 14))
    label_w = max((int(font.getlength(t)) for t in layout.row_labels), default=0) + 16
    top = font.size * 3 + 16
    width = label_w + tile * len(layout.column_labels)
    canvas = Image.new("RGB", (width, top + tile * len(layout.row_labels)), "white")
    pen = ImageDraw.Draw(canvas)
    plain = title.replace("—", "-").replace("×", "x")  # Pillow's built-in font lacks these
    pen.text((8, 8), plain, fill="black", font=font)
    for column, text in enumerate(layout.column_labels):
        pen.text(
            (label_w + column * tile + tile // 2, top - 8),
            text,
            fill="black",
            font=font,
            anchor="ms",
        )
    for row, text in enumerate(layout.row_labels):
        pen.text((8, top + row * tile + tile // 2), text, fill="black", font=font, anchor="lm")
    for (row, column), picture in pictures.items():
        thumb = picture.copy()
        thumb.thumbnail((tile - 8, tile - 8))
        x = label_w + column * tile + (tile - thumb.width) // 2
        canvas.paste(thumb.convert("RGB"), (x, top + row * tile + (tile - thumb.height) // 2))
    return canvas


def queue_batch(
    control: Control, prompt_ids: list[int], batch: Batch, **options: Any
) -> list[JobRecord]:
    """Queue every cell of `batch` for each prompt through the engine API (it validates each
    request before it stores it); the jobs, cell by cell."""
    jobs: list[JobRecord] = []
    for cell in batch.cells:
        quality = cell.quality or options.get("quality")
        jobs += control.queue(
            prompt_ids,
            **{**options, "quality": quality},
            overrides=dict(cell.overrides),
            batch=batch.metadata(cell),
        )
    return jobs


def function_schema(templates: Any, function: str | None, kind: str) -> dict[str, Any]:
    """The parameter schema of `function` (default: the kind's default function)."""
    name = function or templates.default_function(kind)
    if name not in templates.names():
        raise InputError(f"--function: no function {name!r} — see 'functions'")
    return templates.function_info(name).schema
