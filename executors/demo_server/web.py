"""The HTTP + WebSocket routes of ComfyUI, each under `/x` and `/api/x`.

The 0.3.64 profile answers as the recorded traces; the "current" profile as
server.py@002c3fb9 (canonical prompt ids, `create_time`, the Jobs API, the newest
/system_stats and /features).
"""

from __future__ import annotations

import ipaddress
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from core.json_types import JsonObject, JsonValue

from .catalog import MODEL_FOLDERS, Catalog
from .executor import Executor
from .faults import Faults
from .files import FilesApi
from .hub import Hub
from .jobs import Handler, JobsApi, validate_job_id
from .machine import Config, system_stats
from .profiles import MAX_UPLOAD_SIZE
from .prompt_queue import PromptQueue, queue_info
from .replacements import apply, listing
from .validation import Validator, error

if TYPE_CHECKING:
    from aiohttp.typedefs import Middleware  # a Protocol in aiohttp 3.10+

SENSITIVE_EXTRA_DATA_KEYS = ("auth_token_comfy_org", "api_key_comfy_org")
INVALID_PROMPT_ID = error(
    "invalid_prompt_id",
    "prompt_id must be a valid UUID",
    "prompt_id must be a UUID string in canonical lowercase hyphenated form; "
    "omit it to let the server generate one",
)  # server.py@002c3fb9 post_prompt


@dataclass
class State:
    """What one server "process" holds in memory; a restart starts a new one."""

    hub: Hub
    executor: Executor
    validator: Validator
    catalog: Catalog
    number: int = 0
    preview_methods: JsonObject = field(default_factory=dict)  # prompt id → extra_data's


