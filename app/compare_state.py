"""Plain-Python state behind compare (no tkinter here).

- TakeSelection: the gallery's selected takes (click, Ctrl-click, Shift-click), in order.
- settings_of(): the settings a take was made with, read from its metadata — the template's
  `values` first, else the exact `workflow` graph (the sampler's inputs, traced prompt text).
- differences(): the table compare shows — only the settings that differ, and the prompt
  words each take added or removed against the first one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.models import ArtifactRecord
from executors.library_import.graph import is_api_graph, resolve, trace

COMPARE_MIN, COMPARE_MAX = 2, 4
SAMPLER_INPUTS = {"steps": "steps", "cfg": "cfg", "sampler": "sampler_name"}
PROMPT_KEYS = ("prompt", "tags")  # the template values that hold the prompt's words
WORD = re.compile(r"[\w'-]+")


@dataclass
class TakeSelection:
    """Selected take ids in the order they were picked; `anchor` is where Shift-click starts."""

    ids: list[int] = field(default_factory=list)
    anchor: int | None = None

    def click(self, take: int) -> None:
        self.ids, self.anchor = [take], take

    def toggle(self, take: int) -> None:
        """Ctrl-click: add or remove one take."""
        self.ids = [t for t in self.ids if t != take] if take in self.ids else [*self.ids, take]
        self.anchor = take

    def extend(self, take: int, order: Sequence[int]) -> None:
        """Shift-click: every take from the anchor to `take` in the gallery's order."""
        if self.anchor not in order or take not in order:
            self.click(take)
            return
        a, b = sorted((order.index(self.anchor), order.index(take)))
        self.ids = list(order[a : b + 1])

    def keep_only(self, present: Iterable[int]) -> None:
        """Forget takes that are gone (deleted, or another prompt is shown)."""
        present = set(present)
        self.ids = [t for t in self.ids if t in present]
        if self.anchor not in present:
            self.anchor = None

    def comparable(self) -> bool:
        return COMPARE_MIN <= len(self.ids) <= COMPARE_MAX


def compare_hint(count: int) -> str:
    """Why compare cannot start with `count` selected takes, and what to do."""
    if count > COMPARE_MAX:
        return (
            f"{count} takes are selected — compare shows at most {COMPARE_MAX}; "
            "Ctrl-click to drop some"
        )
    return (
        f"Select {COMPARE_MIN} to {COMPARE_MAX} takes to compare — Ctrl-click or Shift-click them"
    )


@dataclass(frozen=True)
class TakeSettings:
    """What one take was made with (None or "" where its metadata does not say)."""

    seed: Any = None
    tier: Any = None
    steps: Any = None
    cfg: Any = None
    sampler: Any = None
    model: Any = None
    server: Any = None
    prompt: str = ""


ROWS = ("seed", "tier", "steps", "cfg", "sampler", "model", "server")


def settings_of(record: ArtifactRecord) -> TakeSettings:
    meta = record.metadata
    values = meta.get("values") if isinstance(meta.get("values"), dict) else {}
    graph = meta.get("workflow")
    graph = graph if isinstance(graph, dict) and is_api_graph(graph) else {}
    traced = trace(graph) if graph else None
    sampler = {row: _first_input(graph, name) for row, name in SAMPLER_INPUTS.items()}
    server = meta.get("server")
    return TakeSettings(
        seed=_first(meta.get("seed"), values.get("seed"), traced and traced.seed),
        tier=meta.get("tier"),
        steps=_first(values.get("steps"), sampler["steps"]),
        cfg=_first(values.get("cfg"), values.get("guidance"), sampler["cfg"]),
        sampler=_first(values.get("sampler"), sampler["sampler"]),
        model=traced.model if traced else None,
        server=server.get("name") if isinstance(server, dict) else server,
        prompt=_prompt_text(values, traced.positive if traced else None),
    )


def _first(*candidates: Any) -> Any:
    return next((c for c in candidates if c is not None and c != ""), None)


def _first_input(graph: dict[str, Any], name: str) -> Any:
    """The value of input `name` on the first node (by id) that sets it, links followed."""
    for node_id in sorted(graph, key=_node_order):
        inputs = graph[node_id].get("inputs") if isinstance(graph[node_id], dict) else None
        if isinstance(inputs, dict) and name in inputs:
            value = resolve(graph, inputs[name])
            if isinstance(value, str | int | float):
                return value
    return None


def _node_order(node_id: str) -> tuple[int, str]:
    return (int(node_id), "") if node_id.isdigit() else (1 << 62, node_id)


def _prompt_text(values: dict[str, Any], traced: str | None) -> str:
    """The workflow's own prompt text when it can be traced, else the template's values."""
    if traced:
        return traced
    return "\n".join(str(values[k]) for k in PROMPT_KEYS if isinstance(values.get(k), str))


@dataclass(frozen=True)
class DiffRow:
    setting: str
    values: tuple[str, ...]  # one per take, in the order compared


def differences(records: Sequence[ArtifactRecord]) -> list[DiffRow]:
    """Rows of ROWS whose values differ between the takes, then "prompt words" when the
    prompt texts differ: for each take after the first, the words it adds (+) and drops (−)."""
    settings = [settings_of(record) for record in records]
    rows = []
    for name in ROWS:
        values = tuple(_shown(getattr(s, name)) for s in settings)
        if len(set(values)) > 1:
            rows.append(DiffRow(name, values))
    if len({s.prompt for s in settings}) > 1:
        first = settings[0].prompt
        changes = ("(first)", *(word_changes(first, s.prompt) for s in settings[1:]))
        rows.append(DiffRow("prompt words", changes))
    return rows


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def word_changes(before: str, after: str) -> str:
    """ "+added +words −removed" between two prompt texts (case-insensitive, in text order);
    "same words" when only order, case or punctuation changed."""
    old, new = _words(before), _words(after)
    added = [w for w in new if w not in old]
    removed = [w for w in old if w not in new]
    changes = [f"+{w}" for w in added] + [f"−{w}" for w in removed]
    return " ".join(changes) if changes else "same words"


def _words(text: str) -> list[str]:
    """Distinct lower-case words in order of first appearance."""
    return list(dict.fromkeys(w.lower() for w in WORD.findall(text)))
