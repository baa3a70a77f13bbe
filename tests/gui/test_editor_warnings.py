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
