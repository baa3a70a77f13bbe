"""One execution of one prompt: its messages, its ui outputs and its nodes' progress."""

from __future__ import annotations

import time

from core.json_types import JsonObject, JsonValue

from . import hub as frames
from .hub import Hub


class ProgressRegistry:
    """The per-prompt node states behind the cumulative `progress_state` snapshots."""

    def __init__(self, run: Run):
        self.run = run
        self.nodes: dict[str, JsonObject] = {}

    def start(self, node_id: str) -> None:
        self._set(node_id, state="running", value=0.0, max=1.0)

    def update(self, node_id: str, value: int, total: int) -> None:
        self._set(node_id, state="running", value=value, max=total)

    def finish(self, node_id: str) -> None:
        entry = self._entry(node_id)
        self._set(node_id, state="finished", value=entry["max"])

    def _entry(self, node_id: str) -> JsonObject:
        return self.nodes.setdefault(node_id, {"state": "pending", "value": 0, "max": 1})

    def _set(self, node_id: str, **changes: JsonValue) -> None:
        self._entry(node_id).update(changes)
        nodes = {
            node: {
                "value": entry["value"],
                "max": entry["max"],
                "state": entry["state"],
                "node_id": node,
                "prompt_id": self.run.prompt_id,
                "display_node_id": node,
                "parent_node_id": None,
                "real_node_id": node,
            }
            for node, entry in self.nodes.items()
            if entry["state"] != "pending"
        }
        data = {"prompt_id": self.run.prompt_id, "nodes": nodes}
        self.run.hub.send_sync("progress_state", data, self.run.hub.client_id)


class Run:
    """One execution of one prompt: its messages, ui outputs and executed nodes."""

    def __init__(self, hub: Hub, prompt: dict, prompt_id: str, extra_data: dict):
        self.hub = hub
        self.prompt = prompt
        self.prompt_id = prompt_id
        self.extra_data = extra_data
        self.messages: list[list[JsonValue]] = []
        self.ui_outputs: dict[str, JsonObject] = {}
        self.executed: list[str] = []
        self.progress = ProgressRegistry(self)

    def add_message(self, event: str, data: JsonObject, broadcast: bool) -> None:
        data = {**data, "timestamp": int(time.time() * 1000)}
        self.messages.append([event, data])
        if self.hub.client_id is not None or broadcast:
            self.hub.send_sync(event, data, self.hub.client_id)

    def send(self, event: frames.Event, data: JsonValue) -> None:
        """A per-prompt message: only to the prompt's client, nothing without one."""
        if self.hub.client_id is not None:
            self.hub.send_sync(event, data, self.hub.client_id)

    def history_result(self) -> JsonObject:
        return {
            "outputs": {node: ui["output"] for node, ui in self.ui_outputs.items()},
            "meta": {node: ui["meta"] for node, ui in self.ui_outputs.items()},
        }
