"""`WanGPServer`: a fake WanGP built on the mcp package's own server, for the WanGP client.

It speaks like `python wgp.py --mcp --mcp-transport streamable-http`: the mcp package's MCP
server (FastMCP, now called MCPServer in mcp 2) in JSON-response, stateless-HTTP mode, mounted
at /mcp/ so that POST /mcp answers 307, with WanGP's tool names, argument names and result
shapes (deepbeepmeep/Wan2GP `shared/mcp_server.py` and `shared/api.py`) and the one-use
`GET /wangp_api/gallery/download/{token}` route. A job runs on its own thread, emits WanGP's
events (started, progress, preview, status, output, error, completed) and writes a real small
MP4 with PyAV. Tool failures read like mcp 1.x FastMCP (WanGP pins mcp 1.10.1) words them:
"Error executing tool <name>: <message>" (argument errors: pydantic's four-line text).

Two version profiles, as `WanGPServer(root, version=...)`:
* "12.60" (shared/mcp_server.py@8681e9f, wgp.py WanGP_version "12.60", 2026-08-21):
  `wangp_create_gallery_download(gallery_id)`, answering `{gallery_id, download_url, ...}`;
  a job's `gallery_items` are full gallery records `{gallery_id, gallery, index, path,
  media_type, selected, in_gallery, settings}`.
* "12.641" (the default; shared/mcp_server.py@72fe719, wgp.py@66477ab): the same tool takes
  `media_id` and answers `{media_id, ...}`; `gallery_items` are compact records
  `{media_id, gallery, media_type, filename, description, source, ...}`.

    server = WanGPServer(tmp_path).start()        # 127.0.0.1, a free port; server.url ends /mcp
    server = WanGPServer(tmp_path, version="12.60")  # gallery_id instead of media_id
    server.steps, server.step_delay_s = 30, 0.05  # the next jobs' denoising steps
    server.fail_next("Sliding window too long")   # the next job fails with this message
    server.fail_next(CUDA_OOM)                    # ... or runs out of GPU memory
    server.stall_next(at_step=2)                  # the next job goes silent until cancelled
    job_id = server.submit({"model_type": ...})   # a job from "another client" (WanGP is busy)
    server.job(job_id).cancel_requested           # what the client did
    server.fail_downloads(2)                      # the next 2 download GETs answer 503
    WanGPServer(tmp_path, http_media_transfer=False)  # no gallery tools (WanGP over stdio)
    server.calls, server.downloads                # every tool call; every download (token, status)
    server.requests                               # every JSON-RPC request: (method, params)
    server.stop()

Tests use the `wangp_server` fixture (once per profile: it is parametrized by VERSIONS):
`pytest_plugins = ["tests.wangp_server"]` in the root
conftest, or `from tests.wangp_server import wangp_server_fixture` in a test module (the
fixture's name stays `wangp_server`, so a test's parameter does not shadow the import);
`python -m tests.wangp_server --port 7866` serves one by hand until Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import copy
import functools
import hashlib
import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

CUDA_OOM = (
    "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 23.99 GiB "
    "of which 1.20 GiB is free."
)
BUSY = "WanGP session already has a generation in progress"
TRANSFER_TTL_S = 600
MAX_STORED_EVENTS = 500
FRAMES, WIDTH, HEIGHT, FPS = 8, 64, 48, 16
VERSIONS = {"12.60": "gallery_id", "12.641": "media_id"}  # profile → its gallery id's name
NEWEST = "12.641"
DEFAULT_MODELS = (
    ("t2v_1.3B", "Wan2.1 Text2video 1.3B", True),
    ("t2v_2_2", "Wan2.2 Text2video 14B", True),
    ("i2v_2_2", "Wan2.2 Image2video 14B", False),
)


@dataclass
class Script:
    """How one job behaves."""

    steps: int
    step_delay_s: float
    fail_message: str | None = None  # the job fails with this at `at_step`
    stall: bool = False  # the job goes silent at `at_step` until it is cancelled
    at_step: int = 1


@dataclass
class Job:
    """One generation, as WanGP's `_JobRecord` keeps it."""

    job_id: str
    source: dict[str, Any]
    script: Script
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    events: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    done: threading.Event = field(default_factory=threading.Event)
    cancel_event: threading.Event = field(default_factory=threading.Event)

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_event.is_set()


