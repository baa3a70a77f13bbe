"""The WebSocket side: the clientId → socket table and one ordered outbox, as in ComfyUI.

Messages are queued (`send_sync`) and sent by one publisher task in order; `sid=None`
broadcasts. The table is keyed by clientId only, which reproduces the real server's bug: a
second socket with the same clientId replaces the first, and when the first one closes its
cleanup removes the entry, leaving the second one deaf.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from core.json_types import JsonObject, JsonValue

from .faults import Hostile, crafted_preview, mangle_progress

Event = str | int  # a JSON message's type, or the number of a binary frame's event
PREVIEW_IMAGE = 1
TEXT = 3
PREVIEW_IMAGE_WITH_METADATA = 4
IMAGE_FORMATS = {"JPEG": 1, "PNG": 2}


@dataclass
class DropTrigger:
    """Abort a socket (no close frame) right after it was sent a matching message."""

    message_type: str
    node: str | None = None

    def matches(self, event: Event, data: JsonValue) -> bool:
        if event != self.message_type:
            return False
        return self.node is None or (isinstance(data, dict) and data.get("node") == self.node)


class Hub:
    def __init__(self, queue_info: Callable[[], JsonObject], hostile: Hostile | None = None):
        self.queue_info = queue_info
        self.hostile = hostile or Hostile()
        self.sent: dict[web.WebSocketResponse, int] = {}  # messages sent, per socket
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.metadata: dict[str, JsonObject] = {}
        self.transports: dict[web.WebSocketResponse, asyncio.Transport] = {}
        self.outbox: asyncio.Queue[tuple[Event, JsonValue, str | None]] = asyncio.Queue()
        self.client_id: str | None = None  # client of the prompt that runs (or ran last)
        self.last_node_id: str | None = None
        self.drop_trigger: DropTrigger | None = None

    def send_sync(self, event: Event, data: JsonValue, sid: str | None = None) -> None:
        self.outbox.put_nowait((event, data, sid))

    def queue_updated(self) -> None:
        self.send_sync("status", {"status": self.queue_info()})

    def supports_preview_metadata(self, sid: str | None) -> bool:
        flags = self.metadata.get(sid or "", {}).get("feature_flags", {})
        return bool(flags.get("supports_preview_metadata"))

    async def publish_forever(self) -> None:
        while True:
            event, data, sid = await self.outbox.get()
            await self.send(event, data, sid)

    async def send(self, event: Event, data: JsonValue, sid: str | None = None) -> None:
        message = self._encode(event, data)
        targets = list(self.sockets.values()) if sid is None else [self.sockets.get(sid)]
        for ws in filter(None, targets):
            with contextlib.suppress(Exception):  # a closing socket must not stop the others
                if isinstance(message, bytes):
                    await ws.send_bytes(message)
                else:
                    await ws.send_str(message)
            self.sent[ws] = self.sent.get(ws, 0) + 1
            every = self.hostile.ws_drop_every
            if every and self.sent[ws] % every == 0:
                self.abort(ws)
            if self.drop_trigger and self.drop_trigger.matches(event, data):
                self.drop_trigger = None
                self.abort(ws)

    def _encode(self, event: Event, data: JsonValue) -> str | bytes:
        """The frame, garbled as the hostile settings say."""
        length = self.hostile.preview_metadata_length
        if event == PREVIEW_IMAGE_WITH_METADATA and length is not None:
            return crafted_preview(length, data[0])
        return encode(event, mangle_progress(self.hostile, event, data))

    def abort(self, ws: web.WebSocketResponse) -> None:
        transport = self.transports.get(ws)
        if transport is not None:
            transport.abort()

    def abort_all(self, client_id: str | None = None) -> None:
        for sid, ws in list(self.sockets.items()):
            if client_id is None or sid == client_id:
                self.abort(ws)
        if client_id is None:
            for ws in list(self.transports):
                self.abort(ws)

    def forget(self, ws: web.WebSocketResponse) -> None:
        self.transports.pop(ws, None)
        self.sent.pop(ws, None)


def encode(event: Event, data: JsonValue) -> str | bytes:
    """JSON text frame, or a binary frame: big-endian u32 event type, then the payload."""
    if event == PREVIEW_IMAGE:
        fmt, image = data
        return struct.pack(">II", PREVIEW_IMAGE, IMAGE_FORMATS[fmt]) + image
    if event == PREVIEW_IMAGE_WITH_METADATA:
        image, metadata = data
        meta = json.dumps(metadata).encode()
        return struct.pack(">II", PREVIEW_IMAGE_WITH_METADATA, len(meta)) + meta + image
    if event == TEXT:
        node_id, text = data
        node = node_id.encode()
        return struct.pack(">II", TEXT, len(node)) + node + text.encode()
    return json.dumps({"type": event, "data": data})
