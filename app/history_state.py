"""A prompt's history as plain data (no tkinter): its versions as text, the word diff of a
version against the current prompt, and what "regenerate from this take" runs."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import InputError
from core.models import ArtifactRecord, PromptRecord, PromptVersion

SAME, REMOVED, ADDED = "same", "removed", "added"  # also the Text widget's tag names


@dataclass(frozen=True)
class Segment:
    text: str
    change: str  # SAME, REMOVED (only in the older version) or ADDED (only in the current one)


@dataclass(frozen=True)
class TakeRequest:
    """What a take was made from: its prompt's saved version, tier and seed."""

    prompt_id: int
    version: int
    quality: str | None
    seed: int | None


def version_dict(version: PromptVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "title": version.title,
        "data": version.data,
        "tags": list(version.tags),
        "saved_at": version.saved_at,
    }


def as_text(title: str, tags: tuple[str, ...], data: dict[str, Any]) -> str:
    """A prompt as the lines a person reads: title, tags, then each field that has a value."""
    lines = [f"title: {title}", f"tags: {', '.join(tags)}"]
    for key, value in data.items():
        if value in (None, "", [], {}):
            continue
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}: {shown}")
    return "\n".join(lines)


def version_text(version: PromptVersion) -> str:
    return as_text(version.title, version.tags, version.data)


def current_text(prompt: PromptRecord) -> str:
    return as_text(prompt.title, prompt.tags, prompt.data)


def word_diff(older: str, newer: str) -> list[Segment]:
    """The two texts word by word (whitespace kept), each run marked same, removed or added."""
    old_words, new_words = _tokens(older), _tokens(newer)
    matcher = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
    segments: list[Segment] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(Segment("".join(old_words[a1:a2]), SAME))
            continue
        if a2 > a1:
            segments.append(Segment("".join(old_words[a1:a2]), REMOVED))
        if b2 > b1:
            segments.append(Segment("".join(new_words[b1:b2]), ADDED))
    return segments


def version_label(version: PromptVersion, current: int) -> str:
    """One line of the History list: number, when, title; the current one says so."""
    when = datetime.fromtimestamp(version.saved_at).strftime("%Y-%m-%d %H:%M:%S")
    mark = "  (current)" if version.version == current else ""
    return f"v{version.version}  {when}  {version.title}{mark}"


def take_request(take: ArtifactRecord) -> TakeRequest:
    """The prompt version, tier and seed a take recorded; InputError for a take made before
    prompt versions were kept."""
    version = take.metadata.get("prompt_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InputError(
            f"take {take.id} does not record the prompt version it was made from (it is older "
            f"than prompt history) — regenerate its prompt instead: 'generate {take.prompt_id}'"
        )
    seed = take.metadata.get("seed")
    return TakeRequest(
        prompt_id=take.prompt_id,
        version=version,
        quality=take.metadata.get("tier"),
        seed=seed if isinstance(seed, int) else None,
    )


def _tokens(text: str) -> list[str]:
    return re.findall(r"\s+|\S+", text)