class WanGPServer:
    """A scriptable fake WanGP MCP server on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        root: Path,
        *,
        models: list[tuple[str, str, bool]] | None = None,
        token: str | None = None,
        version: str = NEWEST,
        http_media_transfer: bool = True,
    ):
        if version not in VERSIONS:
            raise ValueError(f"unknown WanGP profile {version!r}; known: {', '.join(VERSIONS)}")
        self.version = version
        self.id_key = VERSIONS[version]  # what this version calls a gallery item's id
        self.http_media_transfer = http_media_transfer  # False: no gallery tools (stdio WanGP)
        self.root = Path(root)
        self.outputs = self.root / "outputs"
        self.models = list(models if models is not None else DEFAULT_MODELS)
        self.token = token  # when set, /mcp wants "Authorization: Bearer <token>"
        self.steps, self.step_delay_s = 4, 0.02
        self.calls: list[tuple[str, dict[str, Any]]] = []  # tool calls that passed validation
        self.requests: list[tuple[str, dict[str, Any]]] = []  # every JSON-RPC request
        self.downloads: list[tuple[str, int]] = []  # (token, HTTP status) per GET
        self._failing_downloads = 0  # the next GETs that answer 503
        self.paths_hit: list[tuple[str, str]] = []  # (method, path) of every HTTP request
        self.url = self.base_url = ""
        self._scripts: deque[Script] = deque()
        self._jobs: dict[str, Job] = {}
        self._active: Job | None = None
        self._gallery: dict[str, dict[str, Any]] = {}  # gallery id -> record with "path"
        self._tickets: dict[str, tuple[float, str]] = {}  # token -> (created, gallery id)
        self._lock = threading.Lock()
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- scripting (test thread) -------------------------------------------------------------

    def fail_next(self, message: str, *, at_step: int = 1) -> WanGPServer:
        """The next job fails at `at_step` with this message (use CUDA_OOM for an OOM)."""
        self._scripts.append(self._script(fail_message=message, at_step=at_step))
        return self

    def stall_next(self, *, at_step: int = 1) -> WanGPServer:
        """The next job stops sending events at `at_step` and ends only when cancelled."""
        self._scripts.append(self._script(stall=True, at_step=at_step))
        return self

    def fail_downloads(self, count: int) -> WanGPServer:
        """The next `count` gallery downloads answer 503 (the link is used up all the same)."""
        self._failing_downloads = count
        return self

    def submit(self, source: dict[str, Any]) -> str:
        """Starts a job as another MCP client would (wangp_generate with wait=False)."""
        return self._submit(source).job_id

    def job(self, job_id: str) -> Job:
        return self._jobs[job_id]

    @property
    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    def tool_calls(self, name: str) -> list[dict[str, Any]]:
        return [args for tool, args in self.calls if tool == name]

    def wait_idle(self, timeout_s: float = 5.0) -> bool:
        """True once every job has ended."""
        deadline = time.monotonic() + timeout_s
        return all(j.done.wait(max(0.0, deadline - time.monotonic())) for j in self.jobs)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, port: int = 0) -> WanGPServer:
        """Serves on 127.0.0.1:`port` (0: a free one) on a background thread."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self._uvicorn = self._make_uvicorn()
        self._thread = threading.Thread(
            target=self._uvicorn.run, kwargs={"sockets": [sock]}, daemon=True, name="wangp-fake"
        )
        self._thread.start()
        self._set_urls(sock.getsockname()[1])
        deadline = time.monotonic() + 10
        while not self._uvicorn.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake WanGP server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Cancels running jobs, stops the HTTP server and joins its thread."""
        for job in self.jobs:
            job.cancel_event.set()
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self.wait_idle(5)

    def serve_forever(self, port: int) -> None:
        """Foreground serving for `python -m tests.wangp_server` (Ctrl-C stops)."""
        self._set_urls(port)
        server = self._make_uvicorn(port=port)
        print(f"fake WanGP MCP server at {self.url} (files under {self.root})", flush=True)
        server.run()

    def _set_urls(self, port: int) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self.url = self.base_url + "/mcp"

    def _make_uvicorn(self, port: int = 0) -> uvicorn.Server:
        app = self._build_app()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        return uvicorn.Server(config)

    # --- the app ----------------------------------------------------------------------------

    def _build_app(self) -> Any:
        mcp = MCPServer("WanGP", log_level="WARNING")
        self._register_model_tools(mcp)
        self._register_job_tools(mcp)
        if self.http_media_transfer:
            self._register_gallery(mcp)
        app = mcp.streamable_http_app(
            json_response=True, stateless_http=True, streamable_http_path="/mcp/"
        )

        async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.paths_hit.append((scope["method"], scope["path"]))
                if self.token and scope["path"].startswith("/mcp") and not self._authorized(scope):
                    await JSONResponse({"error": "unauthorized"}, 401)(scope, receive, send)
                    return
                if scope["method"] == "POST":
                    receive = self._recording(receive)
            await app(scope, receive, send)

        return asgi

    def _recording(self, receive: Any) -> Any:
        """`receive` that also notes the JSON-RPC requests in the body it passes on."""
        body = bytearray()

        async def recording_receive() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    self._note_requests(bytes(body))
            return message

        return recording_receive

    def _note_requests(self, body: bytes) -> None:
        try:
            payload = json.loads(body)
        except ValueError:
            return
        for message in payload if isinstance(payload, list) else [payload]:
            if isinstance(message, dict) and isinstance(message.get("method"), str):
                self.requests.append((message["method"], message.get("params") or {}))

    def _authorized(self, scope: dict[str, Any]) -> bool:
        headers = dict(scope.get("headers") or [])
        return headers.get(b"authorization", b"").decode() == f"Bearer {self.token}"

    def _tool(self, mcp: MCPServer, fn: Any) -> None:
        """Registers fn as a tool; its failures read like mcp 1.x FastMCP's (WanGP's)."""
        name = fn.__name__

        @functools.wraps(fn)
        def record_and_word_errors(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, copy.deepcopy(kwargs)))
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                raise ToolError(f"Error executing tool {name}: {exc}") from exc

        mcp.tool()(record_and_word_errors)

    def _register_model_tools(self, mcp: MCPServer) -> None:
        def wangp_list_models(
            family: str | None = None,
            base_model_type: str | None = None,
            finetune: str | None = None,
            model_type: str | None = None,
            main_output: str | None = None,
            inputs: str | None = None,
            name: str | None = None,
            query: str | None = None,
            limit: int = 10,
            offset: int = 0,
            include_availability: bool = False,
        ) -> list[dict[str, Any]]:
            """List at most 10 compact model records."""
            records = [self._metadata(m, include_availability) for m in self.models]
            if model_type:
                records = [r for r in records if r["model_type"] == model_type]
            offset, limit = max(0, int(offset)), max(1, min(int(limit), 10))
            return records[offset : offset + limit]

        def wangp_get_model_availability(model_type: str) -> dict[str, Any]:
            """Return local file availability for one model."""
            return self._availability(self._model(model_type))

        self._tool(mcp, wangp_list_models)
        self._tool(mcp, wangp_get_model_availability)

    def _register_job_tools(self, mcp: MCPServer) -> None:
        def wangp_generate(
            source: dict[str, Any] | list[dict[str, Any]],
            wait: bool = False,
            timeout_s: float | None = None,
            event_limit: int | None = None,
        ) -> dict[str, Any]:
            """Start a WanGP generation from a settings dict, task dict, or task list."""
            if not isinstance(source, dict | list):
                raise TypeError("source must be a settings dict, task dict, or task list")
            job = self._submit(source if isinstance(source, dict) else source[0])
            if wait:
                job.done.wait(timeout_s)
            return self._snapshot(job, event_limit)

        def wangp_get_job(job_id: str, event_limit: int | None = None) -> dict[str, Any]:
            """Poll a WanGP generation job."""
            return self._snapshot(self._get(job_id), event_limit)

        def wangp_cancel_job(job_id: str, event_limit: int | None = None) -> dict[str, Any]:
            """Request cancellation of a WanGP generation job."""
            job = self._get(job_id)
            job.cancel_event.set()
            return self._snapshot(job, event_limit)

        for fn in (wangp_generate, wangp_get_job, wangp_cancel_job):
            self._tool(mcp, fn)

    def _register_gallery(self, mcp: MCPServer) -> None:
        def wangp_create_gallery_download(media_id: str) -> dict[str, Any]:
            """Create a short-lived HTTP GET URL for downloading one Gallery item."""
            return self._create_download(media_id)

        def wangp_create_gallery_download_1260(gallery_id: str) -> dict[str, Any]:
            """Create a short-lived HTTP GET URL for downloading one Gallery item."""
            return self._create_download(gallery_id)

        if self.id_key == "gallery_id":
            wangp_create_gallery_download_1260.__name__ = "wangp_create_gallery_download"
            self._tool(mcp, wangp_create_gallery_download_1260)
        else:
            self._tool(mcp, wangp_create_gallery_download)

        @mcp.custom_route("/wangp_api/gallery/download/{token}", methods=["GET"])
        async def download_gallery_media(request: Request) -> Response:
            token = request.path_params["token"]
            with self._lock:
                ticket = self._tickets.pop(token, None)
            if ticket is None or ticket[0] < time.time() - TRANSFER_TTL_S:
                self.downloads.append((token, 404))
                return JSONResponse({"error": "Download expired or not found."}, status_code=404)
            if self._failing_downloads > 0:
                self._failing_downloads -= 1
                self.downloads.append((token, 503))
                return JSONResponse({"error": "scripted failure"}, status_code=503)
            self.downloads.append((token, 200))
            path = self._gallery[ticket[1]]["path"]
            return FileResponse(path, filename=Path(path).name, media_type="video/mp4")

    def _create_download(self, gallery_id: str) -> dict[str, Any]:
        """`_MediaTransferStore.create_download`, with this version's name for the id."""
        record = self._gallery.get(str(gallery_id or "").strip().lower())
        if record is None or not Path(record["path"]).is_file():
            raise KeyError(f"Unknown WanGP {self.id_key}: {gallery_id}")
        token = uuid.uuid4().hex
        with self._lock:
            self._tickets[token] = (time.time(), record["id"])
        path = Path(record["path"])
        return {
            self.id_key: record["id"],
            "download_url": f"/wangp_api/gallery/download/{token}",
            "filename": path.name,
            "media_type": record["media_type"],
            "size": path.stat().st_size,
            "expires_in_seconds": TRANSFER_TTL_S,
        }

    # --- models -----------------------------------------------------------------------------

    def _model(self, model_type: str) -> tuple[str, str, bool]:
        for model in self.models:
            if model[0] == model_type:
                return model
        raise ValueError(f"Unknown model_type: {model_type}")

    @staticmethod
    def _availability(model: tuple[str, str, bool]) -> dict[str, Any]:
        available = model[2]
        return {
            "model_type": model[0],
            "status": "available" if available else "missing",
            "status_code": 2 if available else 0,
            "indicator": "blue_square" if available else "black_square",
            "available": available,
        }

    def _metadata(self, model: tuple[str, str, bool], with_availability: bool) -> dict[str, Any]:
        record: dict[str, Any] = {
            "model_type": model[0],
            "name": model[1],
            "family": "wan",
            "family_label": "Wan",
            "base_model_type": model[0],
            "finetune": False,
            "main_output": ["video"],
            "inputs": ["text"],
        }
        if with_availability:
            record["availability"] = self._availability(model)
        return record

    # --- jobs -------------------------------------------------------------------------------

    def _script(self, **overrides: Any) -> Script:
        return Script(steps=self.steps, step_delay_s=self.step_delay_s, **overrides)

    def _submit(self, source: dict[str, Any]) -> Job:
        with self._lock:
            if self._active is not None and not self._active.done.is_set():
                raise RuntimeError(BUSY)
            script = self._scripts.popleft() if self._scripts else self._script()
            job = Job(uuid.uuid4().hex, copy.deepcopy(source), script)
            self._jobs[job.job_id] = job
            self._active = job
        threading.Thread(target=self._run_job, args=(job,), daemon=True).start()
        return job

    def _get(self, job_id: str) -> Job:
        job = self._jobs.get(str(job_id or "").strip())
        if job is None:
            raise KeyError(f"Unknown WanGP job_id: {job_id}")
        return job

    def _snapshot(self, job: Job, event_limit: int | None) -> dict[str, Any]:
        limit = max(0, min(int(20 if event_limit is None else event_limit), MAX_STORED_EVENTS))
        with self._lock:
            events = copy.deepcopy(job.events[-limit:] if limit else [])
            result = copy.deepcopy(job.result)
            updated_at = job.updated_at
        if isinstance(result, dict):
            wanted = {str(p).casefold() for p in result["generated_files"]}
            result["gallery_items"] = [
                self._gallery_item(r)
                for r in self._gallery.values()
                if r["path"].casefold() in wanted
            ]
        return {
            "job_id": job.job_id,
            "done": job.done.is_set(),
            "cancel_requested": job.cancel_requested,
            "webui_submission_ready": False,
            "webui_load_queue_token": "",
            "created_at": job.created_at,
            "updated_at": updated_at,
            "events": events,
            "result": result,
        }

    def _emit(self, job: Job, kind: str, data: Any = None) -> None:
        with self._lock:
            job.events.append({"kind": kind, "timestamp": time.time(), "data": data})
            del job.events[:-MAX_STORED_EVENTS]
            job.updated_at = time.time()

    def _run_job(self, job: Job) -> None:
        """The job thread: WanGP's event sequence for one task (shared/api_cli.py)."""
        script, steps = job.script, max(1, job.script.steps)
        self._emit(job, "started", {"tasks": 1})
        self._emit(job, "progress", _progress("loading_model", "Loading Model", 10))
        self._emit(job, "progress", _progress("encoding_text", "Encoding Prompt", 18))
        for step in range(1, steps + 1):
            if step == script.at_step and script.stall:
                job.cancel_event.wait()
            if job.cancel_requested:
                return self._finish(job, [_error("Generation was cancelled", "cancelled")])
            if step == script.at_step and script.fail_message:
                return self._finish(job, [_error(script.fail_message, "generation")])
            time.sleep(script.step_delay_s)
            self._emit(job, "progress", _progress("inference", "Denoising", None, step, steps))
            if step in (1, steps // 2 + 1):
                self._emit(job, "preview", _preview(step, steps))
        self._emit(job, "progress", _progress("decoding", "VAE Decoding", 90))
        path = self._write_video(job)
        self._emit(job, "output")
        self._emit(job, "status", f"Video saved: {path.name}")
        self._finish(job, [], (str(path),))

    def _finish(self, job: Job, errors: list[dict[str, Any]], files: tuple[str, ...] = ()) -> None:
        for error in errors:
            self._emit(job, "error", error)
        result = {
            "success": not errors,
            "cancelled": bool(errors) and all(e["cancelled"] for e in errors),
            "generated_files": list(files),
            "errors": errors,
            "total_tasks": 1,
            "successful_tasks": 0 if errors else 1,
            "failed_tasks": 1 if errors else 0,
            "artifacts": [],
        }
        self._emit(job, "completed", result)
        with self._lock:
            job.result = result
        job.done.set()

    def _write_video(self, job: Job) -> Path:
        """A real MP4 (h264, 8 frames of 64x48) registered in the gallery like WanGP's."""
        self.outputs.mkdir(parents=True, exist_ok=True)
        seed = int(job.source.get("seed") or 0) % 256
        path = (self.outputs / f"{time.strftime('%Y-%m-%d-%Hh%Mm%Ss')}_seed{seed}.mp4").resolve()
        n = 1
        while path.exists():
            path, n = path.with_name(f"{path.stem}_{n}.mp4"), n + 1
        write_mp4(path, seed)
        gallery_id = "visual:" + hashlib.sha1(str(path).casefold().encode()).hexdigest()[:12]
        self._gallery[gallery_id] = {
            "id": gallery_id,
            "index": len(self._gallery),
            "path": str(path),
            "media_type": "video",
            "prompt": str(job.source.get("prompt") or ""),
        }
        return path

    def _gallery_item(self, record: dict[str, Any]) -> dict[str, Any]:
        """A job's gallery item as this version lists it: 12.60 the full `_gallery_records`
        record, later versions `_compact_gallery_record`."""
        if self.version == "12.60":
            return {
                "gallery_id": record["id"],
                "gallery": "visual",
                "index": record["index"],
                "path": record["path"],
                "media_type": record["media_type"],
                "selected": True,
                "in_gallery": True,
                "settings": {"prompt": record["prompt"]},
            }
        return {
            "media_id": record["id"],
            "gallery": "visual",
            "media_type": record["media_type"],
            "filename": Path(record["path"]).name,
            "description": record["prompt"][:80],
            "source": "WanGP",
            "selected": True,
            "in_gallery": True,
            "resolution": f"{WIDTH}x{HEIGHT}",
            "frame_count": FRAMES,
            "fps": FPS,
            "duration_seconds": FRAMES / FPS,
        }


# --- media and event payloads ----------------------------------------------------------------


def write_mp4(path: Path, seed: int = 0) -> None:
    """Encodes FRAMES frames of WIDTHxHEIGHT moving gradient as h264 (mpeg4 if unavailable)."""
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for i in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(_picture(seed + i * 16), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def png_bytes(seed: int = 0) -> bytes:
    """One small PNG, encoded with PyAV's png encoder."""
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "rgb24"
    frame = av.VideoFrame.from_ndarray(_picture(seed), format="rgb24")
    return b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])


