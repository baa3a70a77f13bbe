"""A template's parameters and quality_parameters, validated against its graph.

A target names one input: `<node id or _meta.title>.<input name>`. Each parameter type has its
own check of the current value in the graph (what the parameter replaces).
"""

from __future__ import annotations

from typing import NoReturn

from core.json_types import JsonObject, JsonValue
from executors.object_info import is_link, is_number
from executors.templates.model import (
    NAME_RE,
    PARAM_TYPES,
    VALUE_TYPES,
    Graph,
    Invalid,
    ParamSpec,
    fits,
    type_of,
)

# --- targets ------------------------------------------------------------------------------------


def resolve_target(graph: Graph, target: JsonValue) -> tuple[str, str]:
    """(node id, input name) for `<node id or _meta.title>.<input>`.

    The input may itself be dotted (a V3 dynamic input such as `12.format.codec`), and titles
    may hold dots: the first split, from the right, whose node has that input wins.
    """
    if not isinstance(target, str) or "." not in target:
        raise Invalid(f"target {target!r} must look like '<node id or title>.<input name>'")
    parts = target.split(".")
    splits = [
        (".".join(parts[:cut]), ".".join(parts[cut:])) for cut in range(len(parts) - 1, 0, -1)
    ]
    found = [(node_id, name) for ref, name in splits if (node_id := _node_ref(graph, ref))]
    for node_id, input_name in found:
        if input_name in graph[node_id]["inputs"]:
            return node_id, input_name
    if not found:
        _no_node(graph, splits[0][0], target)
    node_id, input_name = found[0]
    known = ", ".join(graph[node_id]["inputs"]) or "none"
    raise Invalid(
        f"target {target!r}: node {node_id} ({graph[node_id]['class_type']}) has no input "
        f"{input_name!r} — its inputs: {known}"
    )


def _node_ref(graph: Graph, ref: str) -> str | None:
    """The node with id `ref`, else the one node titled `ref`; None when not exactly one."""
    if ref in graph:
        return ref
    matches = [nid for nid, node in graph.items() if _title(node) == ref]
    return matches[0] if len(matches) == 1 else None


def _no_node(graph: Graph, ref: str, target: str) -> NoReturn:
    matches = [nid for nid, node in graph.items() if _title(node) == ref]
    if matches:
        raise Invalid(f"target {target!r}: title {ref!r} is used by nodes {', '.join(matches)}")
    raise Invalid(f"target {target!r}: no node has id or _meta.title {ref!r}")


def _title(node: JsonObject) -> str | None:
    meta = node.get("_meta")
    return meta.get("title") if isinstance(meta, dict) else None


# --- parameters ---------------------------------------------------------------------------------


def build_parameters(graph: Graph, raw: JsonValue) -> dict[str, ParamSpec]:
    if not isinstance(raw, dict):
        raise Invalid("parameters must be an object of name -> {target, type, …}")
    return {name: _build_param(graph, name, spec) for name, spec in raw.items()}


def _build_param(graph: Graph, name: str, raw: JsonValue) -> ParamSpec:
    if not NAME_RE.match(name):
        raise Invalid(f"parameter name {name!r} must be a lower-case name like 'negative_prompt'")
    if not isinstance(raw, dict):
        raise Invalid(f"parameter {name!r} must be an object with a target")
    ptype = raw.get("type", "direct")
    if ptype not in PARAM_TYPES:
        raise Invalid(f"parameter {name!r}: type {ptype!r} is not one of: {', '.join(PARAM_TYPES)}")
    node_id, input_name = resolve_target(graph, raw.get("target"))
    current = graph[node_id]["inputs"][input_name]
    if is_link(current):
        raise Invalid(
            f"parameter {name!r}: input {input_name!r} of node {node_id} is a link to another "
            "node; a parameter can only set a widget value"
        )
    spec = ParamSpec(
        name=name,
        target=raw["target"],
        type=ptype,
        node_id=node_id,
        input_name=input_name,
        required=_flag(name, raw.get("required", False), "required"),
        default=raw.get("default"),
        description=_param_text(name, raw.get("description", "")),
        value_type=raw.get("value_type"),
        minimum=_bound(name, raw, "min"),
        maximum=_bound(name, raw, "max"),
        lookup_table=raw.get("lookup_table") or {},
        advanced=_flag(name, raw.get("advanced", False), "advanced"),
    )
    _CHECKS[ptype](spec, current)
    return spec


