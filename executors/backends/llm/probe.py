"""LlmProbe: the screenwriter's endpoint as a pool member that is only ever probed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from core.errors import BackendError, PermanentBackendError, UserError
from core.json_types import JsonObject
from executors.backends.base import Event, Health

from .screenwriter import Screenwriter


class LlmProbe:
    """The screenwriter's endpoint as a pool member that is only ever probed, never leased:
    its status-bar dot and `backends` row come from `check()` (a model listing, no tokens).
    With online access off, a hosted provider is reported unavailable without any call."""

    kind = "llm"
    name = "llm"

    def __init__(self, writer: Screenwriter):
        self.writer = writer
        self.url = writer.root or f"{writer.provider} (hosted)"

    def health(self) -> Health:
        try:
            models = self.writer.check()
        except (UserError, BackendError) as exc:
            return Health(online=False, detail=str(exc))
        return Health(online=True, detail=f"{len(models)} models", extra={"models": models})

    def run(
        self,
        request: JsonObject,
        *,
        workdir: Path,
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        timeout_s: float | None,
    ) -> list[Path]:
        raise PermanentBackendError("the LLM screenwriter writes prompts; it runs no jobs")
