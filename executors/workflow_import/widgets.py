"""The widget values of one UI-format node, by input name.

`widgets_values` holds them in the order the node's inputs are declared in /object_info
(`input_order`, required then optional). After a number or combo the frontend may store its
`control_after_generate` choice ("fixed", "randomize", …; a boolean after a seed in 2023
files), which is not an input (options.serialize is false: Comfy-Org/ComfyUI_frontend
docs/WIDGET_SERIALIZATION.md). A V3 DynamicCombo's value is followed by the widgets of the
option it chose, named `<combo>.<input>`. A node /object_info does not know is read from its
widget sockets; SwarmUI and Krita parameter nodes from their declared widgets (markers.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from core.json_types import JsonObject, JsonValue
from executors.object_info import DYNAMIC_COMBO, options_of
from executors.workflow_import.markers import WIDGETS as MARKER_WIDGETS

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO", DYNAMIC_COMBO}
CONTROL_VALUES = {"fixed", "increment", "decrement", "randomize"}


def widget_values(
    node: Mapping[str, JsonValue], info: Mapping[str, JsonValue] | None
) -> JsonObject:
    """Input name → value of the node's widgets, from `widgets_values`."""
    raw = node.get("widgets_values")
    if isinstance(raw, dict):  # some custom nodes store widgets by name
        return {k: v for k, v in raw.items() if isinstance(k, str) and not k.startswith("_")}
    values = list(raw) if isinstance(raw, list) else []
    if info:
        names = _declared_widgets(info)
    elif node.get("type") in MARKER_WIDGETS:
        names = ((name, ["STRING"]) for name in MARKER_WIDGETS[node["type"]])
    else:
        names = _socket_widgets(node)
    result: JsonObject = {}
    _fill(names, values, result, 0)
    return result


def _fill(
    names: Iterator[tuple[str, JsonValue]], values: list[JsonValue], out: dict, at: int
) -> int:
    for name, spec in names:
        if at >= len(values):
            break
        value = values[at]
        at += 1
        out[name] = {"__value__": value} if isinstance(value, list) else value  # as the frontend
        if _has_control(spec) and at < len(values) and _is_control(name, values[at]):
            at += 1
        if isinstance(spec, list) and spec and spec[0] == DYNAMIC_COMBO:
            chosen = _option_inputs(spec, value)
            at = _fill(_section_widgets(chosen, f"{name}."), values, out, at)
    return at


def _declared_widgets(info: Mapping[str, JsonValue]) -> Iterator[tuple[str, JsonValue]]:
    sections = info.get("input") or {}
    order = info.get("input_order") or {}
    for section in ("required", "optional"):
        declared = sections.get(section) or {}
        for name in order.get(section) or list(declared):
            if name in declared and is_widget(declared[name]):
                yield name, declared[name]


def _section_widgets(
    sections: Mapping[str, JsonValue], prefix: str
) -> Iterator[tuple[str, JsonValue]]:
    for section in ("required", "optional"):
        for name, spec in (sections.get(section) or {}).items():
            if is_widget(spec):
                yield prefix + name, spec


def _socket_widgets(node: Mapping[str, JsonValue]) -> Iterator[tuple[str, JsonValue]]:
    """Without /object_info: the widget sockets the frontend lists, in their order."""
    for socket in node.get("inputs") or []:
        if isinstance(socket, dict) and isinstance(socket.get("widget"), dict):
            name = socket["widget"].get("name") or socket.get("name")
            # a nameless one still takes its place in widgets_values
            yield name if isinstance(name, str) else "", [socket.get("type")]


def _option_inputs(spec: JsonValue, value: JsonValue) -> Mapping[str, JsonValue]:
    for option in options_of(spec).get("options") or []:
        if isinstance(option, dict) and option.get("key") == value:
            return option.get("inputs") or {}
    return {}


def is_widget(spec: JsonValue) -> bool:
    if not isinstance(spec, list | tuple) or not spec:
        return False
    if options_of(spec).get("forceInput"):
        return False
    return isinstance(spec[0], list) or spec[0] in WIDGET_TYPES


def _has_control(spec: JsonValue) -> bool:
    """Whether the frontend may store a `control_after_generate` value after this widget
    (numbers and combos; it is skipped only when the next value is one of CONTROL_VALUES)."""
    kind = spec[0] if isinstance(spec, list | tuple) and spec else None
    flagged = bool(options_of(spec).get("control_after_generate"))
    return flagged or kind in ("INT", "COMBO") or isinstance(kind, list)


def _is_control(name: str, value: JsonValue) -> bool:
    """A stored control_after_generate value; 2023 workflows stored a seed's as a boolean."""
    if isinstance(value, bool):
        return name in ("seed", "noise_seed")
    return isinstance(value, str) and value in CONTROL_VALUES
