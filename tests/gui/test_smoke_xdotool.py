"""One smoke test with real X input (xdotool): focus, pointer and the double-click binding."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from app.application import Application
from tests.gui.conftest import pump, wired


@pytest.fixture
def xdotool():
    path = shutil.which("xdotool")
    if path is None or not os.environ.get("DISPLAY"):
        pytest.skip("needs xdotool and a display (.ci/run installs both)")
    return path


def test_double_click_on_a_prompt_opens_the_editor(root, ctx, xdotool):
    record = ctx.prompts.add("audio", "Shanty", {"lyrics": "[verse]\nheave away"})
    app = Application(root, wired(ctx, "http://127.0.0.1:9"))
    try:
        root.geometry("1200x760+0+0")
        app.tabs.select(app.gallery)
        pump(root, 300)
        tree = app.prompts.tree
        (row,) = tree.get_children()
        x, y, width, height = tree.bbox(row, "#1")
        screen_x, screen_y = tree.winfo_rootx() + x + width // 2, tree.winfo_rooty() + y + 4
        subprocess.run(
            [
                xdotool,
                "mousemove",
                "--sync",
                str(screen_x),
                str(screen_y),
                "click",
                "--repeat",
                "2",
                "--delay",
                "60",
                "1",
            ],
            check=True,
            timeout=10,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and app.editor.prompt_id != record.id:
            pump(root, 30)
        assert app.editor.prompt_id == record.id
        assert app.tabs.select() == str(app.editor)
    finally:
        app.stop_engine()
        app.bridge.stop()
