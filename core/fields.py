"""Checks of prompt data fields: each takes the field's path ("data.seed") and its JSON value
and returns the value as stored, or raises InputError naming the field, what is wrong and the
fix (stdlib only)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from core import jsontext
from core.errors import InputError
from core.json_types import JsonValue

Check = Callable[[str, JsonValue], JsonValue]


def fail(path: str, problem: str, fix: str) -> InputError:
    return InputError(f"{path}: {problem} — {fix}")


def text(*, non_empty: bool = False, max_len: int = 20_000) -> Check:
    def check(path: str, value: JsonValue) -> str:
        if not isinstance(value, str):
            raise fail(
                path, f"expected text, got {type(value).__name__}", 'give a string, e.g. "…"'
            )
        if non_empty and not value.strip():
            raise fail(path, "is empty", "give a non-empty text")
        if len(value) > max_len:
            raise fail(path, f"is {len(value)} characters long", f"keep it under {max_len}")
        _check_characters(path, value)
        return value

    return check


def integer(lo: int, hi: int) -> Check:
    def check(path: str, value: JsonValue) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(path, f"expected a whole number, got {value!r}", f"give {lo}…{hi}")
        if not lo <= value <= hi:
            raise fail(path, f"{value} is out of range", f"give a number from {lo} to {hi}")
        return value

    return check


def number(lo: float, hi: float) -> Check:
    def check(path: str, value: JsonValue) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise fail(path, f"expected a number, got {value!r}", f"give {lo}…{hi}")
        if not lo <= value <= hi:
            raise fail(path, f"{value} is out of range", f"give a number from {lo} to {hi}")
        return value

    return check


def text_list(path: str, value: JsonValue) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(path, f"expected a list of texts, got {value!r}", 'give e.g. ["cinematic"]')
    for n, item in enumerate(value):
        _check_characters(f"{path}[{n}]", item)
    return [v.strip() for v in value if v.strip()]


def _check_characters(path: str, value: JsonValue) -> None:
    """No lone surrogates (from \\udc80 escapes or bytes that were not UTF-8), at any depth."""
    try:
        jsontext.check_value(value)
    except ValueError as exc:
        raise fail(path, str(exc), "remove it, or save the text as UTF-8") from None


def one_of(*choices: str) -> Check:
    def check(path: str, value: JsonValue) -> str:
        if value not in choices:
            raise fail(path, f"unknown value {value!r}", "use one of: " + ", ".join(choices))
        return value

    return check


def pattern(regex: str, example: str, sides: str = "") -> Check:
    """Text matching `regex` (trimmed); with `sides`, the numbers it separates may not be 0."""
    compiled = re.compile(regex)

    def check(path: str, value: JsonValue) -> str:
        value = text()(path, value).strip()
        if not compiled.fullmatch(value):
            raise fail(path, f"{value!r} is not valid", f"write it like {example!r}")
        if sides and 0 in (int(side) for side in value.split(sides)):
            raise fail(path, f"{value!r} has a zero side", f"write it like {example!r}")
        return value

    return check


def free_params(path: str, value: JsonValue) -> dict:
    if not isinstance(value, dict):
        raise fail(path, f"expected an object, got {value!r}", 'give e.g. {"style": "ink"}')
    _check_characters(path, value)
    return value


@dataclass(frozen=True)
class Field:
    check: Check
    required: bool = False
    default: JsonValue = None
