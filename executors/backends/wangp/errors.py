"""What goes wrong with WanGP, as one core error whose line says what to do.

`translate` takes whatever escaped a call (exception groups included) and gives the one error
to raise; `judge` reads a finished job's result. Pure; any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import httpx2
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, METHOD_NOT_FOUND, REQUEST_TIMEOUT

from core.errors import (
    AppError,
    BackendError,
    JobCancelled,
    OutOfMemory,
    PermanentBackendError,
    TransientBackendError,
)
from core.json_types import JsonObject
from executors.backends.base import looks_like_oom

from . import mcp_calls as mcp

START_HINT = "python wgp.py --mcp --mcp-transport streamable-http --mcp-port 7866"


class Where(TypedDict):
    """The backend and url every error names."""

    backend: str
    url: str


class CallbackFailed(Exception):
    """The caller's on_event raised; its exception is re-raised unchanged at the edge."""

    def __init__(self, original: BaseException):
        super().__init__(repr(original))
        self.original = original


@dataclass(frozen=True)
class Server:
    """The WanGP server an error is about."""

    name: str
    url: str
    token_env: str | None
    read_s: float

    @property
    def where(self) -> Where:
        return {"backend": self.name, "url": self.url}


def translate(server: Server, exc: BaseException) -> BaseException:
    """The one core error (or the caller's own exception) for whatever escaped."""
    leaves = list(mcp.leaves(exc))
    for leaf in leaves:
        if isinstance(leaf, CallbackFailed):
            return leaf.original
    for leaf in leaves:
        if isinstance(leaf, AppError):
            return leaf
    status = mcp.noted_status(exc)
    leaf = next((x for x in leaves if isinstance(x, Exception)), exc)  # not cancellation
    if status in (401, 403):
        return PermanentBackendError(
            f"WanGP at {server.url} refused the request (HTTP {status}): set the right token "
            f"in the environment variable {server.token_env or '(none configured)'}.",
            status=status,
            **server.where,
        )
    if isinstance(leaf, mcp.ToolFailed):
        return refused(server, leaf)
    if isinstance(leaf, httpx2.TransportError | OSError) or status in (502, 503, 504):
        return not_answering(server, status)
    if isinstance(leaf, MCPError):
        return _protocol_error(server, leaf, status)
    return PermanentBackendError(
        f"Talking to WanGP at {server.url} failed: {type(leaf).__name__}: "
        f"{mcp.one_line(str(leaf))}. Check that "
        "the url points at WanGP's MCP server and that WanGP is up to date.",
        **server.where,
    )


def _protocol_error(server: Server, error: MCPError, status: int | None) -> BackendError:
    """An MCP error answer: a timeout, a closed connection, not an MCP endpoint, or other."""
    if error.code == REQUEST_TIMEOUT:
        return TransientBackendError(
            f"WanGP at {server.url} did not answer within {server.read_s:g} s; it may be "
            "stuck (a client waiting on wangp_generate blocks it). Retry later.",
            **server.where,
        )
    if error.code == CONNECTION_CLOSED:
        return not_answering(server, status)
    if error.code == METHOD_NOT_FOUND and status == 404:
        return PermanentBackendError(
            f"{server.url} is not a WanGP MCP endpoint (HTTP 404): the url must end in "
            f"/mcp and WanGP must run with {START_HINT}.",
            status=404,
            **server.where,
        )
    return PermanentBackendError(
        f"WanGP at {server.url} answered with an error: {mcp.one_line(error.message)}"
        + (f" (HTTP {status})" if status else "")
        + ". Check that the url points at WanGP's MCP server.",
        status=status,
        **server.where,
    )


def refused(server: Server, failure: mcp.ToolFailed) -> BackendError:
    """A tool call WanGP refused, in one line with advice that fits."""
    if looks_like_oom(failure.text):
        return OutOfMemory(f"WanGP ran out of GPU memory: {failure.summary}", **server.where)
    advice = (
        "Takeboard and this WanGP version disagree on the tool's arguments: update "
        "Takeboard or WanGP."
        if failure.bad_arguments
        else "Check the settings it names, or WanGP's console."
    )
    return PermanentBackendError(
        f"WanGP at {server.url} refused {failure.tool} ({failure.summary}). {advice}",
        **server.where,
    )


def not_answering(server: Server, status: int | None) -> TransientBackendError:
    return TransientBackendError(
        f"WanGP's MCP server at {server.url} is not answering"
        + (f" (HTTP {status})" if status else "")
        + f" — start it with: {START_HINT}",
        status=status,
        **server.where,
    )


def judge(server: Server, result: JsonObject) -> JsonObject:
    """Raises for a failed or cancelled job result; returns a successful one."""
    errors = [e for e in result.get("errors") or [] if isinstance(e, dict)]
    if result.get("cancelled") or (errors and all(e.get("cancelled") for e in errors)):
        raise JobCancelled("The job was cancelled in WanGP.")
    messages = [str(e.get("message") or "") for e in errors]
    message = "; ".join(mcp.one_line(m) for m in messages if m.strip())
    if message or not result.get("success", False):
        message = message or "WanGP reported a failure without a message"
        if looks_like_oom(message):
            raise OutOfMemory(
                f"WanGP ran out of GPU memory: {message}. Try a lower resolution, fewer "
                "frames, or a lighter memory profile (--profile) in WanGP.",
                **server.where,
                detail=errors,
            )
        raise PermanentBackendError(
            f"WanGP could not make the video: {message}. Fix the settings named in the "
            "message, or look at WanGP's console.",
            **server.where,
            detail=errors,
        )
    return result
