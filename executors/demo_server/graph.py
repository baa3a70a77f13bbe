"""Execution order and cache keys, after ComfyUI's `ExecutionList` and input-signature cache.

The order is the real server's: outputs are added in order, cached upstream nodes are not added
at all, and among the ready nodes an output node is picked first, then a node that feeds an
output, then one two steps before an output (`ux_friendly_pick_node`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from core.json_types import JsonObject, JsonValue


def is_link(value: JsonValue) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int | float)
    )


class ExecutionList:
    def __init__(
        self, prompt: dict, is_output: Callable[[str], bool], is_cached: Callable[[str], bool]
    ):
        self.prompt = prompt
        self.is_output = is_output
        self.is_cached = is_cached
        self.pending: dict[str, bool] = {}
        self.block_count: dict[str, int] = {}
        self.blocking: dict[str, dict[str, dict]] = {}

    def add_node(self, node_id: str) -> None:
        stack, links = [node_id], []
        while stack:
            current = stack.pop()
            if current in self.pending:
                continue
            self.pending[current] = True
            self.block_count[current] = 0
            self.blocking[current] = {}
            for value in self.prompt[current]["inputs"].values():
                if is_link(value) and not self.is_cached(value[0]):
                    stack.append(value[0])
                    links.append((value[0], value[1], current))
        for source, socket, target in links:
            self._link(source, socket, target)

    def _link(self, source: str, socket: int, target: str) -> None:
        if self.is_cached(source):
            return
        self.add_node(source)
        if target not in self.blocking[source]:
            self.blocking[source][target] = {}
            self.block_count[target] += 1
        self.blocking[source][target][socket] = True

    def is_empty(self) -> bool:
        return not self.pending

    def next_node(self) -> str:
        ready = [n for n in self.pending if self.block_count[n] == 0]
        if not ready:
            raise RuntimeError("Dependency cycle detected")
        return self._pick(ready)

    def complete(self, node_id: str) -> None:
        del self.pending[node_id]
        for blocked in self.blocking.pop(node_id):
            self.block_count[blocked] -= 1

    def _pick(self, ready: list[str]) -> str:
        def feeds_output(node_id: str, depth: int) -> bool:
            if depth == 0:
                return self.is_output(node_id)
            return any(feeds_output(b, depth - 1) for b in self.blocking.get(node_id, {}))

        for depth in range(3):
            for node_id in ready:
                if feeds_output(node_id, depth):
                    return node_id
        return ready[0]


def cache_keys(
    prompt: dict, is_changed: Callable[[str], object], with_id: Callable[[str], bool]
) -> dict[str, str]:
    """A signature per node: class, IS_CHANGED value, widget values and upstream signatures.

    Node ids are not part of it (except for nodes with a UNIQUE_ID input), so an identical
    graph submitted again, by anyone, hits the cache.
    """
    memo: JsonObject = {}

    def signature(node_id: str, seen: frozenset[str]) -> JsonValue:
        if node_id in memo:
            return memo[node_id]
        if node_id not in prompt or node_id in seen:
            return ["unresolvable", node_id]
        node = prompt[node_id]
        parts: list[JsonValue] = [node.get("class_type"), str(is_changed(node_id))]
        if with_id(node_id):
            parts.append(node_id)
        inputs = node.get("inputs", {})
        for name in sorted(inputs) if isinstance(inputs, dict) else []:
            value = inputs[name]
            if is_link(value):
                parts.append([name, signature(value[0], seen | {node_id}), value[1]])
            else:
                parts.append([name, value])
        memo[node_id] = parts
        return parts

    return {
        node_id: hashlib.sha256(
            json.dumps(signature(node_id, frozenset()), sort_keys=True, default=str).encode()
        ).hexdigest()
        for node_id in prompt
    }
