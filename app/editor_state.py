"""The prompt editor's logic in plain Python (no tkinter): form fields, conversions, validation.

The form is generated from core.models.SCHEMAS, so it cannot drift from what validate_data
accepts. Form values are the strings the widgets hold; `values_to_data` turns them into data
best-effort (a number that does not parse stays a string), so validate_data reports every
problem with the field's name ("data.tempo: expected a whole number, got 'fast' — …").

Keys: record fields are "title", "tags", "favorite"; data fields are "data.<name>" (audio data
has its own title and tags fields, so the prefix keeps them apart).
"""

from __future__ import annotations

import inspect
import json
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from core import jsontext
from core.errors import InputError
from core.models import (
    SCHEMAS,
    MediaKind,
    PromptRecord,
    parse_enum,
    validate_data,
    validate_tags,
    validate_title,
)

LONG_TEXTS = ("prompt", "negative_prompt", "lyrics")
FILE_FIELDS = ("reference_image", "start_image", "source_audio")  # shown with a file picker
LYRICS_HINT = "[verse] … [chorus] …"
FIELD_PATH = re.compile(r"^(?:data\.(\w+)|(title|tags|data))\s*:")


@dataclass(frozen=True)
class FormField:
    """One data field as the form shows it."""

    name: str
    widget: str  # text | long | choice | int | float | list | json | function | file
    required: bool = False
    choices: tuple[str, ...] = ()
    hint: str = ""

    @property
    def key(self) -> str:
        return f"data.{self.name}"


def form_fields(kind: MediaKind | str) -> list[FormField]:
    """The form of a kind, in schema order, derived from each field's check."""
    kind = parse_enum(MediaKind, kind, "kind")
    return [_form_field(name, spec) for name, spec in SCHEMAS[kind].items()]


def _form_field(name: str, spec: Any) -> FormField:
    if name == "function":  # a dropdown of the kind's functions (app/views/param_controls.py)
        return FormField(name, "function", spec.required)
    maker = spec.check.__qualname__.split(".")[0]
    bound = inspect.getclosurevars(spec.check).nonlocals
    required = spec.required
    if maker == "one_of":
        return FormField(name, "choice", required, tuple(bound["choices"]))
    if maker in ("integer", "number"):
        widget = "int" if maker == "integer" else "float"
        return FormField(name, widget, required, hint=f"{bound['lo']}…{bound['hi']}")
    if maker == "text_list":
        return FormField(name, "list", required, hint="comma-separated")
    if maker == "free_params":
        return FormField(name, "json", required, hint='JSON object, e.g. {"style": "ink"}')
    if maker == "pattern":
        return FormField(name, "text", required, hint=f"e.g. {bound['example']}")
    if name in FILE_FIELDS:
        return FormField(name, "file", required)
    hint = LYRICS_HINT if name == "lyrics" else ""
    return FormField(name, "long" if name in LONG_TEXTS else "text", required, hint=hint)


# --- conversions ----------------------------------------------------------------------------------


def split_list(text: str) -> list[str]:
    """ "a, b,, c" → ["a", "b", "c"]."""
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_int(text: str) -> int | str | None:
    """ "" → None, "12" → 12; what does not parse stays text (validation names the field)."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def parse_float(text: str) -> int | float | str | None:
    """ "" → None, "60" → 60, "1.5" → 1.5; what does not parse (or is not finite) stays text."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def parse_json_value(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        return jsontext.loads(text)
    except ValueError:  # not JSON (or too deep to be a field's value): the text itself
        return text


def to_value(spec: FormField, text: str) -> Any:
    """One form string as data; None means "not given" (the schema's default applies)."""
    if spec.widget == "int":
        return parse_int(text)
    if spec.widget == "float":
        return parse_float(text)
    if spec.widget == "list":
        return split_list(text) or None
    if spec.widget == "json":
        return parse_json_value(text)
    if not text.strip():
        return "" if spec.required else None  # required: "is empty" reads better than "missing"
    return text


def to_text(spec: FormField, value: Any) -> str:
    """One data value as the form's string."""
    if value is None:
        return ""
    if spec.widget == "list" and isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if spec.widget == "json" and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if value != {} else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def values_to_data(kind: MediaKind | str, values: dict[str, str]) -> dict[str, Any]:
    """Form strings → data (unvalidated); fields not given are left out."""
    data = {}
    for spec in form_fields(kind):
        value = to_value(spec, values.get(spec.name, ""))
        if value is not None:
            data[spec.name] = value
    return data


def data_to_values(kind: MediaKind | str, data: dict[str, Any]) -> dict[str, str]:
    """Data → form strings, one per field of the kind."""
    return {spec.name: to_text(spec, data.get(spec.name)) for spec in form_fields(kind)}


def default_values(kind: MediaKind | str) -> dict[str, str]:
    """The form of a new prompt: schema defaults filled in, the rest empty."""
    kind = parse_enum(MediaKind, kind, "kind")
    return data_to_values(kind, {n: spec.default for n, spec in SCHEMAS[kind].items()})


def values_to_json(kind: MediaKind | str, values: dict[str, str]) -> str:
    return json.dumps(values_to_data(kind, values), indent=2, ensure_ascii=False)


