"""The one way user JSON is parsed (--data, @files, import files, config.json, workflow.json,
the editor's JSON tab).

`loads` is json.loads that raises ValueError — never RecursionError, never a value that cannot be
stored — for what the rest of the app cannot take: nesting deeper than MAX_DEPTH, NaN and
Infinity (not JSON, and not numbers any field accepts), and text with lone surrogates (SQLite
and UTF-8 files cannot hold them). Callers already turn ValueError into a one-line message.
"""

from __future__ import annotations

import json
import math

from core.json_types import JsonValue

MAX_DEPTH = 64


def loads(text: str) -> JsonValue:
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    check_value(value)
    return value


def check_value(value: JsonValue) -> None:
    """ValueError when `value` nests deeper than MAX_DEPTH, holds a lone surrogate or a number
    too large to be one (1e999 parses as infinity)."""
    level = [value]
    for _ in range(MAX_DEPTH + 1):
        inner: list[JsonValue] = []
        for item in level:
            if isinstance(item, str):
                check_text(item)
            elif isinstance(item, float) and not math.isfinite(item):
                raise ValueError("holds a number too large to store (the largest is about 1.8e308)")
            elif isinstance(item, dict):
                inner += [key for key in item if isinstance(key, str)] + list(item.values())
            elif isinstance(item, list):
                inner += item
        if not inner:
            return
        level = inner
    raise ValueError(f"nested deeper than {MAX_DEPTH} levels")


def check_text(text: str) -> None:
    """ValueError for a lone surrogate: an escape like \\udc80 or bytes that were not UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"holds {text[exc.start]!r} at character {exc.start + 1}, which is not a valid "
            "character (not UTF-8)"
        ) from None


def _no_constant(name: str) -> JsonValue:
    raise ValueError(f"{name} is not a JSON number")
