"""The editor shows a template warning (deprecated node, refused user template) as one line."""

from __future__ import annotations

import tkinter as tk

from app.editor_state import warning_line
from app.views.editor import PromptEditor
from core.models import MediaKind

DEPRECATED = (
    'gpu1: create_audio/standard: node 104 (SaveAudioMP3 "Save Audio (MP3)") is deprecated on '
    "this server — it still runs; update the template"
)


def test_warning_line_is_one_line_with_a_count() -> None:
    assert warning_line([]) == ""
    assert warning_line([DEPRECATED]) == f"⚠ {DEPRECATED}"
    two = warning_line([DEPRECATED.replace(" — ", "\n — "), "second"])
    assert "\n" not in two and two.endswith("(+1 more in 'functions --json')")


def test_editor_shows_the_kinds_warning_and_not_an_error(root: tk.Tk, ctx) -> None:
    asked: list[MediaKind] = []

    def warnings(kind: MediaKind) -> list[str]:
        asked.append(kind)
        return [DEPRECATED] if kind is MediaKind.AUDIO else []

    editor = PromptEditor(root, ctx.prompts, lambda _id: None, template_warnings=warnings)
    editor.pack()
    editor.new(MediaKind.AUDIO)
    root.update()
    assert editor.warning_label.cget("text") == f"⚠ {DEPRECATED}"
    editor.new(MediaKind.IMAGE)
    root.update()
    assert editor.warning_label.cget("text") == ""
    assert asked[-2:] == [MediaKind.AUDIO, MediaKind.IMAGE]
    plain = PromptEditor(root, ctx.prompts, lambda _id: None)
    assert plain.warning_label.cget("text") == ""


def test_the_window_warns_from_the_cached_object_info_of_its_servers(root, ctx, comfy_server):
    import requests

    from app.application import Application
    from executors.workflow_import.catalog import ObjectInfoCache
    from tests.gui.conftest import pump, wired

    info = requests.get(f"{comfy_server.url}/object_info", timeout=5).json()
    info["SaveImage"]["deprecated"] = True  # as a newer server might say of it
    wired_ctx = wired(ctx, comfy_server.url)
    [server] = wired_ctx.config.comfyui_servers
    ObjectInfoCache(wired_ctx.config.home).save(server.name, info)
    app = Application(root, wired_ctx)
    try:
        assert app.template_warnings.loaded.wait(10)
        app.new("image")
        pump(root)
        shown = app.editor.warning_label.cget("text")
        assert "SaveImage" in shown and "is deprecated on this server" in shown
        app.new("audio")
        pump(root)
        assert "SaveImage" not in app.editor.warning_label.cget("text")
    finally:
        app.stop_engine()
        app.bridge.stop()
