"""Rendering: the exact graph to send for a template and a prompt's values.

Values are set on a deep copy of the parsed graph (never string substitution). They merge in a
fixed order: template defaults < quality_parameters < prompt values < overrides.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from core.errors import InputError
from core.json_types import JsonObject, JsonValue
from executors.object_info import is_number, options_of, server_type
from executors.templates.check import for_server, server_input
from executors.templates.model import (
    SEED_MAX,
    Graph,
    ObjectInfo,
    ParamSpec,
    Rendered,
    Template,
    type_of,
)
from executors.templates.params import resolve_target
from executors.templates.schema import lookup_choices

# object_info input types -> our value types
SERVER_TYPES = {"INT": "int", "FLOAT": "float", "STRING": "string", "BOOLEAN": "bool"}


class SeedSource(Protocol):
    """Where a random seed comes from: the `random` module or a seeded `random.Random`."""

    def randint(self, a: int, b: int) -> int: ...


def render(
    template: Template,
    values: Mapping[str, JsonValue],
    overrides: Mapping[str, JsonValue] | None = None,
    object_info: ObjectInfo | None = None,
    rng: SeedSource = random,
) -> Rendered:
    """The exact graph to send, and the parameter values actually used (seed included)."""
    template = for_server(template, object_info)
    graph = copy.deepcopy(template.workflow)
    overrides = overrides or {}
    quality_targets = _apply_quality_parameters(graph, template.quality_parameters)
    used: JsonObject = {}
    seed: int | None = None
    for spec in template.parameters.values():
        value = _pick(overrides.get(spec.name), values.get(spec.name))
        if value is None and (spec.node_id, spec.input_name) in quality_targets:
            used[spec.name] = graph[spec.node_id]["inputs"][spec.input_name]
            continue
        value = spec.default if value is None else value
        server = server_input(object_info, graph[spec.node_id], spec.input_name)
        shown, written = _value_for(template, spec, value, server, rng)
        if written is None:
            continue
        graph[spec.node_id]["inputs"][spec.input_name] = written
        used[spec.name] = shown
        if spec.type == "seed" and seed is None:
            seed = written
    return Rendered(graph, used, seed)


def _pick(*candidates: JsonValue) -> JsonValue:
    return next((c for c in candidates if c is not None), None)


def _apply_quality_parameters(graph: Graph, raw: JsonObject) -> set[tuple[str, str]]:
    done = set()
    for target, value in raw.items():
        node_id, input_name = resolve_target(graph, target)
        graph[node_id]["inputs"][input_name] = copy.deepcopy(value)
        done.add((node_id, input_name))
    return done


def _value_for(
    template: Template, spec: ParamSpec, value: JsonValue, server: JsonValue, rng: SeedSource
) -> tuple[JsonValue, JsonValue]:
    """(value shown to the user, value written to the graph); (None, None) = leave as is."""
    if spec.type == "seed":
        seed = _seed(template, spec, value, server, rng)
        return seed, seed
    if value is None:
        if spec.required:
            raise InputError(
                f"{spec.name}: required by template {template.name} but no value was given — "
                f"set {spec.name!r} on the prompt"
            )
        return None, None
    if spec.type == "lookup":
        return value, _lookup(template, spec, value, server)
    if spec.type == "file_upload":
        return value, _text_value(template, spec, value)
    written = _coerce(template, spec, value, server)
    return written, written


def _seed(
    template: Template, spec: ParamSpec, value: JsonValue, server: JsonValue, rng: SeedSource
) -> int:
    low, high = _seed_range(server)
    if value is None:
        return rng.randint(low, high)
    if type_of(value) != "int" or not low <= value <= high:
        raise InputError(
            f"{spec.name}: {value!r} is not a seed template {template.name} accepts — "
            f"give a whole number {low}…{high}"
        )
    return value


def _seed_range(server: JsonValue) -> tuple[int, int]:
    options = options_of(server)
    low = max(0, int(options.get("min", 0)))
    high = min(SEED_MAX, int(options.get("max", SEED_MAX)))
    return (low, high) if low <= high else (0, SEED_MAX)


def _lookup(
    template: Template, spec: ParamSpec, key: JsonValue, server: JsonValue = None
) -> JsonValue:
    if (
        isinstance(key, str)
        and key not in spec.lookup_table
        and key in lookup_choices(spec, server)
    ):
        return key  # a server option of a plain combo
    if not isinstance(key, str) or key not in spec.lookup_table:
        allowed = ", ".join(map(str, spec.lookup_table))
        raise InputError(
            f"{spec.name}: {key!r} is not a choice of template {template.name} — "
            f"use one of: {allowed}"
        )
    return copy.deepcopy(spec.lookup_table[key])


def _text_value(template: Template, spec: ParamSpec, value: JsonValue | Path) -> str:
    if isinstance(value, Path):
        return str(value)
    if not isinstance(value, str):
        raise InputError(f"{spec.name}: expected text for template {template.name}, got {value!r}")
    return value


def _coerce(template: Template, spec: ParamSpec, value: JsonValue, server: JsonValue) -> JsonValue:
    current = template.workflow[spec.node_id]["inputs"][spec.input_name]
    wanted = spec.value_type or _server_type(server) or type_of(current) or "string"
    converted = _convert(value, wanted)
    if converted is None:
        raise InputError(
            f"{spec.name}: {value!r} is not a valid {wanted} for template {template.name}"
        )
    if wanted in ("int", "float"):
        _check_range(template, spec, converted, server)
    return converted


def _convert(value: JsonValue, wanted: str) -> JsonValue:
    """`value` as `wanted` (int, float, string, bool), or None when it cannot be."""
    if wanted == "string":
        return value if isinstance(value, str) else str(value) if is_number(value) else None
    if wanted == "bool":
        words = {"true": True, "false": False}
        return value if isinstance(value, bool) else words.get(str(value).lower())
    number = _number(value)
    if number is None:
        return None
    if wanted == "float":
        return float(number)
    return int(number) if float(number).is_integer() else None


def _number(value: JsonValue) -> float | int | None:
    if is_number(value):
        return value
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return None
    return None


def _check_range(template: Template, spec: ParamSpec, value: float, server: JsonValue) -> None:
    options = options_of(server)
    low = _pick(spec.minimum, options.get("min"))
    high = _pick(spec.maximum, options.get("max"))
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"{'' if low is None else low}…{'' if high is None else high}"
        raise InputError(
            f"{spec.name}: {value!r} is out of range for template {template.name} "
            f"— give a value in {span}"
        )


def _server_type(server: JsonValue) -> str | None:
    return SERVER_TYPES.get(server_type(server) or "")
