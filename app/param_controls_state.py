"""A function's parameters as editor controls, in plain Python (no tkinter).

The editor lets a prompt pick its function (`data.function`) and shows that function's
parameters as controls: numbers as spin boxes (bounds from the template or the server), combos
and lookups (models included) as dropdowns, files with a picker, the rest as text; parameters
marked `advanced` go behind an "Advanced" expander. Values live in the prompt's `params`; an
empty control means "the template decides" (its tier, default or workflow value) and is left
out of `params`, so tiers keep working.

`FunctionCatalog` reads the templates' schemas with each server's cached /object_info on a
worker thread; the Tk thread only reads what it built (one attribute, swapped whole).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.editor_state import parse_float, parse_int
from core.models import SCHEMAS, MediaKind
from executors.templates import TemplateSet

ObjectInfos = Mapping[str, Mapping[str, Any]]  # server name → its cached /object_info


@dataclass(frozen=True)
class Control:
    """One parameter as the editor shows it."""

    name: str
    widget: str  # "spin" | "choice" | "file" | "text"
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    boolean: bool = False  # a choice of true/false that is stored as a bool
    hint: str = ""  # what runs when the control is empty: the default or the workflow's value
    advanced: bool = False
    description: str = ""

    @property
    def increment(self) -> float:
        if self.integer:
            return 1
        span = None if self.minimum is None or self.maximum is None else self.maximum - self.minimum
        return 0.01 if span is not None and span <= 1 else 0.1

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class FunctionChoice:
    """A function the editor offers, with its parameter schema (server choices as `enum`)."""

    name: str
    kind: str
    display_name: str
    tiers: tuple[str, ...]
    schema: dict[str, Any]
    workflow_values: dict[str, Any] = field(default_factory=dict)  # what an empty control runs


def controls_for(kind: MediaKind | str, choice: FunctionChoice) -> list[Control]:
    """The controls of `choice`'s parameters that the prompt's own fields do not set already
    (prompt, negative_prompt, seed, … have their form fields): normal ones first."""
    fields = SCHEMAS[MediaKind(kind)]
    props = choice.schema.get("properties", {})
    controls = [
        control(name, prop, choice.workflow_values.get(name))
        for name, prop in props.items()
        if name not in fields
    ]
    return sorted(controls, key=lambda c: c.advanced)


def control(name: str, prop: Mapping[str, Any], workflow_value: Any = None) -> Control:
    """One JSON-schema property as a control."""
    default = prop.get("default", workflow_value)
    common = {
        "hint": "" if default is None else as_text(default),
        "advanced": bool(prop.get("advanced")),
        "description": str(prop.get("description", "")),
    }
    kind = prop.get("type")
    if "enum" in prop:
        return Control(name, "choice", tuple(as_text(v) for v in prop["enum"]), **common)
    if kind == "boolean":
        return Control(name, "choice", ("true", "false"), boolean=True, **common)
    if prop.get("format") == "file-path":
        return Control(name, "file", **common)
    if kind in ("integer", "number"):
        low, high = prop.get("minimum"), prop.get("maximum")
        return Control(name, "spin", (), low, high, integer=kind == "integer", **common)
    return Control(name, "text", **common)


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_value(spec: Control, text: str) -> Any:
    """A control's text as a params value; None: empty (the template decides). What does not
    parse stays text, and `errors` names it."""
    text = text.strip()
    if not text:
        return None
    if spec.boolean:
        return {"true": True, "false": False}.get(text, text)
    if spec.widget == "spin":
        return parse_int(text) if spec.integer else parse_float(text)
    return text


def texts_from_params(controls: list[Control], params: Mapping[str, Any]) -> dict[str, str]:
    """The controls' texts for a prompt's params (empty where params has no value)."""
    return {c.name: "" if params.get(c.name) is None else as_text(params[c.name]) for c in controls}


def merge_params(
    controls: list[Control], texts: Mapping[str, str], params: Mapping[str, Any]
) -> dict[str, Any]:
    """`params` with each control's value set, or removed where the control is empty; keys no
    control shows (another function's, or typed in the JSON) are kept."""
    merged = dict(params)
    for spec in controls:
        value = to_value(spec, texts.get(spec.name, ""))
        if value is None:
            merged.pop(spec.name, None)
        else:
            merged[spec.name] = value
    return merged


def errors(controls: list[Control], params: Mapping[str, Any]) -> dict[str, str]:
    """Problems with the params the controls set, keyed by the editor's field "data.params"
    (the first one; they show under the params field), e.g. "params.steps: 0 is out of range"."""
    for spec in controls:
        problem = _problem(spec, params.get(spec.name))
        if problem:
            return {"data.params": f"params.{spec.name}: {problem}"}
    return {}


def _problem(spec: Control, value: Any) -> str:
    if value is None:
        return ""
    if spec.widget == "spin":
        return _number_problem(spec, value)
    if spec.widget == "choice" and as_text(value) not in spec.choices:
        return f"{value!r} is not a choice — use one of: {', '.join(spec.choices[:12])}"
    return ""


def _number_problem(spec: Control, value: Any) -> str:
    wanted = "a whole number" if spec.integer else "a number"
    number_types = int if spec.integer else int | float
    if isinstance(value, bool) or not isinstance(value, number_types):
        return f"expected {wanted}, got {value!r} — type digits, e.g. {spec.hint or 1}"
    low, high = spec.minimum, spec.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        return f"{as_text(value)} is out of range — give {_bound(low)}…{_bound(high)}"
    return ""


def _bound(value: float | None) -> str:
    return "…" if value is None else as_text(value)


# --- the functions the editor offers ----------------------------------------------------------


class FunctionCatalog:
    """The functions and their schemas, built on a worker; `generation` counts the builds so a
    view can notice a new one with a cheap poll."""

    def __init__(self) -> None:
        self._by_name: dict[str, FunctionChoice] = {}
        self.generation = 0
        self.loaded = threading.Event()

    def names(self, kind: MediaKind | str) -> list[str]:
        kind = MediaKind(kind).value
        return sorted(name for name, choice in self._by_name.items() if choice.kind == kind)

    def get(self, name: str) -> FunctionChoice | None:
        return self._by_name.get(name)

    def refresh(self, templates: TemplateSet, load_infos: Callable[[], ObjectInfos]) -> None:
        """Build again on a new worker thread (never the Tk thread: it reads cache files)."""
        threading.Thread(
            target=self.build, args=(templates, load_infos), name="function-catalog", daemon=True
        ).start()

    def build(self, templates: TemplateSet, load_infos: Callable[[], ObjectInfos]) -> None:
        """On the calling thread: read the caches, then swap the new catalog in whole."""
        try:
            infos = load_infos()
            info = next(iter(infos.values()), None)  # the first server seen: its model lists
            self._by_name = {
                function.name: _choice(templates, function.name, info)
                for function in templates.functions()
            }
            self.generation += 1
        finally:
            self.loaded.set()


def _choice(templates: TemplateSet, name: str, info: Mapping[str, Any] | None) -> FunctionChoice:
    function = templates.function_info(name, info)
    main = templates.resolve(name, "standard").template
    values = {
        spec.name: main.workflow[spec.node_id]["inputs"][spec.input_name]
        for spec in main.parameters.values()
        if spec.type == "direct"
    }
    return FunctionChoice(
        name, function.kind, function.display_name, function.tiers, function.schema, values
    )
