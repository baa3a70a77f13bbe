"""The MCP layer under the WanGP client: one connection, tool calls, the server's tool list.

WanGP's MCP server is FastMCP (mcp 1.10.1) in JSON-response, stateless-HTTP mode, so every
connection is a fresh `initialize` handshake and nothing lives between calls. What WanGP says
in a failing tool call is FastMCP's text, "Error executing tool <name>: <message>", where the
message may be a multi-line pydantic validation error; `ToolFailed.summary` makes it one line.

Tool argument names differ between WanGP versions (12.60 has
`wangp_create_gallery_download(gallery_id)`, later versions `(media_id)`), so callers read them
from the server's `tools/list` through a `ToolCatalog`, cached per server.

Threads: the coroutines run inside `anyio.run` on the calling thread; a ToolCatalog is shared
by the threads using one client and guards its cache with a lock.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent

from core.json_types import JsonValue

STATUS_NOTE = "wangp-http-status="
_FASTMCP_PREFIX = re.compile(r"^Error executing tool [\w.-]+: ")
_PYDANTIC_COUNT = re.compile(r"^\d+ validation errors? for \S+$")
_PYDANTIC_DETAIL = re.compile(r"^\s*(.*?)\s*\[type=([\w.]+)")


class ToolFailed(Exception):
    """A tool answered with isError; `text` is the server's whole message."""

    def __init__(self, tool: str, text: str):
        super().__init__(text)
        self.tool, self.text = tool, text

    @property
    def summary(self) -> str:
        """The message on one line: FastMCP's prefix dropped, a pydantic validation error
        folded to "argument <name>: <problem>" per field."""
        return one_line(self.text)

    @property
    def bad_arguments(self) -> bool:
        """The server's argument validation refused the call (names or types)."""
        return " validation error" in self.text and "Arguments" in self.text


class _HttpStatus:
    """Remembers the last HTTP error status seen on the connection (the mcp transport turns
    them into generic JSON-RPC errors; 401/403/5xx need their own messages)."""

    def __init__(self) -> None:
        self.last_error: int | None = None

    async def hook(self, response: httpx2.Response) -> None:
        if response.request.method == "POST" and response.status_code >= 400:
            self.last_error = response.status_code


@asynccontextmanager
async def connect(
    url: str, headers: dict[str, str], *, connect_s: float, read_s: float
) -> AsyncIterator[Client]:
    """One MCP connection (WanGP's mcp 1.x is a legacy server). An exception leaving it
    carries a note with the last HTTP error status (see `noted_status`)."""
    status = _HttpStatus()
    timeout = httpx2.Timeout(read_s, connect=connect_s)
    http = httpx2.AsyncClient(
        timeout=timeout, headers=headers, event_hooks={"response": [status.hook]}
    )
    async with http:
        transport = streamable_http_client(url, http_client=http, terminate_on_close=False)
        client = Client(transport, mode="legacy", read_timeout_seconds=read_s, cache=None)
        try:
            async with client:
                yield client
        except Exception as exc:
            exc.add_note(f"{STATUS_NOTE}{status.last_error}")
            raise


async def call(client: Client, tool: str, **arguments: JsonValue) -> JsonValue:
    """Calls one tool; returns its JSON value, raises ToolFailed with the server's message."""
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise ToolFailed(tool, result_text(result))
    return result_value(result)


class ToolCatalog:
    """The server's tools and their argument names, read once from `tools/list` and kept
    until `forget()` (call it when the server refuses arguments: it may have been updated)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tools: dict[str, tuple[str, ...]] | None = None

    async def arguments(self, client: Client, tool: str) -> tuple[str, ...] | None:
        """The argument names of `tool` (required ones first); None when the server has no
        such tool."""
        with self._lock:
            tools = self._tools
        if tools is None:
            tools = await _list_tools(client)
            with self._lock:
                self._tools = tools
        return tools.get(tool)

    def forget(self) -> None:
        with self._lock:
            self._tools = None


async def _list_tools(client: Client) -> dict[str, tuple[str, ...]]:
    tools: dict[str, tuple[str, ...]] = {}
    cursor: str | None = None
    while True:
        page = await client.list_tools(cursor=cursor)
        for tool in page.tools:
            tools[tool.name] = _argument_names(tool.input_schema)
        cursor = page.next_cursor
        if not cursor:
            return tools


def _argument_names(schema: JsonValue) -> tuple[str, ...]:
    schema = schema if isinstance(schema, dict) else {}
    properties = schema.get("properties")
    names = list(properties) if isinstance(properties, dict) else []
    required = [n for n in schema.get("required") or [] if n in names]
    return tuple(required + [n for n in names if n not in required])


def one_line(text: str) -> str:
    """A server's message as one line (see ToolFailed.summary); of a traceback, its last."""
    lines = [line for line in _FASTMCP_PREFIX.sub("", text.strip()).splitlines() if line.strip()]
    if lines and _PYDANTIC_COUNT.match(lines[0].strip()):
        return "; ".join(_validation_problems(lines[1:])) or lines[0].strip()
    if lines and lines[0].startswith("Traceback (most recent call last)"):
        return lines[-1].strip()  # the exception itself
    return " ".join(line.strip() for line in lines) or "no message"


def _validation_problems(lines: list[str]) -> Iterator[str]:
    """pydantic's layout: a field name line, then "  <problem> [type=…, …]", then a
    "    For further information visit …" line."""
    field = ""
    for line in lines:
        detail = _PYDANTIC_DETAIL.match(line)
        if detail:
            yield f"argument {field or '?'}: {detail.group(1)}"
        elif not line.startswith(" "):
            field = line.strip()


def result_text(result: CallToolResult) -> str:
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    return " ".join(texts).strip() or "no message"


def result_value(result: CallToolResult) -> JsonValue:
    """A tool's JSON value: FastMCP puts a dict in structuredContent as is and wraps anything
    else as {"result": value}; without structured content each item is one JSON text block."""
    structured = result.structured_content
    if isinstance(structured, dict):
        if set(structured) == {"result"}:
            return structured["result"]
        return structured
    if structured is not None:
        return structured
    values = []
    for block in result.content:
        if isinstance(block, TextContent):
            try:
                values.append(json.loads(block.text))
            except ValueError:
                values.append(block.text)
    return values[0] if len(values) == 1 else values


def leaves(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (nested) exception groups, or `exc` itself."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from leaves(inner)
    else:
        yield exc


def noted_status(exc: BaseException) -> int | None:
    """The HTTP error status `connect` noted on the exception (or an enclosing group)."""
    stack = [exc]
    while stack:
        current = stack.pop()
        for note in getattr(current, "__notes__", ()):
            match = re.fullmatch(re.escape(STATUS_NOTE) + r"(\d+)", note)
            if match:
                return int(match.group(1))
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
    return None
