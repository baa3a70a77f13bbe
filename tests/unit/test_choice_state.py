"""Choosing takes without a display: stars, and merging a write's outcome into the gallery."""

from __future__ import annotations

import dataclasses

from app.choice_state import merged, stars
from core.models import ArtifactRecord, MediaKind


def take(artifact_id: int, prompt_id: int = 1, **kw) -> ArtifactRecord:
    return ArtifactRecord(artifact_id, prompt_id, MediaKind.IMAGE, f"{artifact_id}.png", None,
                          "x", 1, **kw)  # fmt: skip


def test_stars():
    assert stars(0) == "" and stars(3) == "★★★☆☆" and stars(5) == "★★★★★"


def test_a_new_circle_uncircles_the_old_one_and_ratings_merge():
    records = [take(1, circled=True), take(2), take(3, rating=2)]
    changed = (dataclasses.replace(records[1], circled=True, rating=4),)
    assert merged(records, changed) == [0, 1]
    assert [(r.circled, r.rating) for r in records] == [(False, 0), (True, 4), (False, 2)]


def test_takes_of_another_prompt_stay():
    records = [take(1, prompt_id=2, circled=True), take(2)]
    assert merged(records, (dataclasses.replace(records[1], circled=True),)) == [1]
    assert records[0].circled