def _picture(shift: int) -> np.ndarray:
    x = np.linspace(0, 255, WIDTH, dtype=np.uint16)[None, :].repeat(HEIGHT, 0)
    y = np.linspace(0, 255, HEIGHT, dtype=np.uint16)[:, None].repeat(WIDTH, 1)
    red = ((x + shift) % 256).astype(np.uint8)
    green = ((y + shift) % 256).astype(np.uint8)
    blue = np.full((HEIGHT, WIDTH), shift % 256, np.uint8)
    return np.stack([red, green, blue], axis=-1)


def _progress(
    phase: str, status: str, progress: int | None, step: int | None = None, total: int | None = None
) -> dict[str, Any]:
    """WanGP's ProgressUpdate as _json_safe serialises it (progress from its estimate)."""
    if progress is None:
        progress = min(90, 20 + int((step or 0) / (total or 1) * 65))
    return {
        "phase": phase,
        "status": status,
        "progress": progress,
        "current_step": step,
        "total_steps": total,
        "raw_phase": status,
        "unit": None,
    }


def _preview(step: int, total: int) -> dict[str, Any]:
    """WanGP's PreviewUpdate as _json_safe serialises it, with PreviewMedia.to_dict()."""
    update = _progress("inference", "Denoising", None, step, total)
    return {
        "has_image_preview": True,
        "phase": update["phase"],
        "status": update["status"],
        "progress": update["progress"],
        "current_step": step,
        "total_steps": total,
        "media": {
            "generation_id": "gen",
            "context_id": "ctx",
            "sequence": step,
            "media_kind": "image",
            "mime_type": "image/png",
            "data": base64.b64encode(png_bytes(step * 32)).decode("ascii"),
            "width": WIDTH,
            "height": HEIGHT,
            "frame_count": 1,
            "fps": None,
            "duration_ms": None,
            "step": step,
            "total_steps": total,
            "decoder_id": "rgb",
            "decode_ms": 1.0,
            "encode_ms": 1.0,
            "dropped_count": 0,
            "warning": None,
            "pass_no": None,
            "window_no": None,
        },
    }


def _error(message: str, stage: str) -> dict[str, Any]:
    """WanGP's GenerationError as _error_to_dict serialises it."""
    return {
        "message": message,
        "task_index": 1,
        "task_id": 1,
        "stage": stage,
        "cancelled": stage == "cancelled",
    }


# --- pytest fixture and command line ---------------------------------------------------------


@pytest.fixture(name="wangp_server", params=list(VERSIONS))
def wangp_server_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WanGPServer]:
    """A started fake WanGP on a free loopback port, files under tmp_path/wangp; a test that
    uses it runs once per version profile."""
    server = WanGPServer(tmp_path / "wangp", version=request.param).start()
    yield server
    server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake WanGP MCP server on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=7866)
    parser.add_argument("--root", type=Path, default=Path("wangp-fake"))
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--step-delay", type=float, default=0.25)
    parser.add_argument("--version", choices=list(VERSIONS), default=NEWEST)
    args = parser.parse_args(argv)
    server = WanGPServer(args.root, version=args.version)
    server.steps, server.step_delay_s = args.steps, args.step_delay
    server.serve_forever(args.port)


if __name__ == "__main__":
    main()
