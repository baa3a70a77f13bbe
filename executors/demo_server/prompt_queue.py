"""The prompt queue (a priority heap), its history, and the cache of node outputs."""

from __future__ import annotations

import asyncio
import copy
import heapq
from dataclasses import dataclass

from core.json_types import JsonObject, JsonValue

from .hub import Hub
from .values import NodeValue

MAXIMUM_HISTORY_SIZE = 10000


@dataclass
class CacheEntry:
    outputs: tuple[NodeValue, ...]
    ui: JsonObject | None


class OutputCache:
    """The "classic" cache: keeps only entries whose key the current prompt uses."""

    def __init__(self) -> None:
        self.entries: dict[str, CacheEntry] = {}
        self.keys: dict[str, str] = {}

    def set_prompt(self, keys: dict[str, str]) -> None:
        self.keys = keys
        used = set(keys.values())
        self.entries = {k: v for k, v in self.entries.items() if k in used}

    def get(self, node_id: str) -> CacheEntry | None:
        return self.entries.get(self.keys.get(node_id, ""))

    def set(self, node_id: str, entry: CacheEntry) -> None:
        self.entries[self.keys[node_id]] = entry


class PromptQueue:
    """A priority heap of (number, prompt_id, prompt, extra_data, outputs, sensitive)."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self.heap: list[tuple] = []
        self.running: dict[int, tuple] = {}
        self.history: dict[str, JsonObject] = {}
        self.task_counter = 0
        self.flags: JsonObject = {}
        self._wake = asyncio.Event()

    def remaining(self) -> int:
        return len(self.heap) + len(self.running)

    def put(self, item: tuple) -> None:
        heapq.heappush(self.heap, item)
        self.hub.queue_updated()
        self._wake.set()

    async def get(self) -> tuple[tuple, int] | None:
        """The next item, or None when woken by a flag (POST /free) with nothing queued."""
        while not self.heap:
            self._wake.clear()
            await self._wake.wait()
            if not self.heap and self.flags:
                return None
        item = heapq.heappop(self.heap)
        item_id = self.task_counter
        self.running[item_id] = copy.deepcopy(item)
        self.task_counter += 1
        self.hub.queue_updated()
        return item, item_id

    def task_done(self, item_id: int, result: JsonObject, status: JsonObject) -> None:
        prompt = self.running.pop(item_id)
        if len(self.history) > MAXIMUM_HISTORY_SIZE:
            self.history.pop(next(iter(self.history)))
        entry = {"prompt": list(prompt[:5]), "outputs": {}, "status": status}
        entry.update(result)
        self.history[prompt[1]] = entry
        self.hub.queue_updated()

    def set_flag(self, name: str, value: JsonValue) -> None:
        self.flags[name] = value
        self._wake.set()

    def wipe(self) -> None:
        self.heap = []
        self.hub.queue_updated()

    def delete(self, prompt_id: str) -> bool:
        """Drop the first pending item with this id (running items cannot be deleted);
        whether one was there."""
        for index, item in enumerate(self.heap):
            if item[1] == prompt_id:
                if len(self.heap) == 1:
                    self.wipe()
                else:
                    self.heap.pop(index)
                    heapq.heapify(self.heap)
                self.hub.queue_updated()
                return True
        return False

    def history_page(self, max_items: int | None, offset: int) -> JsonObject:
        if offset < 0 and max_items is not None:
            offset = len(self.history) - max_items
        out: JsonObject = {}
        for index, key in enumerate(self.history):
            if index >= offset:
                out[key] = self.history[key]
                if max_items is not None and len(out) >= max_items:
                    break
        return out


def queue_info(queue: PromptQueue) -> JsonObject:
    return {"exec_info": {"queue_remaining": queue.remaining()}}
