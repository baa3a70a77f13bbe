"""`ComfyServer`: the fake ComfyUI on loopback, in a background thread with its own loop.

server = ComfyServer(tmp_path)          # output/, input/, temp/ under tmp_path; 0.3.64
server = ComfyServer(tmp_path, profile="current")   # the newest ComfyUI (see profiles.py)
url = server.start()                    # a free port (or start(8188))
server.fail_node("KSampler", exception_type="torch.OutOfMemoryError",
                 message="Allocation on device 0 would exceed allowed memory. (out of memory)")
server.restart()                        # crash + restart: memory gone, files stay
server.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import shutil
import tempfile
import threading
from collections.abc import Coroutine
from pathlib import Path

from aiohttp import web
from PIL import Image

from .catalog import DEFAULT_MODELS, Catalog
from .executor import Executor
from .faults import Fault, Faults, FlakyHttp, ViewFault
from .hub import DropTrigger, Hub
from .machine import Config
from .profiles import profile as profile_named
from .prompt_queue import queue_info
from .replacements import NodeReplace
from .validation import Validator
from .web import Api, State

LOOP_TIMEOUT_S = 10


class ComfyServer:
    def __init__(
        self,
        root: Path | str | None = None,
        *,
        models: dict[str, list[str]] | None = None,
        host: str = "127.0.0.1",
        step_delay: float = 0.002,
        device_name: str | None = None,
        vram_total: int | None = None,
        vram_free: int | None = None,
        device_type: str | None = None,
        extra_devices: list[dict] | None = None,
        profile: str = "0.3.64",
        demo_media: bool = False,
    ):
        root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="comfyui-"))
        dirs = {kind: (root / kind).resolve() for kind in ("output", "input", "temp")}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        _seed_input(dirs["input"])
        self.config = Config(dirs=dirs, models={**DEFAULT_MODELS, **(models or {})}, host=host)
        self.config.profile = profile_named(profile)
        self.config.extra_devices = list(extra_devices or [])
        machine = {
            "device_name": device_name,
            "device_type": device_type,
            "vram_total": vram_total,
            "vram_free": vram_free,
        }
        for key, value in machine.items():
            if value is not None:
                setattr(self.config, key, value)
        self.faults = Faults(step_delay=step_delay)
        self.demo_media = demo_media  # placeholder media for --demo (demo_media.py)
        self.state: State | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task] = []

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    @property
    def profile(self) -> str:
        """The server version this fake plays: "0.3.64" or "current"."""
        return self.config.profile.name

    @property
    def port(self) -> int:
        return self.config.port

    @property
    def output_dir(self) -> Path:
        return self.config.dirs["output"]

    @property
    def input_dir(self) -> Path:
        return self.config.dirs["input"]

    @property
    def temp_dir(self) -> Path:
        return self.config.dirs["temp"]

    def start(self, port: int = 0) -> str:
        """Start answering on `port` (0: a free one); returns the base URL."""
        if self._thread is not None:
            raise RuntimeError("the fake ComfyUI server is already running")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fake-comfyui", daemon=True)
        self._thread.start()
        try:
            self._call(self._boot(port))
        except BaseException:
            self._halt()
            raise
        return self.url

    def stop(self) -> None:
        """Shut down cleanly (WebSockets get a close frame)."""
        self._shutdown(abrupt=False)

    def kill(self) -> None:
        """Die at once, like SIGTERM on the real server: sockets drop without a close frame,
        the running prompt is lost, new connections are refused."""
        self._shutdown(abrupt=True)

    def restart(self) -> None:
        """Crash and come back on the same port: queue, history, node cache and the
        `number` counter are gone, the temp folder is wiped; output and input files stay."""
        port = self.config.port
        self.kill()
        self.start(port)

    @property
    def preview_methods(self) -> dict[str, object]:
        """`extra_data.preview_method` of each prompt queued since the last (re)start, by
        prompt id in arrival order (None: the client sent none)."""
        return dict(self._require_state().preview_methods)

    # --- fault injection ----------------------------------------------------------------------

    def fail_node(
        self,
        class_type: str,
        *,
        exception_type: str = "RuntimeError",
        message: str = "injected failure",
        times: int | None = None,
    ) -> None:
        """Make every node of `class_type` raise (an `execution_error`), `times` times or always."""
        self.faults.node_failures[class_type] = Fault(exception_type, message, times)

    def clear_faults(self) -> None:
        self.faults.node_failures.clear()
        self.faults.token = None
        self.faults.ws_refuse_status = None
        self.faults.proxy_status = None
        self.faults.flaky = None
        self.faults.vanish_history = 0
        self.faults.history_lag = 0.0
        self.faults.hostile_outputs = []
        self.faults.aliases.clear()
        self.faults.hostile.clear()
        if self.state is not None:
            self.state.hub.drop_trigger = None

    def set_step_delay(self, seconds: float) -> None:
        """Seconds per sampler step (KSampler, SaveImageWebsocket)."""
        self.faults.step_delay = seconds

    def require_token(self, token: str | None) -> None:
        """Answer 401 unless `Authorization: Bearer <token>` (a proxy in front); None: off."""
        self.faults.token = token

    def proxy_error(self, status: int | None = 502) -> None:
        """Answer every request with `status` (a reverse proxy whose ComfyUI is down)."""
        self.faults.proxy_status = status

    def flaky_http(
        self,
        rate: float = 0.2,
        statuses: tuple[int, ...] = (500, 502, 503),
        seed: int = 0,
        when: str = "before",
    ) -> None:
        """Answer a seeded random `rate` of HTTP requests (not the WS handshake) with one of
        `statuses`: `when` "before" the route runs (nothing is queued or changed), "after" it
        ran (a POST /prompt was queued, its answer is lost), or "both" (either, at random);
        rate 0: off."""
        if when not in ("before", "after", "both"):
            raise ValueError(f"when must be 'before', 'after' or 'both', not {when!r}")
        rng = random.Random(seed)
        self.faults.flaky = FlakyHttp(rate, tuple(statuses), rng, when) if rate else None

    def drop_websocket_every(self, n: int) -> None:
        """Abort each socket (no close frame) right after every `n`-th message sent to it
        (the first `status` counts); 0: off."""
        self.faults.hostile.ws_drop_every = n

    def hostile_json(self, route: str, body: object) -> None:
        """Answer GETs and POSTs of `route` (a path, `*` globs: "/history/*"; the /api twin
        too) with 200 application/json `body`: a str is sent as it is (hostile.nested_json),
        anything else JSON-encoded. The route does not run."""
        text = body if isinstance(body, str) else json.dumps(body)
        self.faults.hostile.json_routes[route] = text

    def oversized_view(self, size: int, declared: bool = True) -> None:
        """/view answers 200 image/png with `size` bytes (the file, then zeros), its
        Content-Length declared or (declared=False) chunked without one."""
        self.faults.hostile.view = ViewFault("oversized", size=size, declared=declared)

    def slow_view(self, interval: float) -> None:
        """/view sends the file one byte every `interval` seconds (Content-Length declared)."""
        self.faults.hostile.view = ViewFault("slow", interval=interval)

    def html_view(self) -> None:
        """/view answers 200 text/html with a login page (a proxy's sign-in wall)."""
        self.faults.hostile.view = ViewFault("html")

    def garbage_progress(self, value: object = "abc") -> None:
        """Every WebSocket `progress` message carries `value` as its value."""
        self.faults.hostile.progress_value = value

    def crafted_previews(self, metadata_length: int = 0xFFFFFFFF) -> None:
        """Every metadata preview frame (event 4) claims `metadata_length` bytes of metadata
        and carries metadata that is not JSON."""
        self.faults.hostile.preview_metadata_length = metadata_length

    def replace_node(
        self,
        old: str,
        new: str,
        input_mapping: list[dict] | None = None,
        output_mapping: list[dict] | None = None,
    ) -> None:
        """Register a node replacement (current profile): prompts naming `old`, a class the
        server does not have, run as `new`; inputs mapped by `{"new_id", "old_id"}` or
        `{"new_id", "set_value"}`, outputs by `{"new_idx", "old_idx"}`; listed at
        GET /node_replacements."""
        entry = NodeReplace(
            old, new, None, tuple(input_mapping or ()) or None, tuple(output_mapping or ()) or None
        )
        entries = self.config.replacements.setdefault(old, [])
        if all(e.new_node_id != new for e in entries):
            entries.append(entry)

    def history_lag(self, seconds: float) -> None:
        """Write each finished prompt's history `seconds` after its `execution_success` /
        `execution_error` was sent (ComfyUI issue #11540): meanwhile /history/{id} answers `{}`
        and /api/jobs/{id} still says in_progress without outputs; 0: off (a held write
        goes through at once)."""
        self.faults.history_lag = seconds

    def vanish_history(self, times: int = 1) -> None:
        """The next `times` finished entries vanish when first read via /history/{id}: the
        read answers `{}` and the entry is gone (deleted right after success)."""
        self.faults.vanish_history = times

    def hostile_outputs(self, *names: tuple[str, str]) -> None:
        """Report saved files under these (filename, subfolder) pairs in /history, one pair per
        output in turn, and serve the real file under the reported name from /view."""
        self.faults.hostile_outputs = list(names)

    def refuse_websockets(self, status: int | None = 502) -> None:
        """Answer the WS handshake with `status` (a proxy without WebSocket support)."""
        self.faults.ws_refuse_status = status

    def drop_websockets(self, client_id: str | None = None) -> None:
        """Drop every socket (or one clientId's) now: TCP gone, no close frame."""
        self._call(self._abort(client_id))

    def deafen_websockets(self) -> None:
        """Unregister every socket but keep it open: it silently receives nothing more, the
        state ComfyUI leaves a client in after two sockets shared one clientId."""
        self._call(self._deafen())

    def drop_websocket_on(self, message_type: str, node: str | None = None) -> None:
        """Once: drop the socket that was just sent a `message_type` message (for a given
        `node`, if named), e.g. `drop_websocket_on("progress")` to lose it mid-sampling."""
        self._require_state().hub.drop_trigger = DropTrigger(message_type, node)

    # --- internals ----------------------------------------------------------------------------

    async def _boot(self, port: int) -> None:
        shutil.rmtree(self.config.dirs["temp"], ignore_errors=True)
        self.config.dirs["temp"].mkdir(parents=True)
        api = Api(self._new_state(), self.config, self.faults)
        runner = web.AppRunner(api.app(), shutdown_timeout=0.5, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, port, reuse_address=True)
        await site.start()
        self._runner = runner
        self.config.port = runner.addresses[0][1]
        self._tasks = [
            asyncio.ensure_future(api.state.hub.publish_forever()),
            asyncio.ensure_future(api.state.executor.run_forever()),
        ]

    def _new_state(self) -> State:
        catalog = Catalog(self.config.models, self.config.dirs["input"], self.config.profile)
        hub = Hub(lambda: queue_info(executor.queue), self.faults.hostile)
        executor = Executor(hub, catalog, self.config.dirs, self.faults)
        executor.demo_media = self.demo_media
        self.state = State(hub, executor, Validator(catalog, self.config.dirs), catalog)
        return self.state

    def _shutdown(self, abrupt: bool) -> None:
        if self._thread is None:
            return
        with contextlib.suppress(Exception):
            self._call(self._close(abrupt))
        self._halt()

    async def _close(self, abrupt: bool) -> None:
        for task in self._tasks:
            task.cancel()
        hub = self._require_state().hub
        if abrupt:
            hub.abort_all()
        else:
            for ws in list(hub.transports):
                await ws.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    def _halt(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(LOOP_TIMEOUT_S)
            loop.close()
        self._loop = self._thread = self._runner = None
        self._tasks = []

    def _call(self, coro: Coroutine[object, None, None]) -> None:
        if self._loop is None:
            raise RuntimeError("the fake ComfyUI server is not running")
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(LOOP_TIMEOUT_S)

    async def _deafen(self) -> None:
        self._require_state().hub.sockets.clear()

    async def _abort(self, client_id: str | None) -> None:
        self._require_state().hub.abort_all(client_id)

    def _require_state(self) -> State:
        if self.state is None:
            raise RuntimeError("the fake ComfyUI server was never started")
        return self.state


def _seed_input(input_dir: Path) -> None:
    """ComfyUI ships an `example.png` in its input folder."""
    example = input_dir / "example.png"
    if not example.exists():
        Image.new("RGB", (64, 64), (200, 120, 40)).save(example)