def json_to_values(kind: MediaKind | str, text: str) -> dict[str, str]:
    """The JSON tab's text → form strings, or InputError with line and column."""
    kind = parse_enum(MediaKind, kind, "kind")
    try:
        data = jsontext.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise InputError(f"JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:  # nested too deep, NaN, a lone surrogate
        raise InputError(f"JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"JSON: expected an object of {kind} prompt fields — wrap them in {{ }}")
    unknown = [name for name in data if name not in SCHEMAS[kind]]
    if unknown:
        known = ", ".join(SCHEMAS[kind])
        raise InputError(f"JSON: unknown field {unknown[0]!r} for {kind} prompts — known: {known}")
    return data_to_values(kind, data)


# --- errors -----------------------------------------------------------------------------------


def error_field(message: str) -> str | None:
    """The form key an InputError names: "data.tempo: …" → "data.tempo", "title: …" → "title"."""
    match = FIELD_PATH.match(message)
    if match is None:
        return None
    return f"data.{match.group(1)}" if match.group(1) else match.group(2)


def error_text(message: str) -> str:
    """The message without its field path (shown next to that field)."""
    return FIELD_PATH.sub("", message, count=1).strip() if FIELD_PATH.match(message) else message


@dataclass(frozen=True)
class Checked:
    """The outcome of validating the whole form: typed values, or errors by form key."""

    title: str = ""
    tags: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_form(kind: MediaKind | str, title: str, tags: str, values: dict[str, str]) -> Checked:
    errors: dict[str, str] = {}
    checked_title, checked_tags, data = "", (), {}
    try:
        checked_title = validate_title(title)
    except InputError as exc:
        errors["title"] = str(exc)
    try:
        checked_tags = validate_tags(split_list(tags))
    except InputError as exc:
        errors["tags"] = str(exc)
    try:
        data = validate_data(kind, values_to_data(kind, values))
    except InputError as exc:
        errors[error_field(str(exc)) or "data"] = str(exc)
    return Checked(checked_title, checked_tags, data, errors)


def warning_line(warnings: list[str]) -> str:
    """The editor's one-line template warning (deprecated or replaced nodes, a refused user
    template): the first warning, and how many more; "" when there is none."""
    if not warnings:
        return ""
    first = " ".join(warnings[0].split())
    more = f" (+{len(warnings) - 1} more in 'functions --json')" if len(warnings) > 1 else ""
    return f"⚠ {first}{more}"


# --- the editor's state -------------------------------------------------------------------------


@dataclass
class EditorState:
    """What the editor holds, and whether it differs from what was loaded or saved.

    Errors show only for fields the user touched, or for all once Save was pressed: a new,
    untouched form is not covered in red."""

    kind: MediaKind
    prompt_id: int | None = None
    title: str = ""
    tags: str = ""
    favorite: bool = False
    values: dict[str, str] = field(default_factory=dict)
    baseline: tuple = ()
    touched: set[str] = field(default_factory=set)  # form keys: "title", "data.prompt", …
    submitted: bool = False  # Save was pressed: every error shows

    @classmethod
    def new(cls, kind: MediaKind | str) -> EditorState:
        kind = parse_enum(MediaKind, kind, "kind")
        state = cls(kind, values=default_values(kind))
        state.mark_clean()
        return state

    @classmethod
    def from_record(cls, record: PromptRecord) -> EditorState:
        state = cls(
            record.kind,
            record.id,
            record.title,
            ", ".join(record.tags),
            record.favorite,
            data_to_values(record.kind, record.data),
        )
        state.mark_clean()
        return state

    def snapshot(self) -> tuple:
        return (self.kind, self.prompt_id, self.title, self.tags, self.favorite, self.values_key())

    def values_key(self) -> tuple:
        return tuple(sorted(values_to_data(self.kind, self.values).items(), key=repr))

    def mark_clean(self) -> None:
        self.baseline = self.snapshot()

    @property
    def dirty(self) -> bool:
        return self.snapshot() != self.baseline

    def check(self, extra: dict[str, str] | None = None) -> Checked:
        """The form checked; `extra` adds errors found elsewhere (the function's parameter
        controls) for fields that have none of their own."""
        checked = check_form(self.kind, self.title, self.tags, self.values)
        if not extra:
            return checked
        return replace(checked, errors={**extra, **checked.errors})

    def edit(self, title: str, tags: str, favorite: bool, values: dict[str, str]) -> bool:
        """Take the form widgets' texts; each field whose text changed counts as touched.
        False when nothing changed (a late echo of filling the widgets, not an edit)."""
        names = values.keys() | self.values.keys()
        self.touched |= {f"data.{n}" for n in names if values.get(n) != self.values.get(n)}
        self.touched |= {"title"} if title != self.title else set()
        self.touched |= {"tags"} if tags != self.tags else set()
        before = (self.title, self.tags, self.favorite, self.values)
        self.title, self.tags, self.favorite, self.values = title, tags, favorite, values
        return before != (title, tags, favorite, values)

    def shown_errors(self, errors: dict[str, str]) -> dict[str, str]:
        """The errors to show now: all after Save, else those of touched fields (an error that
        names no field shows once any data field was touched)."""
        if self.submitted:
            return errors
        data_touched = any(key.startswith("data") for key in self.touched)
        return {
            key: message
            for key, message in errors.items()
            if key in self.touched or (key == "data" and data_touched)
        }

    def duplicate(self) -> None:
        """Become an unsaved copy (dirty until saved as a new prompt)."""
        self.prompt_id = None
        self.title = f"{self.title} (copy)" if self.title.strip() else "Copy"
