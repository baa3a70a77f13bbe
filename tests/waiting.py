"""Polling for a condition in tests that watch another thread or process."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], object], seconds: float, interval_s: float = 0.05) -> bool:
    """True as soon as `condition()` is truthy; False when `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return False
