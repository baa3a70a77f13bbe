"""A configured command's words with the placeholders filled in (pure; any thread).

The rules are those of the package docstring: ``{name}`` is replaced by a request input or a
built-in; an input that is null drops its word, and a lone ``{name}`` word after a flag drops
the flag too. The client turns what these functions report into errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from core.json_types import JsonValue

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
BUILTINS = ("python", "output_dir", "workdir", "request_file")
NEGATIVE_NUMBER = re.compile(r"^-\d|^-\.\d")


def unknown_names(command: Sequence[str], values: Mapping[str, JsonValue]) -> list[str]:
    """The placeholders of `command` that `values` does not name, sorted."""
    return sorted({n for word in command for n in PLACEHOLDER.findall(word)} - set(values))


def fill(command: Sequence[str], values: Mapping[str, JsonValue]) -> list[str]:
    """The argv: every word filled in, words (and their flags) of unset inputs left out.
    Every placeholder must be named in `values` (see unknown_names)."""
    argv: list[str] = []
    for index, word in enumerate(command):
        names = PLACEHOLDER.findall(word)
        if any(values[name] is None for name in names):
            previous = command[index - 1] if index else ""
            if PLACEHOLDER.fullmatch(word) and _is_flag(previous) and argv:
                argv.pop()  # a flag word has no placeholder, so it is the last one kept
            continue
        argv.append(PLACEHOLDER.sub(lambda m: _as_word(values[m[1]]), word))
    return argv


def _is_flag(word: str) -> bool:
    """`--negative-prompt` or `-n`, but not `-1` and not a word with a placeholder."""
    return word.startswith("-") and not NEGATIVE_NUMBER.match(word) and not PLACEHOLDER.search(word)


def _as_word(value: JsonValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
