"""GUI tests drive the real Tk window on a display (pytest-xvfb starts Xvfb when installed).

Any exception inside a Tk callback fails the test.
"""

from __future__ import annotations

import gc
import time
import tkinter as tk
from collections.abc import Callable

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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """A window test's Tk objects are freed on this, the Tk thread, once pytest has let go of its
    fixtures (after their teardown), with no automatic collection meanwhile. Freed by the
    garbage collector on another thread (a test server's event loop), the last Tk root aborts
    the process ("Tcl_AsyncDelete: async handler deleted by the wrong thread") and a tkinter
    Variable's __del__ waits for this thread, which may be waiting for that one."""
    if "root" not in getattr(item, "fixturenames", ()):
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.enable()


def pump(root: tk.Tk, ms: int = 0) -> None:
    """Let pending after() callbacks and redraws run."""
    if ms:
        root.after(ms, lambda: None)
        deadline = root.tk.call("clock", "milliseconds") + ms
        while root.tk.call("clock", "milliseconds") < deadline:
            root.update()
    root.update()


def wired(ctx, comfyui_url: str):
    """The Context main.py builds, over ctx's library, with its engine at `comfyui_url`."""
    from core.config import load_config
    from main import build_context

    config = load_config(ctx.config.home, env={"TAKEBOARD_COMFYUI_URL": comfyui_url})
    return build_context(config, ctx.prompts.db)


def pump_until(root: tk.Tk, condition: Callable[[], object], seconds: float = 60.0) -> bool:
    """Pump the Tk loop until `condition()` holds (True) or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pump(root, 30)
        if condition():
            return True
    return False


@pytest.fixture
def saved() -> list[int]:
    """The ids the `editor` fixture's editor reported saved."""
    return []


@pytest.fixture
def editor(root: tk.Tk, ctx, saved: list[int]):
    """The prompt editor alone on the root, over ctx's library; it confirms every question."""
    from app.views.editor import PromptEditor

    widget = PromptEditor(root, ctx.prompts, saved.append, confirm=lambda question: True)
    widget.pack(fill="both", expand=True)
    root.geometry("900x800+0+0")
    root.update()
    return widget


def saved_id(root: tk.Tk, editor) -> int:
    """Press Save in the window's editor (the write runs on the bridge's worker) and wait until
    the prompt is written; its id."""
    assert editor.save()
    assert pump_until(root, lambda: editor.prompt_id is not None and not editor.dirty)
    return editor.prompt_id


@pytest.fixture
def app(root: tk.Tk, ctx, comfy_server):
    """The whole window on the project's ComfyUI protocol server; its engine stopped after."""
    from app.application import Application

    window = Application(root, wired(ctx, comfy_server.url))
    pump(root)
    yield window
    window.stop_engine()
    window.bridge.stop()