def _flag(name: str, value: JsonValue, key: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"parameter {name!r}: {key} must be true or false, got {value!r}")
    return value


def _param_text(name: str, value: JsonValue) -> str:
    if not isinstance(value, str):
        raise Invalid(f"parameter {name!r}: description must be text")
    return value


def _bound(name: str, raw: JsonObject, key: str) -> float | None:
    value = raw.get(key)
    if value is not None and not is_number(value):
        raise Invalid(f"parameter {name!r}: {key} must be a number, got {value!r}")
    return value


def _check_direct(spec: ParamSpec, current: JsonValue) -> None:
    if spec.value_type is not None and spec.value_type not in VALUE_TYPES:
        raise Invalid(
            f"parameter {spec.name!r}: value_type {spec.value_type!r} is not one of: "
            f"{', '.join(VALUE_TYPES)}"
        )
    expected = spec.value_type or type_of(current)
    if not fits(current, expected):
        raise Invalid(
            f"parameter {spec.name!r}: value_type {expected} does not match the current value "
            f"{current!r} of {spec.target}"
        )
    if spec.default is not None and not fits(spec.default, expected):
        raise Invalid(
            f"parameter {spec.name!r}: default {spec.default!r} is not a {expected} like the "
            f"current value {current!r} of {spec.target}"
        )
    has_bounds = spec.minimum is not None or spec.maximum is not None
    if has_bounds and expected not in ("int", "float"):
        raise Invalid(f"parameter {spec.name!r}: min/max only apply to numbers")


def _check_seed(spec: ParamSpec, current: JsonValue) -> None:
    if type_of(current) != "int":
        raise Invalid(
            f"parameter {spec.name!r}: a seed target must hold a whole number, but {spec.target} "
            f"is {current!r}"
        )
    if spec.default is not None and not (type_of(spec.default) == "int" and spec.default >= 0):
        raise Invalid(f"parameter {spec.name!r}: seed default must be a whole number ≥ 0")


def _check_lookup(spec: ParamSpec, current: JsonValue) -> None:
    table = spec.lookup_table
    if not isinstance(table, dict) or not table:
        raise Invalid(f"parameter {spec.name!r}: a lookup needs a non-empty lookup_table")
    if spec.default is not None and spec.default not in table:
        raise Invalid(
            f"parameter {spec.name!r}: default {spec.default!r} is not a key of lookup_table "
            f"({', '.join(map(str, table))})"
        )
    expected = type_of(current)
    for key, value in table.items():
        if not fits(value, expected):
            raise Invalid(
                f"parameter {spec.name!r}: lookup_table[{key!r}] = {value!r} is not a {expected} "
                f"like the current value {current!r} of {spec.target}"
            )


def _check_file_upload(spec: ParamSpec, current: JsonValue) -> None:
    if not isinstance(current, str):
        raise Invalid(
            f"parameter {spec.name!r}: a file_upload target must hold a file name, but "
            f"{spec.target} is {current!r}"
        )


_CHECKS = {
    "direct": _check_direct,
    "seed": _check_seed,
    "lookup": _check_lookup,
    "file_upload": _check_file_upload,
}


def build_quality_parameters(graph: Graph, raw: JsonValue) -> JsonObject:
    if not isinstance(raw, dict):
        raise Invalid("quality_parameters must be an object of target -> value")
    for target, value in raw.items():
        node_id, input_name = resolve_target(graph, target)
        current = graph[node_id]["inputs"][input_name]
        if is_link(current) or not fits(value, type_of(current)):
            raise Invalid(
                f"quality_parameters[{target!r}] = {value!r} does not fit the current value "
                f"{current!r}"
            )
    return dict(raw)
