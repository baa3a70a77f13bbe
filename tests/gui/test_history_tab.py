"""The editor's History tab on a real Tk root: versions listed, the word diff against the current
text in colour tags, and Restore saving the old version as a new one (issue 14, part D)."""

from __future__ import annotations

import tkinter as tk

from app.history_state import ADDED, REMOVED
from tests.gui.conftest import pump
from tests.gui.test_editor import settle, type_into


def tagged(text: tk.Text, tag: str) -> list[str]:
    ranges = text.tag_ranges(tag)
    return [text.get(a, b) for a, b in zip(ranges[::2], ranges[1::2], strict=True)]


def test_history_lists_versions_and_shows_the_word_diff(root, editor, ctx):
    record = ctx.prompts.add("image", "Fox", {"prompt": "a red fox in snow"})
    ctx.prompts.update(record.id, data={"prompt": "a grey fox in snow"})
    editor.load(record.id)
    editor.notebook.select(editor.history)
    pump(root)
    history = editor.history
    assert history.listbox.size() == 2
    assert history.listbox.get(0).startswith("v2") and "(current)" in history.listbox.get(0)
    assert history.listbox.curselection() == (1,)  # the version before the current one
    assert tagged(history.diff, REMOVED) == ["red"]
    assert tagged(history.diff, ADDED) == ["grey"]
    assert not history.restore_button.instate(["disabled"])
    history.listbox.selection_clear(0, "end")
    history.listbox.selection_set(0)
    history.listbox.event_generate("<<ListboxSelect>>")
    pump(root)
    assert tagged(history.diff, REMOVED) == [] and history.restore_button.instate(["disabled"])


def test_saving_in_the_editor_adds_a_version_and_restore_brings_the_old_text_back(
    root, editor, ctx, saved
):
    record = ctx.prompts.add("image", "Fox", {"prompt": "a red fox"})
    editor.load(record.id)
    prompt_box = editor.inputs["prompt"].widget
    type_into(root, prompt_box, " at night")
    settle(root)
    assert editor.save() and editor.prompt_id == record.id
    assert editor.history.listbox.size() == 2
    assert "".join(tagged(editor.history.diff, ADDED)).split() == ["at", "night"]
    editor.notebook.select(editor.history)
    editor.history.restore_button.invoke()
    pump(root)
    assert ctx.prompts.get(record.id).data["prompt"] == "a red fox"
    assert ctx.prompts.get(record.id).version == 3
    assert editor.inputs["prompt"].get() == "a red fox"
    assert editor.history.listbox.size() == 3 and saved[-1] == record.id
