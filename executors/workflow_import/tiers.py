"""A tier added to a user function as overrides, without importing the workflow again.

`add_tier(home, "my_img", "low", {"steps": "12", "width": "768"})` writes
`<home>/workflows/my_img/low/template.json`: a copy of the standard tier's template.json whose
`workflow` is `../standard/workflow.json` (so a re-import of the standard tier carries over) and
whose `quality_parameters` pin the given settings. A pinned setting is the tier's: its parameter
is left out of the tier, so neither the prompt (its width from the aspect ratio) nor its params
change it there. The file is checked by the template loader before it replaces the old one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core import atomic, jsontext
from core.errors import InputError
from core.json_types import JsonObject, JsonValue
from executors.templates import (
    QUALITIES,
    TEMPLATE_FILE,
    BrokenTemplate,
    ParamSpec,
    Template,
    load_template,
)

BASE_TIER = "standard"
OVERRIDE_KEY = "tier_override"  # {"of": "standard", "set": {name: value}} in the tier's file


@dataclass(frozen=True)
class TierResult:
    function: str
    quality: str
    path: Path
    settings: JsonObject  # parameter name → the value the tier pins


def add_tier(home: Path, function: str, tier: str, texts: Mapping[str, str]) -> TierResult:
    """Write (or update: earlier settings are kept unless given again) the override tier;
    InputError naming the bad function, tier, parameter or value."""
    base_file = Path(home) / "workflows" / function / BASE_TIER / TEMPLATE_FILE
    base = _base(base_file, function)
    if tier not in QUALITIES or tier == BASE_TIER:
        others = ", ".join(q for q in QUALITIES if q != BASE_TIER)
        raise InputError(f"tier: {tier!r} cannot be added — use one of: {others}")
    if not texts:
        raise InputError("--set: give at least one NAME=VALUE, e.g. --set steps=12")
    target = base_file.parent.parent / tier / TEMPLATE_FILE
    earlier = {n: v for n, v in _earlier(target).items() if n in base.parameters}
    settings = {**earlier, **{n: _value(base, n, t) for n, t in texts.items()}}
    data = _tier_data(json.loads(base_file.read_text(encoding="utf-8")), base, tier, settings)
    _write_checked(target, data)
    return TierResult(function, tier, target.parent, settings)


def _base(path: Path, function: str) -> Template:
    if not path.is_file():
        raise InputError(
            f"function: no {function}/{BASE_TIER} in {path.parent.parent.parent} — import "
            f"the workflow first ('workflows import FILE --function {function}')"
        )
    try:
        return load_template(path)
    except BrokenTemplate as exc:
        raise InputError(f"template {exc} — fix it before adding tiers") from None


def _earlier(path: Path) -> JsonObject:
    """The settings an earlier override at `path` pinned; refuses a tier with its own workflow."""
    if not path.is_file():
        return {}
    try:
        override = json.loads(path.read_text(encoding="utf-8")).get(OVERRIDE_KEY)
    except (OSError, ValueError, AttributeError):
        override = None
    if not isinstance(override, dict) or not isinstance(override.get("set"), dict):
        raise InputError(
            f"tier: {path.parent} holds its own workflow, not overrides — remove that folder "
            "first, or pick another tier"
        )
    return dict(override["set"])


def _value(template: Template, name: str, text: str) -> JsonValue:
    """The value `text` gives parameter `name`, typed like the workflow's current value."""
    spec = template.parameters.get(name)
    if spec is None:
        known = ", ".join(template.parameters) or "none"
        raise InputError(
            f"--set {name}: {template.function} has no such parameter — known: {known}"
        )
    if spec.type == "file_upload":
        raise InputError(f"--set {name}: a file is chosen per prompt, not pinned by a tier")
    if spec.type == "lookup":
        if text not in spec.lookup_table:
            choices = ", ".join(map(str, spec.lookup_table))
            raise InputError(f"--set {name}: {text!r} is not a choice — use one of: {choices}")
        return text
    current = template.workflow[spec.node_id]["inputs"][spec.input_name]
    value = text if isinstance(current, str) else _number_or_flag(name, text)
    _check_range(spec, value)
    return value


def _number_or_flag(name: str, text: str) -> JsonValue:
    try:
        value = jsontext.loads(text)
    except ValueError:
        value = None
    if isinstance(value, bool | int | float):
        return value
    raise InputError(f"--set {name}: {text!r} is not a number — write e.g. {name}=12")


def _check_range(spec: ParamSpec, value: JsonValue) -> None:
    low, high = spec.minimum, spec.maximum
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if (low is not None and value < low) or (high is not None and value > high):
        raise InputError(
            f"--set {spec.name}: {value} is out of range — give {low if low is not None else '…'}"
            f"…{high if high is not None else '…'}"
        )


def _tier_data(
    base_data: JsonObject, base: Template, tier: str, settings: JsonObject
) -> JsonObject:
    pinned = {_raw_target(base, name): _raw(base, name, value) for name, value in settings.items()}
    parameters = {n: p for n, p in base_data.get("parameters", {}).items() if n not in settings}
    return {
        **base_data,
        "quality": tier,
        "workflow": f"../{BASE_TIER}/{base_data['workflow']}",
        "parameters": parameters,
        "quality_parameters": {**base_data.get("quality_parameters", {}), **pinned},
        OVERRIDE_KEY: {"of": BASE_TIER, "set": settings},
    }


def _raw_target(template: Template, name: str) -> str:
    spec = template.parameters[name]
    return f"{spec.node_id}.{spec.input_name}"


def _raw(template: Template, name: str, value: JsonValue) -> JsonValue:
    spec = template.parameters[name]
    return spec.lookup_table[value] if spec.type == "lookup" else value


def _check_template(path: Path) -> None:
    """BrokenTemplate when the file at `path` is not a template the loader takes."""
    load_template(path)


def _write_checked(target: Path, data: JsonObject) -> None:
    """Validate with the template loader beside the real file, then replace it atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    try:
        atomic.write_text(target, text, check=_check_template)
    except BrokenTemplate as exc:
        if not any(target.parent.iterdir()):
            target.parent.rmdir()
        raise InputError(f"tier: {exc.reason}") from None
