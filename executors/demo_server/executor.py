"""The single worker that runs one prompt at a time (the queue is prompt_queue.py).

Message order per prompt follows the recorded traces: `execution_start`, `execution_cached`,
per node `progress_state` (running) → `executing` → [`progress`/previews] → `executed` →
`progress_state` (finished), then `execution_success` | `execution_error` |
`execution_interrupted`, the history write with its `status` broadcast, and `executing` null.
Per-prompt messages go to the prompt's client_id only; without one, only `status`,
`progress_state` and `execution_interrupted` are broadcast.

On the "current" profile a prompt's `extra_data.preview_method` "none" turns its latent previews
off (latent_preview.py@2d619ed9 set_preview_method; other values and none keep the server's
default, previews on), and saved images carry `metadata: {kind, width, height}`
(execution.py@04e2a914 execute → media_enrichment.py enrich_output_with_media_metadata).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from core.json_types import JsonObject, JsonValue

from . import hub as frames
from .catalog import Catalog
from .faults import Faults, InjectedError
from .graph import ExecutionList, cache_keys, is_link
from .hub import Hub
from .media import annotated_path, image_metadata
from .nodes import Result, run_node
from .prompt_queue import CacheEntry, OutputCache, PromptQueue
from .run import Run
from .validation import full_type_name
from .values import NodeValue

log = logging.getLogger(__name__)

TEMP_LETTERS = "abcdefghijklmnopqrstupvxyz"  # sic, as in ComfyUI
ALWAYS_CHANGED = {"SaveImageWebsocket"}
UNENCODED_PREVIEWS = {"SaveImageWebsocket"}  # its frames are outputs, not latent previews
FILE_HASHED = {"LoadImage": "image", "LoadAudio": "audio", "LoadVideo": "file"}


class Interrupted(Exception):
    """ComfyUI's InterruptProcessingException."""


@dataclass
class NodeContext:
    """The `nodes.Context` a behaviour runs with."""

    executor: Executor
    run: Run
    node_id: str
    class_type: str
    values: dict[str, NodeValue]
    return_types: tuple[str, ...]
    temp_prefix: str
    current: bool  # the server plays the "current" profile

    @property
    def demo(self) -> bool:
        return self.executor.demo_media

    @property
    def prompt(self) -> JsonValue:
        return self.run.prompt

    @property
    def extra_pnginfo(self) -> dict | None:
        return self.run.extra_data.get("extra_pnginfo")

    @property
    def output_dir(self) -> Path:
        return self.executor.dirs["output"]

    @property
    def temp_dir(self) -> Path:
        return self.executor.dirs["temp"]

    def annotated_path(self, name: str) -> Path:
        return annotated_path(name, self.executor.dirs)

    async def progress(self, value: int, total: int, preview: tuple[str, bytes] | None) -> None:
        await self.executor.progress_hook(self.run, self.node_id, value, total, preview)

    async def text(self, message: str) -> None:
        self.run.send(frames.TEXT, (self.node_id, message))


