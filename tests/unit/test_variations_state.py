"""Variations as one batch (no display): axes typed from a parameter schema, the cells of a
plan, a batch's takes grouped and laid out as a labelled grid, the grid composed as an image."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from PIL import Image

from app.variations_state import (
    Axis,
    batch_of,
    batch_title,
    compose_grid,
    grid_layout,
    group_batches,
    parse_axis,
    plan,
    seed_axis,
)
from core.errors import InputError

SCHEMA = {
    "properties": {
        "steps": {"type": "integer", "minimum": 1, "maximum": 150},
        "cfg": {"type": "number"},
        "sampler": {"type": "string", "enum": ["euler", "dpmpp_2m"]},
        "tiling": {"type": "boolean"},
        "prompt": {"type": "string"},
    }
}


def test_values_are_typed_from_the_schema_and_deduplicated():
    assert parse_axis("steps=12, 20,12", SCHEMA) == Axis("steps", (12, 20))
    assert parse_axis("cfg=4,7.5", SCHEMA).values == (4.0, 7.5)
    assert parse_axis("sampler=euler", SCHEMA).values == ("euler",)
    assert parse_axis("tiling=yes,0", SCHEMA).values == (True, False)
    assert parse_axis("tier=low,premium", SCHEMA).values == ("low", "premium")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("steps=0", "outside 1..150"),
        ("steps=1.5", "not a whole number"),
        ("sampler=ddim", "not one of: euler, dpmpp_2m"),
        ("tiling=maybe", "not true or false"),
        ("seeds=1", "no parameter 'seeds' — use one of: tier, steps"),
        ("=1", "write NAME=V1,V2"),
        ("steps=,", "at least one value"),
    ],
)
def test_bad_axes_say_what_is_wrong(text, words):
    with pytest.raises(InputError, match=words):
        parse_axis(text, SCHEMA)


def test_a_plan_has_a_cell_per_combination_and_shares_one_seed():
    batch = plan([Axis("tier", ("low", "high")), Axis("steps", (10, 20, 30))], seed=5)
    assert [cell.index for cell in batch.cells][:4] == [(0, 0), (0, 1), (0, 2), (1, 0)]
    last = batch.cells[-1]
    assert last.quality == "high" and dict(last.overrides) == {"seed": 5, "steps": 30}
    assert batch.metadata(last) == {
        "id": batch.id,
        "axes": [
            {"name": "tier", "values": ["low", "high"]},
            {"name": "steps", "values": [10, 20, 30]},
        ],
        "cell": [1, 2],
    }
    seeds = plan([seed_axis(4)])
    assert len({dict(c.overrides)["seed"] for c in seeds.cells}) == 4
    assert plan([Axis("steps", (1,))]).id != plan([Axis("steps", (1,))]).id


def test_plans_refuse_too_many_cells_axes_or_repeats():
    with pytest.raises(InputError, match="over 64"):
        plan([Axis("steps", tuple(range(9))), Axis("cfg", tuple(range(8)))])
    with pytest.raises(InputError, match="one or 2 axes"):
        plan([Axis("a", (1,)), Axis("b", (1,)), Axis("c", (1,))])
    with pytest.raises(InputError, match="each parameter once"):
        plan([Axis("steps", (1,)), Axis("steps", (2,))])
    with pytest.raises(InputError, match="from 1 to 64"):
        seed_axis(65)


@dataclass(frozen=True)
class Take:
    id: int
    metadata: dict = field(default_factory=dict)


def in_batch(take_id: int, batch_id: str, cell: list[int]) -> Take:
    axes = [{"name": "steps", "values": [10, 20]}, {"name": "cfg", "values": [4, 7]}]
    return Take(take_id, {"batch": {"id": batch_id, "axes": axes, "cell": cell}})


def test_a_batch_sits_together_cell_by_cell_where_its_first_take_is():
    takes = [
        in_batch(9, "b", [1, 1]),
        Take(8),
        in_batch(7, "b", [0, 0]),
        in_batch(6, "c", [0, 1]),
        in_batch(5, "b", [1, 0]),
        Take(4, {"batch": "odd"}),
    ]
    assert [t.id for t in group_batches(takes)] == [7, 5, 9, 8, 6, 4]
    assert batch_of({"batch": {"id": 3}}) is None and batch_of({}) is None


def test_grid_layout_labels_and_places_and_the_composed_image():
    takes = [in_batch(1, "b", [0, 0]), in_batch(2, "b", [1, 1]), in_batch(3, "b", [5, 0])]
    layout = grid_layout([(t.id, t.metadata["batch"]) for t in takes])
    assert layout.row_labels == ("steps 10", "steps 20") and layout.column_labels == (
        "cfg 4",
        "cfg 7",
    )
    assert layout.places == {1: (0, 0), 2: (1, 1)}  # a cell off the grid is left out
    assert batch_title(takes[0].metadata["batch"], 3) == "Batch b — steps (2) × cfg (2) — 3 take(s)"
    pictures = {
        (0, 0): Image.new("RGB", (64, 32), "red"),
        (1, 1): Image.new("RGB", (32, 64), "blue"),
    }
    image = compose_grid(pictures, layout, "title", tile=100)
    assert image.height > 200 and image.width > 200
    assert image.getpixel((image.width - 50, image.height - 50)) == (
        0,
        0,
        255,
    )  # bottom right: blue
    assert image.getpixel((image.width - 50, image.height - 150)) == (255, 255, 255)  # empty cell