class Api:
    def __init__(self, state: State, config: Config, faults: Faults):
        self.state = state
        self.config = config
        self.faults = faults

    @property
    def queue(self) -> PromptQueue:
        return self.state.executor.queue

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=MAX_UPLOAD_SIZE,
            middlewares=[auth_middleware(self.faults), origin_only_middleware],
        )
        for method, path, handler in self.routes():
            app.router.add_route(method, path, handler)
            app.router.add_route(method, "/api" + path, handler)
        if self.config.profile.current:
            jobs = JobsApi(self.queue, self.state.executor.interrupt)
            for method, path, handler in jobs.routes():
                app.router.add_route(method, path, handler)
            for path in ("/node_replacements", "/api/node_replacements"):
                app.router.add_get(path, self.node_replacements)
        app.router.add_get("/{tail:.*}", static_not_found)
        return app

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/ws", self.websocket),
            ("GET", "/system_stats", self.system_stats),
            ("GET", "/features", self.features),
            ("GET", "/prompt", self.get_prompt),
            ("POST", "/prompt", self.post_prompt),
            ("GET", "/queue", self.get_queue),
            ("POST", "/queue", self.post_queue),
            ("POST", "/interrupt", self.post_interrupt),
            ("GET", "/history", self.get_history),
            ("GET", "/history/{prompt_id}", self.get_history_item),
            ("POST", "/history", self.post_history),
            ("POST", "/free", self.post_free),
            ("GET", "/object_info", self.object_info),
            ("GET", "/object_info/{node_class}", self.object_info_node),
            ("GET", "/models", self.models),
            ("GET", "/models/{folder}", self.model_files),
            ("GET", "/embeddings", self.embeddings),
            ("GET", "/extensions", self.extensions),
            *FilesApi(self.config, self.faults).routes(),
        ]

    def queue_info(self) -> JsonObject:
        return queue_info(self.queue)

    # --- websocket -----------------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if self.faults.ws_refuse_status:
            return web.Response(status=self.faults.ws_refuse_status)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hub = self.state.hub
        sid = request.rel_url.query.get("clientId", "")
        if sid:
            hub.sockets.pop(sid, None)  # reusing a session: the older socket goes deaf
        else:
            sid = uuid.uuid4().hex
        hub.sockets[sid] = ws
        hub.metadata[sid] = {"feature_flags": {}}
        if request.transport is not None:
            hub.transports[ws] = request.transport
        try:
            await hub.send("status", {"status": self.queue_info(), "sid": sid}, sid)
            if hub.client_id == sid and hub.last_node_id is not None:
                await hub.send("executing", {"node": hub.last_node_id}, sid)
            await self._read_client(ws, sid)
        finally:  # keyed by clientId: this also unregisters a newer socket with the same id
            hub.sockets.pop(sid, None)
            hub.metadata.pop(sid, None)
            hub.forget(ws)
        return ws

    async def _read_client(self, ws: web.WebSocketResponse, sid: str) -> None:
        """Only a `feature_flags` first valid-JSON message means anything; the rest is ignored."""
        first = True
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except json.JSONDecodeError:
                continue
            if not isinstance(data, dict):
                continue
            if first and data.get("type") == "feature_flags":
                self.state.hub.metadata[sid]["feature_flags"] = data.get("data", {})
                features = dict(self.config.profile.features)
                await self.state.hub.send("feature_flags", features, sid)
            first = False

    # --- server info ---------------------------------------------------------------------------

    async def system_stats(self, request: web.Request) -> web.Response:
        return web.json_response(system_stats(self.config))

    async def features(self, request: web.Request) -> web.Response:
        return web.json_response(dict(self.config.profile.features))

    async def node_replacements(self, request: web.Request) -> web.Response:
        return web.json_response(listing(self.config.replacements))

    async def object_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.catalog.object_info())

    async def object_info_node(self, request: web.Request) -> web.Response:
        name = request.match_info["node_class"]
        if name not in self.state.catalog:
            return web.json_response({})
        return web.json_response({name: self.state.catalog.entry(name)})

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response(MODEL_FOLDERS)

    async def model_files(self, request: web.Request) -> web.Response:
        folder = request.match_info["folder"]
        if folder not in MODEL_FOLDERS:
            return web.Response(status=404)
        return web.json_response(sorted(self.config.models.get(folder, [])))

    async def embeddings(self, request: web.Request) -> web.Response:
        names = [Path(n).stem for n in self.config.models.get("embeddings", [])]
        return web.json_response(names)

    async def extensions(self, request: web.Request) -> web.Response:
        return web.json_response([])

    # --- prompts and queue ---------------------------------------------------------------------

    async def get_prompt(self, request: web.Request) -> web.Response:
        return web.json_response(self.queue_info())

    async def post_prompt(self, request: web.Request) -> web.Response:
        json_data = await request.json()  # malformed JSON: aiohttp's 500 text/plain
        number = self._number(json_data)
        if "prompt" not in json_data:
            no_prompt = error("no_prompt", "No prompt provided", "No prompt provided")
            return web.json_response({"error": no_prompt, "node_errors": {}}, status=400)
        prompt = json_data["prompt"]
        prompt_id = self._prompt_id(json_data)
        if prompt_id is None:
            return web.json_response({"error": INVALID_PROMPT_ID, "node_errors": {}}, status=400)
        partial = json_data.get("partial_execution_targets")
        if self.config.profile.current:
            apply(prompt, self.config.replacements, self.state.catalog)
        valid, err, outputs, node_errors = self.state.validator.validate_prompt(prompt, partial)
        extra_data = json_data.get("extra_data", {})
        if "client_id" in json_data:
            extra_data["client_id"] = json_data["client_id"]
        usage_source = request.headers.get("Comfy-Usage-Source")
        if self.config.profile.current and usage_source and "comfy_usage_source" not in extra_data:
            extra_data["comfy_usage_source"] = usage_source
        if not valid:
            return web.json_response({"error": err, "node_errors": node_errors}, status=400)
        sensitive = {k: extra_data.pop(k) for k in SENSITIVE_EXTRA_DATA_KEYS if k in extra_data}
        if self.config.profile.current:
            extra_data["create_time"] = int(time.time() * 1000)
        self.state.preview_methods[prompt_id] = extra_data.get("preview_method")
        self.queue.put((number, prompt_id, prompt, extra_data, outputs, sensitive))
        body = {"prompt_id": prompt_id, "number": number, "node_errors": node_errors}
        return web.json_response(body)

    def _prompt_id(self, json_data: JsonValue) -> str | None:
        """The id to queue under: 0.3.64 takes any value (as str, null too) and makes one when
        absent; current makes one when absent or null and refuses anything but a canonical
        UUID (None here; comfy_execution/jobs.py@172be438 validate_job_id)."""
        if not self.config.profile.current:
            return str(json_data.get("prompt_id", uuid.uuid4()))
        client_id = json_data.get("prompt_id")
        if client_id is None:
            return str(uuid.uuid4())
        try:
            return validate_job_id(client_id)
        except ValueError:
            return None

    def _number(self, json_data: JsonValue) -> float | int:
        """Explicit `number` is echoed as a float; else the counter (negated with `front`),
        which counts every POST, rejected ones included."""
        if "number" in json_data:
            return float(json_data["number"])
        number = self.state.number
        if "front" in json_data and json_data["front"]:
            number = -number
        self.state.number += 1
        return number

    async def get_queue(self, request: web.Request) -> web.Response:
        running = [list(item[:5]) for item in self.queue.running.values()]
        pending = [list(item[:5]) for item in self.queue.heap]  # heap order, not sorted
        return web.json_response({"queue_running": running, "queue_pending": pending})

    async def post_queue(self, request: web.Request) -> web.Response:
        json_data = await request.json()
        if "clear" in json_data and json_data["clear"]:
            self.queue.wipe()
        for prompt_id in json_data.get("delete", []):
            self.queue.delete(prompt_id)
        return web.Response(status=200)

    async def post_interrupt(self, request: web.Request) -> web.Response:
        try:
            json_data = await request.json()
        except json.JSONDecodeError:
            json_data = {}
        prompt_id = json_data.get("prompt_id")
        running = [item[1] for item in self.queue.running.values()]
        if not prompt_id or prompt_id in running:  # a pending id is a silent no-op
            self.state.executor.interrupt()
        return web.Response(status=200)

    async def get_history(self, request: web.Request) -> web.Response:
        query = request.rel_url.query
        max_items = int(query["max_items"]) if "max_items" in query else None
        offset = int(query["offset"]) if "offset" in query else -1
        page = self.queue.history_page(max_items, offset)
        return web.json_response({pid: self._disguised(e) for pid, e in page.items()})

    async def get_history_item(self, request: web.Request) -> web.Response:
        prompt_id = request.match_info["prompt_id"]
        entry = self.queue.history.get(prompt_id)
        if entry is not None and self.faults.vanish_history > 0:
            self.faults.vanish_history -= 1
            del self.queue.history[prompt_id]
            entry = None
        return web.json_response({} if entry is None else {prompt_id: self._disguised(entry)})

    def _disguised(self, entry: JsonObject) -> JsonObject:
        """The entry with output files renamed by the `hostile_outputs` fault."""
        names = self.faults.hostile_outputs
        if not names:
            return entry
        entry = json.loads(json.dumps(entry))
        items = [
            item
            for output in entry.get("outputs", {}).values()
            for value in output.values()
            if isinstance(value, list)
            for item in value
            if isinstance(item, dict) and "filename" in item
        ]
        for index, item in enumerate(items):
            filename, subfolder = names[index % len(names)]
            real = (item["filename"], item.get("subfolder", ""))
            self.faults.aliases[(filename, subfolder)] = real
            item["filename"], item["subfolder"] = filename, subfolder
        return entry

    async def post_history(self, request: web.Request) -> web.Response:
        json_data = await request.json()
        if "clear" in json_data and json_data["clear"]:
            self.queue.history.clear()
        for prompt_id in json_data.get("delete", []):
            self.queue.history.pop(prompt_id, None)
        return web.Response(status=200)

    async def post_free(self, request: web.Request) -> web.Response:
        json_data = await request.json()
        for flag in ("unload_models", "free_memory"):
            if json_data.get(flag, False):
                self.queue.set_flag(flag, True)
        return web.Response(status=200)

    # --- files ---------------------------------------------------------------------------------


