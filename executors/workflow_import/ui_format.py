"""A UI-format workflow (what ComfyUI's "Save" writes) → the API-format graph it queues.

Follows the frontend (Comfy-Org/ComfyUI_frontend): graphToPrompt in
src/utils/executionUtil.ts@01c735d9 and the link resolution of
src/lib/litegraph/src/subgraph/ExecutableNodeDTO.ts@9d1ad4ad. Virtual nodes (Reroute,
PrimitiveNode, Note, MarkdownNote) and muted (mode 2) and bypassed (mode 4) nodes are not sent;
links to nodes that are not sent are dropped at the end; a bypassed node passes through the
input that fits the type of the input it feeds; a PrimitiveNode's value is written into the
inputs it feeds (its applyToGraph); a list value is sent as `{"__value__": [...]}`. Widget
values are read by widgets.py. Subgraphs (`definitions.subgraphs`) are flattened: an inner
node's id is `<instance>:<inner>`, nested ones `<outer>:<inner>:<node>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.errors import InputError
from core.json_types import JsonObject, JsonValue
from executors.workflow_import.widgets import widget_values

NEVER, BYPASS = 2, 4
VIRTUAL = {"Reroute", "PrimitiveNode", "Note", "MarkdownNote", "SetNode", "GetNode"}
SUBGRAPH_INPUT = -10  # a link's origin inside a subgraph: the subgraph's input slot
MAX_NESTING = 16  # subgraphs within subgraphs
MAX_HOPS = 200  # reroutes, bypassed nodes and subgraph borders on one link


@dataclass(frozen=True)
class Link:
    """Where a link comes from (its target is the input that holds its id)."""

    origin_id: JsonValue
    origin_slot: int


@dataclass(frozen=True)
class Value:
    """A literal that stands where a link was (a PrimitiveNode's or a widget's value)."""

    value: JsonValue


@dataclass
class Scope:
    """One level of the graph: the top, or the inside of one subgraph instance."""

    nodes: dict[str, JsonObject]
    links: dict[int, Link]
    prefix: str = ""
    parent: Scope | None = None
    instance: JsonObject | None = None
    definition: JsonObject = field(default_factory=dict)


def to_api(workflow: Mapping[str, JsonValue], object_info: Mapping[str, JsonValue]) -> JsonObject:
    """The API-format graph the frontend would queue for `workflow`."""
    return Converter(workflow, object_info).convert()


class Converter:
    def __init__(self, workflow: Mapping[str, JsonValue], object_info: Mapping[str, JsonValue]):
        self.object_info = object_info
        definitions = workflow.get("definitions")
        subgraphs = definitions.get("subgraphs") if isinstance(definitions, dict) else None
        self.subgraphs = {
            sub["id"]: sub
            for sub in _list(subgraphs)
            if isinstance(sub, dict) and _is_id(sub.get("id"))
        }
        self.top = Scope(_nodes(workflow.get("nodes")), _links(workflow.get("links")))
        self.graph: JsonObject = {}
        self._resolving: list[tuple[str, str, int]] = []  # the inputs being followed now

    def convert(self) -> JsonObject:
        self._convert_scope(self.top)
        for node in self.graph.values():  # as the frontend: links to nodes not sent are dropped
            dangling = [
                k for k, v in node["inputs"].items() if _is_ref(v) and v[0] not in self.graph
            ]
            for name in dangling:
                del node["inputs"][name]
        return self.graph

    def _convert_scope(self, scope: Scope) -> None:
        for node in scope.nodes.values():
            mode = node.get("mode", 0)
            if mode in (NEVER, BYPASS) or node.get("type") in VIRTUAL:
                continue
            if node.get("type") in self.subgraphs:
                self._convert_scope(self._inner(scope, node))
            else:
                self.graph[scope.prefix + str(node["id"])] = self._api_node(scope, node)

    def _inner(self, scope: Scope, instance: JsonObject) -> Scope:
        definition = self.subgraphs[instance["type"]]
        prefix = f"{scope.prefix}{instance['id']}:"
        if prefix.count(":") > MAX_NESTING:
            raise InputError(
                f"the workflow's subgraphs are nested more than {MAX_NESTING} deep (one contains "
                "itself?) — fix it in ComfyUI and save again"
            )
        nodes, links = _nodes(definition.get("nodes")), _links(definition.get("links"))
        return Scope(nodes, links, prefix, scope, instance, definition)

    def _api_node(self, scope: Scope, node: JsonObject) -> JsonObject:
        class_type = node["type"]
        info = self.object_info.get(class_type) or {}
        inputs = widget_values(node, info)
        for index, socket in enumerate(node.get("inputs") or []):
            if not isinstance(socket, dict) or socket.get("link") is None:
                continue
            source = self._input_source(scope, node, index)
            name = (socket.get("widget") or {}).get("name") or socket.get("name")
            if not isinstance(name, str):  # a link into no named input: nothing to send
                continue
            if isinstance(source, Value):
                value = source.value
                inputs[name] = {"__value__": value} if isinstance(value, list) else value
            elif source is not None:
                inputs[name] = [source[0], source[1]]
        title = node.get("title") or info.get("display_name") or class_type
        return {"inputs": inputs, "class_type": class_type, "_meta": {"title": title}}

    # --- following links (ExecutableNodeDTO resolveInput / resolveOutput) -----------------------

    def _input_source(self, scope: Scope, node: JsonObject, index: int) -> JsonValue:
        """What feeds input `index` of `node`: (api id, slot), a Value, or None (nothing)."""
        sockets = node.get("inputs") or []
        if not 0 <= index < len(sockets) or not isinstance(sockets[index], dict):
            return None
        link = scope.links.get(sockets[index].get("link"))
        if link is None:
            return None
        key = (scope.prefix, str(node.get("id")), index)
        if key in self._resolving or len(self._resolving) > MAX_HOPS:
            raise InputError(
                f"the workflow's links at node {scope.prefix}{node.get('id')} go round in a "
                "circle (or through too many reroutes) — fix it in ComfyUI and save again"
            )
        self._resolving.append(key)
        try:
            type_ = sockets[index].get("type")
            return self._output_source(scope, link.origin_id, link.origin_slot, type_)
        finally:
            self._resolving.pop()

    def _output_source(
        self, scope: Scope, node_id: JsonValue, slot: int, type_: JsonValue
    ) -> JsonValue:
        """`type_` is the type of the input being fed (a bypassed node passes on the input
        that fits it)."""
        if node_id == SUBGRAPH_INPUT:
            return self._instance_input(scope, slot)
        node = scope.nodes.get(str(node_id))
        if node is None:
            return None
        kind = node.get("type")
        if node.get("mode", 0) == BYPASS:
            return self._bypassed(scope, node, slot, type_)
        if kind in self.subgraphs:
            return self._subgraph_output(scope, node, slot, type_)
        if kind == "PrimitiveNode":  # applyToGraph writes its value into what it feeds
            return Value(_first_widget(node))
        if kind == "GetNode":
            return self._get_node(scope, node)
        if kind in VIRTUAL:  # Reroute: the input of the same index
            return self._input_source(scope, node, slot)
        return (scope.prefix + str(node_id), slot)  # a muted node's links are dropped later

    def _bypassed(self, scope: Scope, node: JsonObject, slot: int, type_: JsonValue) -> JsonValue:
        """The input a bypassed node passes through (ExecutableNodeDTO #getBypassSlotIndex):
        the same index if its type fits, else the first input of exactly that type. With none
        the frontend's findIndex gives -1, the node's last input, which on a loaded node is an
        unconnected widget socket: nothing."""
        sockets = [s if isinstance(s, dict) else {} for s in node.get("inputs") or []]
        outputs = node.get("outputs") or []
        out_type = outputs[slot].get("type") if 0 <= slot < len(outputs) else type_
        if type_ in ("*", "", None):
            index = slot if len(sockets) > slot else 0
        elif slot < len(sockets) and _fits(sockets[slot].get("type"), out_type, type_):
            index = slot
        else:
            exact = [i for i, s in enumerate(sockets) if s.get("type") == type_]
            if not exact:
                return None
            index = exact[0]
        return self._input_source(scope, node, index)

    def _get_node(self, scope: Scope, node: JsonObject) -> JsonValue:
        """KJNodes' GetNode reads the input of the SetNode with the same name."""
        name = _first_widget(node)
        for other in scope.nodes.values():
            if other.get("type") == "SetNode" and _first_widget(other) == name:
                return self._input_source(scope, other, 0)
        return None

    def _subgraph_output(
        self, scope: Scope, instance: JsonObject, slot: int, type_: JsonValue
    ) -> JsonValue:
        inner = self._inner(scope, instance)
        outputs = [o if isinstance(o, dict) else {} for o in _list(inner.definition.get("outputs"))]
        if not 0 <= slot < len(outputs):
            return None
        for link_id in _list(outputs[slot].get("linkIds")):
            link = inner.links.get(link_id) if _is_id(link_id) else None
            if link is not None:
                return self._output_source(inner, link.origin_id, link.origin_slot, type_)
        return None

    def _instance_input(self, scope: Scope, slot: int) -> JsonValue:
        """Input `slot` of the subgraph, seen from inside: what feeds the instance's socket of
        that name outside, or (nothing connected) the instance's widget value for it. By name:
        a saved node lists only its linked widget sockets (litegraphUtil.ts
        compressWidgetInputSlots), so the instance's socket indices differ from the
        subgraph's."""
        if scope.parent is None or scope.instance is None:
            return None
        declared = _list(scope.definition.get("inputs"))
        inside = declared[slot] if 0 <= slot < len(declared) else None
        name = inside.get("name") if isinstance(inside, dict) else None
        for index, socket in enumerate(scope.instance.get("inputs") or []):
            if isinstance(socket, dict) and socket.get("name") == name:
                if socket.get("link") is not None:
                    return self._input_source(scope.parent, scope.instance, index)
                return _promoted_value(scope.instance, index)
        return None


def _promoted_value(instance: JsonObject, index: int) -> Value | None:
    """The instance's own value for a widget socket, when it stores one per widget socket;
    None leaves the inner node's own widget value in place."""
    sockets = instance.get("inputs") or []
    widget_sockets = [i for i, s in enumerate(sockets) if isinstance(s, dict) and s.get("widget")]
    values = instance.get("widgets_values")
    if index in widget_sockets and isinstance(values, list) and len(values) == len(widget_sockets):
        return Value(values[widget_sockets.index(index)])
    return None


def _first_widget(node: Mapping[str, JsonValue]) -> JsonValue:
    values = node.get("widgets_values")
    return values[0] if isinstance(values, list) and values else None


def _fits(have: JsonValue, *wanted: JsonValue) -> bool:
    """LiteGraph.isValidConnection for each of `wanted`: equal, a wildcard, or a shared member
    of comma-separated type lists (case-insensitive)."""
    return all(_valid(have, other) for other in wanted)


def _valid(a: JsonValue, b: JsonValue) -> bool:
    if a in ("*", "", None, 0) or b in ("*", "", None, 0) or a == b:
        return True
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    return bool(
        {t.strip().lower() for t in a.split(",")} & {t.strip().lower() for t in b.split(",")}
    )


def _is_ref(value: JsonValue) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


def _nodes(raw: JsonValue) -> dict[str, JsonObject]:
    """Nodes by id, in the shapes the rest of this module reads (a hand-edited or damaged
    file's odd values become empty ones, keeping socket positions)."""
    return {
        str(n["id"]): _clean_node(n)
        for n in _list(raw)
        if isinstance(n, dict) and _is_id(n.get("id")) and isinstance(n.get("type"), str)
    }


def _clean_node(node: JsonObject) -> JsonObject:
    widgets = node.get("widgets_values")
    return {
        **node,
        "mode": node.get("mode") if isinstance(node.get("mode"), int) else 0,
        "inputs": [_clean_socket(socket) for socket in _list(node.get("inputs"))],
        "outputs": [o if isinstance(o, dict) else {} for o in _list(node.get("outputs"))],
        "widgets_values": widgets if isinstance(widgets, list | dict) else [],
    }


def _clean_socket(socket: JsonValue) -> JsonObject:
    if not isinstance(socket, dict):
        return {}
    link = socket.get("link")
    widget = socket.get("widget")
    return {**socket, "link": link if _is_id(link) else None,
            "widget": widget if isinstance(widget, dict) else None}  # fmt: skip


def _is_id(value: JsonValue) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


def _list(value: JsonValue) -> list[JsonValue]:
    return value if isinstance(value, list) else []


def _links(raw: JsonValue) -> dict[int, Link]:
    """Links as arrays `[id, origin, slot, target, slot, type]` or as objects."""
    links: dict[int, Link] = {}
    for item in _list(raw):
        if isinstance(item, list) and len(item) >= 5:
            link_id, origin, slot = item[0], item[1], item[2]
        elif isinstance(item, dict):
            link_id, origin, slot = item.get("id"), item.get("origin_id"), item.get("origin_slot")
        else:
            continue
        if _is_id(link_id) and _is_id(origin) and isinstance(slot, int):
            links[link_id] = Link(origin, slot)
    return links
