"""A raw WebSocket to the fake server that records what arrives (for tests)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import websocket

Message = dict[str, Any]  # {"type", "data"}, or {"type": "binary", "data": bytes}


class Probe:
    """A raw websocket-client socket to the fake server that records what arrives."""

    def __init__(self, url: str, client_id: str | None, feature_flags: bool = False):
        query = f"?clientId={client_id}" if client_id else ""
        self.client_id = client_id
        self.ws = websocket.create_connection(url.replace("http", "ws", 1) + "/ws" + query)
        if feature_flags:
            flags = {"supports_preview_metadata": True}
            self.ws.send(json.dumps({"type": "feature_flags", "data": flags}))
        self.hello = self.recv()

    def recv(self, timeout: float = 5.0) -> Message:
        self.ws.settimeout(timeout)
        opcode, data = self.ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_BINARY:
            return {"type": "binary", "data": data}
        return json.loads(data)

    def until(self, done: Callable[[Message], bool], timeout: float = 10.0) -> list[Message]:
        """Everything received up to and including the first message for which done() holds."""
        messages, deadline = [], time.monotonic() + timeout
        while True:
            messages.append(self.recv(max(deadline - time.monotonic(), 0.01)))
            if done(messages[-1]):
                return messages

    def until_done(self, prompt_id: str, timeout: float = 10.0) -> list[Message]:
        """Up to the `executing` null that ends `prompt_id`."""
        return self.until(lambda m: is_done(m, prompt_id), timeout)

    def drain(self, quiet: float = 0.2) -> list[Message]:
        """Everything that arrives until nothing has for `quiet` seconds."""
        messages = []
        while True:
            try:
                messages.append(self.recv(quiet))
            except websocket.WebSocketTimeoutException:
                return messages

    def silent_for(self, seconds: float) -> bool:
        """True when nothing arrives within `seconds`."""
        try:
            self.recv(seconds)
        except websocket.WebSocketTimeoutException:
            return True
        return False

    def close(self) -> None:
        self.ws.close()


def is_done(message: Message, prompt_id: str) -> bool:
    data = message.get("data")
    return (
        message["type"] == "executing"
        and isinstance(data, dict)
        and data.get("node") is None
        and data.get("prompt_id") == prompt_id
    )
