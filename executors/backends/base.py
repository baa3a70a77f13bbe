"""What every non-ComfyUI backend client offers the pool and the task executor, and the one
Progress / Preview pair every backend (ComfyUI's included) reports while a job runs.

ComfyUI has its own richer client (comfyui/); WanGP (MCP), Gradio apps and command lines
speak this one small contract, so one executor and one pool serve them all:

* `health()` — worker thread; never raises for a server that is down: it returns
  `Health(online=False, detail=<what happened and what to do>)`.
* `run(request, workdir=…, on_event=…, cancel=…, timeout_s=…)` — worker thread; sends the
  rendered request (a flat JSON object made from the function's template), reports
  `Progress` / `Preview` through `on_event`, and returns the output files, written into
  `workdir` (a fresh, empty folder the caller owns and cleans up). Raises only core errors:
  TransientBackendError (not answering: worth retrying), PermanentBackendError (the app said
  no: bad api_name, app error, exit status), OutOfMemory (CUDA/torch out of memory),
  JobCancelled (`cancel` was set; the remote work is stopped as far as the backend allows).
  A deadline (`timeout_s`) that passes is a PermanentBackendError naming the limit.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from core.json_types import JsonObject

OOM_PATTERN = re.compile(r"out of memory|OutOfMemoryError|CUDA error: out of memory", re.I)


@dataclass(frozen=True)
class Health:
    """One probe of one server."""

    online: bool
    detail: str = ""  # version when online; the reason and the fix when not
    queue_running: int | None = None
    queue_pending: int | None = None
    extra: JsonObject = field(default_factory=dict)  # e.g. WanGP's models


@dataclass(frozen=True)
class Progress:
    """How far a job is. ComfyUI's runs fill value/max/node (its progress message: step
    `value` of `max` in `node`, fraction over the whole prompt, never going backwards) and leave
    the label to the executor, which knows the stage; the other backends give a label."""

    fraction: float | None  # 0..1, None when unknown
    label: str = ""  # words a user understands: "Denoising 12/30"
    value: int = 0
    max: int = 0
    node: str = ""


@dataclass(frozen=True)
class Preview:
    """A live preview picture."""

    data: bytes
    mime: str  # image/png, image/jpeg


Event = Progress | Preview


class ToolClient(Protocol):
    kind: str  # "wangp" | "gradio" | "command"
    name: str
    url: str  # shown to the user; for a command, its program

    def health(self) -> Health: ...

    def run(
        self,
        request: JsonObject,
        *,
        workdir: Path,
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        timeout_s: float | None,
    ) -> list[Path]: ...


def looks_like_oom(text: str) -> bool:
    """True when an error text reports a CUDA/torch out-of-memory."""
    return bool(OOM_PATTERN.search(text or ""))
