"""argparse types of the command line: ids, seeds and counts within range, text that is UTF-8.
A value outside them is a one-line error naming the argument (exit 2) before any command runs."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from core import jsontext
from core.models import SEED_MAX

ID_MAX = 2**63 - 1  # SQLite's largest integer


def whole_number(lo: int, hi: int, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number from `lo` to `hi`, else a one-line error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not {what}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is not {what}")
        return value

    return parse


record_id = whole_number(
    1, ID_MAX, "an id — ids are whole numbers from 1 (see the 'list' commands)"
)
seed = whole_number(0, SEED_MAX, f"a seed — give a whole number from 0 to {SEED_MAX}")
count = whole_number(1, ID_MAX, f"a count — give a whole number from 1 to {ID_MAX}")
offset = whole_number(0, ID_MAX, f"an offset — give a whole number from 0 to {ID_MAX}")


def user_text(text: str) -> str:
    """An argparse type: text that is valid UTF-8 (argv bytes that were not arrive as lone
    surrogates, which SQLite and the terminal cannot take)."""
    try:
        jsontext.check_text(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc} — retype it") from None
    return text
