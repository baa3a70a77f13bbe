"""A template against one ComfyUI server's object_info: which fallback nodes run there, and what
keeps it from running (or is deprecated) on that server."""

from __future__ import annotations

from dataclasses import replace

from core.json_types import JsonObject, JsonValue
from executors.object_info import Replacements, graph_problems, graph_warnings
from executors.object_info import input_spec as object_info_input
from executors.templates.model import ObjectInfo, Template


def server_input(object_info: ObjectInfo | None, node: JsonObject, name: str) -> JsonValue:
    """The object_info spec of one input (`[type_or_options, {opts}]`), or None when unknown."""
    return object_info_input(object_info, node["class_type"], name, node["inputs"])


def for_server(template: Template, object_info: ObjectInfo | None) -> Template:
    """`template` with each node that this server cannot run as written replaced by the first
    of its fallbacks that it can (feature detection on object_info); as is without one."""
    if not object_info or not template.fallbacks:
        return template
    graph = dict(template.workflow)
    for node_id, alternatives in template.fallbacks.items():
        graph[node_id] = _runnable(node_id, [graph[node_id], *alternatives], object_info)
    return replace(template, workflow=graph)


def _runnable(node_id: str, candidates: list[JsonObject], object_info: ObjectInfo) -> JsonObject:
    for node in candidates:
        if not graph_problems({node_id: node}, object_info):
            return node
    return candidates[0]


def check_against_object_info(
    template: Template,
    object_info: ObjectInfo,
    replacements: Replacements | None = None,
) -> list[str]:
    """What keeps `template` from running on a server with this object_info (empty: nothing)."""
    folders = {model.name: model.folder for model in template.models}
    graph = for_server(template, object_info).workflow
    if template.requires_comfyui:
        advice = (
            f"template {template.name} needs ComfyUI {template.requires_comfyui}: update the "
            "server, or use another one"
        )
        return graph_problems(graph, object_info, folders, replacements, advice)
    return graph_problems(graph, object_info, folders, replacements)


def template_warnings(
    template: Template,
    object_info: ObjectInfo,
    replacements: Replacements | None = None,
) -> list[str]:
    """Deprecated nodes and node replacements in `template` as it would run on this server."""
    if template.backend != "comfyui":
        return []
    graph = for_server(template, object_info).workflow
    return [f"{template.name}: {w}" for w in graph_warnings(graph, object_info, replacements)]
