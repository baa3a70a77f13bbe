"""Parameter nodes other programs put in workflows, replaced by plain values.

- Krita AI Diffusion's `ETN_Parameter` (Acly/comfyui-tooling-nodes krita.py@0697a3ac Parameter:
  name, type auto|number|number (integer)|toggle|choice|text|prompt (positive)|prompt (negative),
  default (text), min, max): Krita writes literals in its place before queueing; so does this.
- SwarmUI's `SwarmInput*` nodes (mcmonkeyprojects/SwarmUI SwarmInputNodes.py@00caeb00: title,
  value, …, raw_id) pass `value` through; a checkpoint input loads like CheckpointLoaderSimple and
  an image input like LoadImage, which take their place.
Every input fed by one becomes a parameter named after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.json_types import JsonObject, JsonValue
from executors.object_info import is_link

KRITA = "ETN_Parameter"
SWARM = "SwarmInput"
# UI-format widget order (their INPUT_TYPES), for workflows saved without these nodes installed
WIDGETS = {
    KRITA: ("name", "type", "default", "min", "max"),
    "SwarmInputInteger": ("title", "value", "step", "min", "max", "view_max", "view_type"),
    "SwarmInputFloat": ("title", "value", "step", "min", "max", "view_max", "view_type"),
    "SwarmInputText": ("title", "value", "view_type"),
    "SwarmInputModelName": ("title", "value", "subtype"),
    "SwarmInputCheckpoint": ("title", "value"),
    "SwarmInputDropdown": ("title", "value", "values"),
    "SwarmInputBoolean": ("title", "value"),
    "SwarmInputImage": ("title", "value", "auto_resize"),
}
REPLACED_BY = {  # Swarm inputs that load something: the core node doing the same
    "SwarmInputCheckpoint": ("CheckpointLoaderSimple", "ckpt_name"),
    "SwarmInputImage": ("LoadImage", "image"),
}
KRITA_ROLES = {"prompt (positive)": "prompt", "prompt (negative)": "negative_prompt"}


@dataclass(frozen=True)
class Marked:
    """A parameter a marker node declared: its name and where its value now lives."""

    name: str
    node_id: str
    input_name: str
    minimum: float | None = None
    maximum: float | None = None


def is_marker(class_type: str) -> bool:
    return class_type == KRITA or class_type.startswith(SWARM)


def replace_markers(graph: JsonObject) -> tuple[JsonObject, list[Marked]]:
    """`graph` with marker nodes replaced by literals (or core loaders), and what they marked."""
    graph = {nid: {**node, "inputs": dict(node["inputs"])} for nid, node in graph.items()}
    marked: list[Marked] = []
    for marker_id in [nid for nid, n in graph.items() if is_marker(n["class_type"])]:
        marked += _replace(graph, marker_id)
    return graph, marked


def _replace(graph: JsonObject, marker_id: str) -> list[Marked]:
    marker = graph[marker_id]
    inputs, class_type = marker["inputs"], marker["class_type"]
    name = _name(inputs, class_type)
    low, high = _number(inputs.get("min")), _number(inputs.get("max"))
    if class_type in REPLACED_BY:
        loader, input_name = REPLACED_BY[class_type]
        value = inputs.get("image") if loader == "LoadImage" else inputs.get("value")
        graph[marker_id] = {"class_type": loader, "inputs": {input_name: value},
                            "_meta": marker.get("_meta", {})}  # fmt: skip
        return [Marked(name, marker_id, input_name)]
    del graph[marker_id]
    if class_type == KRITA:
        value = _krita_value(inputs)
        name = KRITA_ROLES.get(inputs.get("type"), name)
    else:
        value = inputs.get("value")
    marked = []
    for node_id, node in graph.items():
        for input_name, current in node["inputs"].items():
            if is_link(current) and current[0] == marker_id:
                node["inputs"][input_name] = value
                marked.append(Marked(name, node_id, input_name, low, high))
    return marked


def _name(inputs: JsonObject, class_type: str) -> str:
    raw = inputs.get("raw_id") or inputs.get("name") or inputs.get("title") or class_type
    return slug(str(raw))


def _krita_value(inputs: JsonObject) -> JsonValue:
    default, kind = inputs.get("default", ""), inputs.get("type")
    try:
        if kind == "number (integer)":
            return int(float(default))
        if kind == "number":
            return float(default)
    except (TypeError, ValueError):
        return default
    if kind == "toggle":
        return str(default).lower() in ("true", "1", "yes")
    return default


def _number(value: JsonValue) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def slug(text: str) -> str:
    """A parameter name from free text: lower case, words joined by `_`, starting with a letter."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return name if name[:1].isalpha() else f"p_{name}".rstrip("_")