async def static_not_found(request: web.Request) -> web.Response:
    """GET on an unknown path falls through to the static web root."""
    return web.Response(status=404, content_type="application/octet-stream")


def auth_middleware(faults: Faults) -> Middleware:
    """A reverse proxy in front of ComfyUI: it may ask for `Authorization: Bearer <token>`,
    or answer every request with an error of its own (502 when ComfyUI is down)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if faults.proxy_status:
            return web.Response(status=faults.proxy_status, text="proxy error")
        failure = faults.flaky.draw() if faults.flaky and not _is_websocket(request) else None
        if failure and failure[1] == "before":
            return web.Response(status=failure[0], text="flaky")
        wanted = f"Bearer {faults.token}"
        if faults.token and request.headers.get("Authorization") != wanted:
            return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        hostile_body = faults.hostile.json_for(request.path)
        if hostile_body is not None:
            return web.Response(text=hostile_body, content_type="application/json")
        response = await handler(request)
        if failure:  # the route ran (a prompt may be queued); its answer is lost
            return web.Response(status=failure[0], text="flaky")
        return response

    return middleware


def _is_websocket(request: web.Request) -> bool:
    return request.path in ("/ws", "/api/ws")


@web.middleware
async def origin_only_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """ComfyUI's CSRF guard: loopback Host with a different Origin host → 403, empty body."""
    host, origin = request.headers.get("Host"), request.headers.get("Origin")
    if host and origin and _foreign_origin(host, origin):
        return web.Response(status=403)
    if request.method == "OPTIONS":
        return web.Response()
    return await handler(request)


def _foreign_origin(host: str, origin: str) -> bool:
    host_domain = host.lower()
    parsed = urllib.parse.urlparse(origin)
    origin_domain = parsed.netloc.lower()
    host_parsed = urllib.parse.urlsplit("//" + host_domain)
    if not _is_loopback(host_parsed.hostname):
        return False
    if parsed.port is None:
        host_domain = host_parsed.hostname or ""
    if host_parsed.port is None:
        origin_domain = parsed.hostname or ""
    return bool(host_domain and origin_domain) and host_domain != origin_domain


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
