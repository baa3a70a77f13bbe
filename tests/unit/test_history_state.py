"""History decisions without a display: the text of a version, the word diff, take_request."""

from __future__ import annotations

import pytest

from app.history_state import (
    ADDED,
    REMOVED,
    SAME,
    Segment,
    as_text,
    take_request,
    word_diff,
)
from core.errors import InputError
from core.models import ArtifactRecord, MediaKind


def test_word_diff_marks_removed_and_added_words():
    assert word_diff("a red fox\nin snow", "a grey fox\nin snow") == [
        Segment("a ", SAME),
        Segment("red", REMOVED),
        Segment("grey", ADDED),
        Segment(" fox\nin snow", SAME),
    ]


def test_word_diff_of_equal_and_empty_texts():
    assert word_diff("same words", "same words") == [Segment("same words", SAME)]
    assert word_diff("", "new") == [Segment("new", ADDED)]


def test_as_text_shows_fields_with_values_only():
    text = as_text("Fox", ("a", "b"), {"prompt": "fox", "seed": None, "style_tags": ["x"]})
    assert text == 'title: Fox\ntags: a, b\nprompt: fox\nstyle_tags: ["x"]'


def record(metadata):
    return ArtifactRecord(7, 3, MediaKind.IMAGE, "a.png", None, "x", 1, metadata=metadata)


def test_take_request_reads_version_tier_and_seed():
    request = take_request(record({"prompt_version": 2, "tier": "low", "seed": 9}))
    assert (request.prompt_id, request.version, request.quality, request.seed) == (3, 2, "low", 9)


@pytest.mark.parametrize("version", [None, "2", True])
def test_take_request_refuses_a_take_without_a_version(version):
    with pytest.raises(InputError, match="take 7 does not record the prompt version"):
        take_request(record({"prompt_version": version}))