class Executor:
    def __init__(self, hub: Hub, catalog: Catalog, dirs: dict[str, Path], faults: Faults):
        self.hub = hub
        self.catalog = catalog
        self.current = catalog.profile.current
        self.dirs = dirs
        self.faults = faults
        self.queue = PromptQueue(hub)
        self.cache = OutputCache()
        self.temp_prefixes: dict[tuple[str, str], str] = {}
        self.interrupted = False
        self.demo_media = False  # ComfyServer(demo_media=True): savers draw demo media

    def interrupt(self) -> None:
        self.interrupted = True

    async def run_forever(self) -> None:
        while True:
            got = await self.queue.get()
            if got is not None:
                await self._process(*got)
            self._apply_flags()

    async def _process(self, item: tuple, item_id: int) -> None:
        _, prompt_id, prompt, extra_data, outputs, sensitive = item
        try:
            success, result, messages = await self.execute(
                prompt, prompt_id, {**extra_data, **sensitive}, outputs
            )
        except Exception:  # a bug in the fake must not stop the worker or hang a client
            log.exception("fake ComfyUI: prompt %s crashed the executor", prompt_id)
            success, result, messages = False, {"outputs": {}, "meta": {}}, []
        await self._history_lag()
        status = {
            "status_str": "success" if success else "error",
            "completed": success,
            "messages": messages,
        }
        self.queue.task_done(item_id, result, status)
        if self.hub.client_id is not None:
            data = {"node": None, "prompt_id": prompt_id}
            self.hub.send_sync("executing", data, self.hub.client_id)

    async def _history_lag(self) -> None:
        """Hold the history write while the `history_lag` fault says (ComfyUI issue #11540:
        the end message went out first); turning the fault off releases it at once."""
        started = time.monotonic()
        while time.monotonic() - started < self.faults.history_lag:
            await asyncio.sleep(0.01)

    def _apply_flags(self) -> None:
        flags, self.queue.flags = self.queue.flags, {}
        if flags.get("free_memory"):
            self.cache = OutputCache()
            self.temp_prefixes.clear()

    async def execute(
        self, prompt: dict, prompt_id: str, extra_data: dict, outputs: list[str]
    ) -> tuple[bool, JsonObject, list[list[JsonValue]]]:
        self.interrupted = False
        self.hub.client_id = extra_data.get("client_id")
        run = Run(self.hub, prompt, prompt_id, extra_data)
        run.add_message("execution_start", {"prompt_id": prompt_id}, broadcast=False)
        keys = cache_keys(
            prompt, lambda n: self._is_changed(prompt[n]), lambda n: self._keyed_by_id(prompt[n])
        )
        self.cache.set_prompt(keys)
        self._forget_objects(prompt)
        cached = [node_id for node_id in prompt if self.cache.get(node_id) is not None]
        run.add_message("execution_cached", {"nodes": cached, "prompt_id": prompt_id}, False)
        success = await self._execute_graph(run, outputs)
        if success:
            run.add_message("execution_success", {"prompt_id": prompt_id}, broadcast=False)
        self.hub.last_node_id = None
        return success, run.history_result(), run.messages

    async def _execute_graph(self, run: Run, outputs: list[str]) -> bool:
        order = ExecutionList(
            run.prompt,
            lambda n: self.catalog.is_output(run.prompt[n]["class_type"]),
            lambda n: self.cache.get(n) is not None,
        )
        for output in outputs:
            order.add_node(output)
        while not order.is_empty():
            node_id = order.next_node()
            failure = await self._execute_node(run, node_id)
            if failure is not None:
                self._report_failure(run, node_id, *failure)
                return False
            order.complete(node_id)
        return True

    async def _execute_node(self, run: Run, node_id: str) -> tuple[Exception, dict] | None:
        """None on success, else (exception, input values) for the error report."""
        cached = self.cache.get(node_id)
        if cached is not None:
            self._replay_cached(run, node_id, cached)
            return None
        class_type = run.prompt[node_id]["class_type"]
        values: dict[str, NodeValue] = {}
        try:
            run.progress.start(node_id)
            values = self._resolve(run.prompt[node_id]["inputs"])
            self.hub.last_node_id = node_id if self.hub.client_id is not None else None
            data = {"node": node_id, "display_node": node_id, "prompt_id": run.prompt_id}
            run.send("executing", data)
            self.check_interrupt()
            self.faults.raise_for(class_type)
            result = await run_node(self._context(run, node_id, class_type, values))
        except Exception as ex:
            return ex, values
        self._store(run, node_id, result)
        run.progress.finish(node_id)
        run.executed.append(node_id)
        return None

    def _replay_cached(self, run: Run, node_id: str, cached: CacheEntry) -> None:
        output = cached.ui["output"] if cached.ui else None
        data = {"node": node_id, "display_node": node_id, "output": output}
        run.send("executed", {**data, "prompt_id": run.prompt_id})
        if cached.ui is not None:
            run.ui_outputs[node_id] = cached.ui
        run.progress.finish(node_id)

    def _store(self, run: Run, node_id: str, result: Result) -> None:
        ui = None
        if result.ui and self.current:
            result.ui = self._with_media_metadata(result.ui)
        if result.ui:
            meta = {"node_id": node_id, "display_node": node_id, "parent_node": None}
            ui = {"meta": {**meta, "real_node_id": node_id}, "output": result.ui}
            run.ui_outputs[node_id] = ui
            data = {"node": node_id, "display_node": node_id, "output": result.ui}
            run.send("executed", {**data, "prompt_id": run.prompt_id})
        self.cache.set(node_id, CacheEntry(result.outputs, ui))

    def _with_media_metadata(self, ui: JsonObject) -> JsonObject:
        """Image entries get `metadata: {kind, width, height}`; others stay as they are."""
        return {
            key: [self._enriched(item) for item in items] if isinstance(items, list) else items
            for key, items in ui.items()
        }

    def _enriched(self, item: JsonValue) -> JsonValue:
        if not isinstance(item, dict) or "filename" not in item or "metadata" in item:
            return item
        base = self.dirs.get(item.get("type", ""))
        if base is None:
            return item
        metadata = image_metadata(base / item.get("subfolder", "") / item["filename"])
        return {**item, "metadata": metadata} if metadata else item

    def _resolve(self, inputs: JsonObject) -> dict[str, NodeValue]:
        values = {}
        for name, value in inputs.items():
            if is_link(value):
                entry = self.cache.get(value[0])
                values[name] = entry.outputs[int(value[1])] if entry else None
            else:
                values[name] = value
        return values

    def _context(
        self, run: Run, node_id: str, class_type: str, values: dict[str, NodeValue]
    ) -> NodeContext:
        key = (node_id, class_type)
        if key not in self.temp_prefixes:
            letters = "".join(random.choice(TEMP_LETTERS) for _ in range(5))
            self.temp_prefixes[key] = f"ComfyUI_temp_{letters}"
        return_types = self.catalog.return_types(class_type)
        return NodeContext(
            self,
            run,
            node_id,
            class_type,
            values,
            return_types,
            self.temp_prefixes[key],
            self.current,
        )

    def check_interrupt(self) -> None:
        if self.interrupted:
            raise Interrupted("Processing interrupted")

    async def progress_hook(
        self, run: Run, node_id: str, value: int, total: int, preview: tuple[str, bytes] | None
    ) -> None:
        """A sampler step: progress_state, then the preview and `progress` in the order the
        client negotiated (event 4 before `progress`, legacy event 1 after it)."""
        await asyncio.sleep(self.faults.step_delay)
        self.check_interrupt()
        run.progress.update(node_id, value, total)
        if self._previews_off(run, node_id):
            preview = None
        client = self.hub.client_id
        with_metadata = self.hub.supports_preview_metadata(client)
        if preview is not None and with_metadata:
            meta = {
                "node_id": node_id,
                "prompt_id": run.prompt_id,
                "display_node_id": node_id,
                "parent_node_id": None,
                "real_node_id": node_id,
                "image_type": f"image/{preview[0].lower()}",
            }
            self.hub.send_sync(frames.PREVIEW_IMAGE_WITH_METADATA, (preview[1], meta), client)
        data = {"value": value, "max": total, "prompt_id": run.prompt_id, "node": node_id}
        self.hub.send_sync("progress", data, client)
        if preview is not None and not with_metadata:
            self.hub.send_sync(frames.PREVIEW_IMAGE, preview, client)

    def _previews_off(self, run: Run, node_id: str) -> bool:
        if run.prompt[node_id].get("class_type") in UNENCODED_PREVIEWS:
            return False
        return self.current and run.extra_data.get("preview_method") == "none"

    def _report_failure(self, run: Run, node_id: str, ex: Exception, values: dict) -> None:
        class_type = run.prompt[node_id]["class_type"]
        base = {
            "prompt_id": run.prompt_id,
            "node_id": node_id,
            "node_type": class_type,
            "executed": list(run.executed),
        }
        if isinstance(ex, Interrupted):
            run.add_message("execution_interrupted", base, broadcast=True)
            return
        details = {
            "exception_message": str(ex),
            "exception_type": exception_type(ex),
            "traceback": traceback.format_tb(ex.__traceback__),
            "current_inputs": self._format_inputs(run, node_id, class_type, values),
            "current_outputs": list(run.prompt),
        }
        run.add_message("execution_error", {**base, **details}, broadcast=False)

    def _format_inputs(self, run: Run, node_id: str, class_type: str, values: dict) -> dict:
        hidden_values = {
            "PROMPT": run.prompt,
            "EXTRA_PNGINFO": run.extra_data.get("extra_pnginfo"),
            "UNIQUE_ID": node_id,
        }
        hidden = self.catalog.hidden(class_type)
        merged = {**values, **{name: hidden_values.get(kind) for name, kind in hidden.items()}}
        return {name: [format_value(value)] for name, value in merged.items()}

    def _is_changed(self, node: JsonObject) -> JsonValue:
        """IS_CHANGED: loaders hash their file, SaveImageWebsocket changes every time."""
        class_type = str(node.get("class_type"))
        if class_type in ALWAYS_CHANGED:
            return time.time()
        name = FILE_HASHED.get(class_type)
        if name is None:
            return False
        try:
            data = annotated_path(node["inputs"][name], self.dirs).read_bytes()
        except (OSError, KeyError, TypeError):
            return float("nan")  # never equal: always re-run
        return hashlib.sha256(data).hexdigest()

    def _keyed_by_id(self, node: JsonObject) -> bool:
        class_type = str(node.get("class_type"))
        if class_type not in self.catalog:
            return False
        return "UNIQUE_ID" in self.catalog.hidden(class_type).values()

    def _forget_objects(self, prompt: dict) -> None:
        for node_id, class_type in list(self.temp_prefixes):
            if prompt.get(node_id, {}).get("class_type") != class_type:
                del self.temp_prefixes[(node_id, class_type)]


def format_value(value: NodeValue) -> JsonValue:
    if value is None or isinstance(value, int | float | bool | str):
        return value
    return str(value)


def exception_type(ex: Exception) -> str:
    return ex.type_name if isinstance(ex, InjectedError) else full_type_name(type(ex))
