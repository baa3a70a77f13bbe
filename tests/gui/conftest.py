"""GUI tests drive the real Tk window on a display (pytest-xvfb starts Xvfb when installed).

Any exception inside a Tk callback fails the test.
"""

from __future__ import annotations

import tkinter as tk

import pytest


@pytest.fixture
def root():
    try:
        window = tk.Tk()
    except tk.TclError as exc:
        pytest.skip(f"no display for Tk ({exc}); install Xvfb (.ci/run does) to run GUI tests")
    errors: list[str] = []
    window.report_callback_exception = lambda kind, value, tb: errors.append(f"{kind}: {value}")
    yield window
    window.update_idletasks()
    window.destroy()
    assert errors == [], f"Tk callback raised: {errors}"


def pump(root: tk.Tk, ms: int = 0) -> None:
    """Let pending after() callbacks and redraws run."""
    if ms:
        root.after(ms, lambda: None)
        deadline = root.tk.call("clock", "milliseconds") + ms
        while root.tk.call("clock", "milliseconds") < deadline:
            root.update()
    root.update()
