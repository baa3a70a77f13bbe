"""What goes wrong talking to an LLM server, as one core error whose line fits what happened.

Called on the worker thread that drafts; `writer` gives the words (where, hints, the base).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import BackendError, PermanentBackendError, TransientBackendError

from .providers import ENV_API_BASE, ENV_MODEL

if TYPE_CHECKING:
    from .screenwriter import Screenwriter


def http_error(writer: Screenwriter, status: int | None, url: str, detail: str) -> BackendError:
    where = writer.where()
    if status is None:
        return PermanentBackendError(
            f"LLM call to {where} failed: {detail[:200]} — check {ENV_MODEL} and {ENV_API_BASE}",
            backend="llm",
            url=url,
            detail=detail,
        )
    if status in (401, 403):
        return PermanentBackendError(
            f"LLM server {where} answered {status}: {writer.key_hint()}",
            backend="llm",
            url=url,
            status=status,
        )
    if status == 429 or status >= 500:
        return TransientBackendError(
            f"LLM server {where} answered {status} — busy or failing; try again later",
            backend="llm",
            url=url,
            status=status,
            detail=detail,
        )
    hint = (
        f"is {writer.name!r} installed? (see the model list)"
        if status == 404 and writer.local
        else f"check {ENV_MODEL} and {ENV_API_BASE}"
    )
    return PermanentBackendError(
        f"LLM server {where} answered {status}: {detail[:200]} — {hint}",
        backend="llm",
        url=url,
        status=status,
        detail=detail,
    )


def translate(writer: Screenwriter, exc: Exception) -> BackendError:
    """A litellm/OpenAI SDK exception as our Transient/PermanentBackendError."""
    name = type(exc).__name__
    message = str(exc)
    url = writer.completion_base() or writer.provider
    if "Timeout" in name:
        return TransientBackendError(
            f"LLM server {writer.where()} did not answer in {writer.timeout_s:g} s — "
            "try a smaller model or a longer timeout",
            backend="llm",
            url=url,
        )
    if "Connection error" in message or "APIConnectionError" in name:
        return TransientBackendError(
            f"cannot reach the LLM server at {writer.where()} — {writer.start_hint()}",
            backend="llm",
            url=url,
        )
    return http_error(writer, getattr(exc, "status_code", None), url, message)
