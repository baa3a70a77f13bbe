"""Node replacements of current ComfyUI (app/node_replace_manager.py@b5d74ccb): the server
rewrites a `class_type` it does not have into a registered replacement before validation, and
lists the registrations at GET /node_replacements (feature flag `node_replacements`).
The fake registers none unless a test calls ComfyServer.replace_node.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from core.json_types import JsonObject

from .graph import is_link


@dataclass(frozen=True)
class NodeReplace:
    """comfy_api/latest/_io.py NodeReplace: input_mapping items are {new_id, old_id} or
    {new_id, set_value}; output_mapping items {new_idx, old_idx}."""

    old_node_id: str
    new_node_id: str
    old_widget_ids: tuple[str, ...] | None = None
    input_mapping: tuple[JsonObject, ...] | None = None
    output_mapping: tuple[dict[str, int], ...] | None = None

    def as_dict(self) -> JsonObject:
        return {
            "new_node_id": self.new_node_id,
            "old_node_id": self.old_node_id,
            "old_widget_ids": list(self.old_widget_ids) if self.old_widget_ids else None,
            "input_mapping": list(self.input_mapping) if self.input_mapping else None,
            "output_mapping": list(self.output_mapping) if self.output_mapping else None,
        }


def listing(replacements: dict[str, list[NodeReplace]]) -> dict[str, list[JsonObject]]:
    """What GET /node_replacements answers."""
    return {old: [r.as_dict() for r in entries] for old, entries in replacements.items()}


def apply(
    prompt: JsonObject, replacements: dict[str, list[NodeReplace]], known: Container[str]
) -> None:
    """Rewrite, in place, every node whose class is not `known` but has a replacement that is
    (the first registered one), remapping inputs and the output slots its consumers use."""
    if not isinstance(prompt, dict):
        return
    consumers: dict[str, list[tuple[str, str, int]]] = {}
    targets = []
    for node_id, node in prompt.items():
        if not isinstance(node, dict) or "class_type" not in node or "inputs" not in node:
            continue
        if node["class_type"] not in known and node["class_type"] in replacements:
            targets.append(node_id)
        for name, value in node["inputs"].items():
            if is_link(value):
                consumers.setdefault(value[0], []).append((node_id, name, value[1]))
    for node_id in targets:
        replacement = replacements[prompt[node_id]["class_type"]][0]
        if replacement.new_node_id in known:
            _replace(prompt, node_id, replacement, consumers.get(node_id, []))


def _replace(prompt: dict, node_id: str, r: NodeReplace, consumers: list) -> None:
    old = prompt[node_id]
    inputs: JsonObject = {}
    for mapping in r.input_mapping or ():
        if "set_value" in mapping:
            inputs[mapping["new_id"]] = mapping["set_value"]
        elif "old_id" in mapping:
            inputs[mapping["new_id"]] = old["inputs"][mapping["old_id"]]
    meta = dict(old.get("_meta", {}))
    prompt[node_id] = {**old, "class_type": r.new_node_id, "inputs": inputs, "_meta": meta}
    for consumer, name, old_idx in consumers:
        for mapping in r.output_mapping or ():
            if mapping["old_idx"] == old_idx:
                prompt[consumer]["inputs"][name][1] = mapping["new_idx"]
