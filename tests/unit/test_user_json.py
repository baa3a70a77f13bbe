"""core.jsontext, the one parser of user JSON: what it refuses, where the limit lies, and that the
window's JSON tab uses it (a 100,000-deep paste was a RecursionError on the Tk thread)."""

from __future__ import annotations

import json
import re

import pytest

from app.editor_state import json_to_values
from core import jsontext
from core.errors import InputError


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_nesting_up_to_the_limit_parses_and_beyond_it_is_a_value_error():
    assert jsontext.loads(nested(jsontext.MAX_DEPTH)) == json.loads(nested(jsontext.MAX_DEPTH))
    for depth in (jsontext.MAX_DEPTH + 2, 100_000):
        with pytest.raises(ValueError, match="nested deeper than 64 levels"):
            jsontext.loads(nested(depth))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NaN", "NaN is not a JSON number"),
        ('{"a": -Infinity}', "-Infinity is not a JSON number"),
        ("[1e999]", "holds a number too large to store"),
        ('"\\udc80"', "holds '\\udc80' at character 1"),
        ('{"\\ud800x": 1}', "holds '\\ud800' at character 1"),
        ("{", "Expecting property name"),
    ],
)
def test_what_the_app_cannot_store_is_a_value_error(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        jsontext.loads(text)


def test_ordinary_json_is_unchanged():
    text = '{"prompt": "café 🦊", "n": [1, 2.5, null, true], "deep": {"a": {"b": {}}}}'
    assert jsontext.loads(text) == json.loads(text)


def test_the_editor_json_tab_refuses_deep_json_in_one_line():
    with pytest.raises(InputError, match="^JSON: nested deeper than 64 levels$"):
        json_to_values("image", '{"prompt": "x", "params": {"a": ' + nested(100_000) + "}}")
