"""Choosing takes as plain data (no tkinter): the stars a rating shows, and how a finished
rating or circle write changes the gallery's records."""

from __future__ import annotations

import dataclasses

from core.models import ArtifactRecord


def stars(rating: int) -> str:
    """Five stars, as many filled as the rating (3: ★★★☆☆); "" for no rating."""
    return "★" * rating + "☆" * (5 - rating) if rating else ""


def merged(records: list[ArtifactRecord], changed: tuple[ArtifactRecord, ...]) -> list[int]:
    """Put the changed takes' rating and circle into `records` (in place); the positions that
    changed, including a take of the same prompt that lost its circle."""
    by_id = {record.id: record for record in changed}
    circled_now = {record.prompt_id for record in changed if record.circled}
    touched = []
    for i, record in enumerate(records):
        new = by_id.get(record.id)
        if new is not None:
            records[i] = dataclasses.replace(record, rating=new.rating, circled=new.circled)
        elif record.circled and record.prompt_id in circled_now:
            records[i] = dataclasses.replace(record, circled=False)
        else:
            continue
        touched.append(i)
    return touched
