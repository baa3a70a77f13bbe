"""`LlmServer`: a scriptable OpenAI-compatible (and Ollama /api/tags) server on loopback.

    server = LlmServer(models=["llama3"]).start()
    server.reply('{"title": "x", "data": {...}}')      # next chat completion answers this text
    server.fail(500)                                   # next chat completion answers HTTP 500
    litellm.completion(model="openai/llama3", api_base=server.url + "/v1", ...)
    server.requests[-1].body["messages"][0]["content"]  # what the client sent

Replies are consumed in order; with none queued a chat completion answers 500 "no canned
reply", so a test that sends more requests than it scripted fails loudly. Runs in a background
thread with its own event loop; `stop()` closes it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

LOOP_TIMEOUT_S = 5


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None


@dataclass
class Canned:
    content: str = ""
    status: int = 200
    delay_s: float = 0.0


@dataclass
class LlmServer:
    models: list[str] = field(default_factory=lambda: ["llama3", "qwen2.5"])
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    _queue: deque[Canned] = field(default_factory=deque)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    # --- scripting ------------------------------------------------------------------------------

    def reply(self, content: str | dict, *, delay_s: float = 0.0) -> LlmServer:
        """Queue one assistant message (a dict is sent as its JSON text)."""
        text = content if isinstance(content, str) else json.dumps(content)
        self._queue.append(Canned(text, delay_s=delay_s))
        return self

    def fail(self, status: int, message: str = "scripted failure") -> LlmServer:
        """Queue one HTTP error answer (OpenAI error body)."""
        self._queue.append(Canned(message, status=status))
        return self

    def reset(self) -> None:
        self._queue.clear()
        self.requests.clear()

    @property
    def chats(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def pending(self) -> int:
        return len(self._queue)

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LlmServer:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fake-llm", daemon=True)
        self._thread.start()
        port = asyncio.run_coroutine_threadsafe(self._serve(), loop).result(LOOP_TIMEOUT_S)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._runner is not None:
            future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop)
            future.result(LOOP_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(LOOP_TIMEOUT_S)
        loop.close()
        self._loop = self._thread = self._runner = None

    async def _serve(self) -> int:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/api/tags", self._tags)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    # --- handlers -------------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> Recorded:
        body = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        recorded = Recorded(request.method, request.path, dict(request.headers), body)
        self.requests.append(recorded)
        return recorded

    async def _chat(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        canned = self._queue.popleft() if self._queue else Canned("no canned reply", status=500)
        if canned.delay_s:
            await asyncio.sleep(canned.delay_s)
        if canned.status != 200:
            error = {"message": canned.content, "type": "server_error", "code": canned.status}
            return web.json_response({"error": error}, status=canned.status)
        model = recorded.body.get("model", "") if isinstance(recorded.body, dict) else ""
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": canned.content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
            }
        )

    async def _models(self, request: web.Request) -> web.Response:
        await self._record(request)
        data = [{"id": m, "object": "model", "owned_by": "local"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _tags(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"models": [{"name": f"{m}:latest"} for m in self.models]})
