"""Misbehaviour for the client's fault tests (both profiles): planted node failures, a bearer
token, proxy errors, history that lags or vanishes, and hostile answers — a flaky proxy,
parseable-but-wrong JSON, bad /view bodies and garbage WebSocket frames (issue 11 faults, issue 15
items 4 and 7).

None of this is ComfyUI behaviour; each mode is switched on by one ComfyServer method, and the
demo backend switches none on.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
import struct
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from core.json_types import JsonValue

CHUNK = 64 * 1024
LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
    "<form method='post' action='/login'><input name='user'><input type='password' "
    "name='password'><button>Sign in</button></form></body></html>"
)


@dataclass
class FlakyHttp:
    """Fail a seeded random share of API requests with one of `statuses`: "before" the route
    runs (nothing happened), "after" it ran (it acted, its answer is lost) or "both"."""

    rate: float
    statuses: tuple[int, ...]
    rng: random.Random
    when: str = "before"

    def draw(self) -> tuple[int, str] | None:
        """(status, "before" | "after") for a request that fails, else None."""
        if self.rng.random() >= self.rate:
            return None
        status = self.rng.choice(self.statuses)
        if self.when == "both":
            return status, self.rng.choice(("before", "after"))
        return status, self.when


@dataclass
class ViewFault:
    """How /view misbehaves: "oversized" (`size` bytes, declared or chunked), "slow" (one byte
    every `interval` seconds) or "html" (a 200 text/html login page)."""

    mode: str
    size: int = 0
    declared: bool = True
    interval: float = 0.0


@dataclass
class Hostile:
    json_routes: dict[str, str] = field(default_factory=dict)  # path pattern → raw JSON text
    view: ViewFault | None = None
    ws_drop_every: int = 0  # abort each socket after every n messages sent to it
    progress_value: JsonValue = None  # replaces `value` in every `progress` message
    preview_metadata_length: int | None = None  # the length field of event-4 preview frames

    def clear(self) -> None:
        self.json_routes.clear()
        self.view = None
        self.ws_drop_every = 0
        self.progress_value = None
        self.preview_metadata_length = None

    def json_for(self, path: str) -> str | None:
        for pattern, body in self.json_routes.items():
            if fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, "/api" + pattern):
                return body
        return None


def nested_json(depth: int, key: str | None = None) -> str:
    """JSON text nested `depth` lists deep (inside `{"key": …}` when a key is given), built as
    text so that no recursion limit is hit making it."""
    inner = "[" * depth + "]" * depth
    return inner if key is None else json.dumps({key: None}).replace("null", inner)


def mangle_progress(hostile: Hostile, event: str | int, data: JsonValue) -> JsonValue:
    if event == "progress" and hostile.progress_value is not None and isinstance(data, dict):
        return {**data, "value": hostile.progress_value}
    return data


def crafted_preview(length: int, image: bytes) -> bytes:
    """An event-4 preview frame whose metadata length field says `length`, followed by
    metadata that is not JSON."""
    return struct.pack(">II", 4, length) + b"{not json" + image


async def hostile_view(request: web.Request, fault: ViewFault, path: Path) -> web.StreamResponse:
    if fault.mode == "html":
        return web.Response(text=LOGIN_PAGE, content_type="text/html")
    data = path.read_bytes()
    response = web.StreamResponse(headers={"Content-Type": "image/png"})
    total = fault.size if fault.mode == "oversized" else len(data)
    if fault.mode == "slow" or fault.declared:
        response.content_length = total
    await response.prepare(request)
    if fault.mode == "slow":
        for index in range(len(data)):
            await response.write(data[index : index + 1])
            await asyncio.sleep(fault.interval)
        return response
    await response.write(data[:total])
    sent = min(len(data), total)
    while sent < total:
        chunk = min(CHUNK, total - sent)
        await response.write(bytes(chunk))
        sent += chunk
    return response


class InjectedError(Exception):
    """A failure planted by a test; reported with the exception type it names."""

    def __init__(self, type_name: str, message: str):
        super().__init__(message)
        self.type_name = type_name


@dataclass
class Fault:
    exception_type: str
    message: str
    remaining: int | None = None  # None: every time


@dataclass
class Faults:
    """Test-controlled misbehaviour, kept across restarts (like a proxy in front)."""

    step_delay: float = 0.002
    node_failures: dict[str, Fault] = field(default_factory=dict)
    token: str | None = None
    ws_refuse_status: int | None = None
    proxy_status: int | None = None
    flaky: FlakyHttp | None = None
    vanish_history: int = 0  # finished entries to forget on the next reads of /history/{id}
    history_lag: float = 0.0  # seconds between a prompt's end message and its history entry
    hostile_outputs: list[tuple[str, str]] = field(default_factory=list)  # (filename, subfolder)
    aliases: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    hostile: Hostile = field(default_factory=Hostile)

    def raise_for(self, class_type: str) -> None:
        fault = self.node_failures.get(class_type)
        if fault is None:
            return
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self.node_failures[class_type]
        raise InjectedError(fault.exception_type, fault.message)
