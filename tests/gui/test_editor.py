"""The prompt editor on a real Tk root: typing, validation as you type, JSON sync, save/delete."""

from __future__ import annotations

import tkinter as tk

from app.views.editor import DEBOUNCE_MS, PromptEditor
from core.models import MediaKind
from tests.gui.conftest import pump

KEYSYMS = {
    " ": "space",
    ",": "comma",
    ":": "colon",
    "[": "bracketleft",
    "]": "bracketright",
    "\n": "Return",
    ".": "period",
    "-": "minus",
}


def type_into(root: tk.Tk, widget: tk.Widget, text: str) -> None:
    """Key presses on a focused widget, as a user types them."""
    widget.focus_force()
    root.update()
    for char in text:
        widget.event_generate("<KeyPress>", keysym=KEYSYMS.get(char, char))
    root.update()


def clear(widget: tk.Widget) -> None:
    widget.delete("1.0", "end") if isinstance(widget, tk.Text) else widget.delete(0, "end")


def settle(root: tk.Tk) -> None:
    """Past the validation debounce (and the JSON echo it may cause)."""
    pump(root, DEBOUNCE_MS + 60)


def disabled(button) -> bool:
    return button.instate(["disabled"])


def field(editor: PromptEditor, name: str) -> tk.Widget:
    return editor.inputs[name].widget


def error(editor: PromptEditor, key: str) -> str:
    return str(editor.error_labels[key].cget("text"))


def test_create_an_image_prompt_through_the_form(root, editor, ctx, saved) -> None:
    editor.new(MediaKind.IMAGE)
    type_into(root, editor.title_entry, "Red fox")
    type_into(root, editor.tags_entry, "animals, red")
    type_into(root, field(editor, "prompt"), "a red fox in snow")
    type_into(root, field(editor, "style_tags"), "ink, moody")
    clear(field(editor, "aspect_ratio"))
    type_into(root, field(editor, "aspect_ratio"), "16:9")
    type_into(root, field(editor, "seed"), "42")
    field(editor, "quality").set("high")
    editor.favorite_check.invoke()
    assert editor.dirty
    settle(root)
    assert not disabled(editor.save_button)

    editor.save_button.invoke()
    root.update()
    assert len(saved) == 1 and editor.prompt_id == saved[0]
    assert not editor.dirty
    record = ctx.prompts.get(saved[0])
    assert record.kind is MediaKind.IMAGE and record.title == "Red fox"
    assert record.tags == ("animals", "red") and record.favorite
    assert record.data["prompt"] == "a red fox in snow"
    assert record.data["style_tags"] == ["ink", "moody"]
    assert (record.data["aspect_ratio"], record.data["seed"]) == ("16:9", 42)
    assert record.data["quality"] == "high"


def shown_errors(editor: PromptEditor) -> dict[str, str]:
    return {
        key: error(editor, key) for key, label in editor.error_labels.items() if error(editor, key)
    }


def test_an_untouched_form_shows_no_errors_until_touched_or_saved(root, editor) -> None:
    editor.new(MediaKind.IMAGE)
    settle(root)
    assert shown_errors(editor) == {}  # empty title and prompt: not red before any typing
    assert not any(label.winfo_ismapped() for label in editor.error_labels.values())
    type_into(root, editor.title_entry, "x")
    clear(editor.title_entry)
    settle(root)
    assert list(shown_errors(editor)) == ["title"] and disabled(editor.save_button)
    assert editor.save() is False  # Save shows every error
    root.update()
    assert set(shown_errors(editor)) == {"title", "data.prompt"}
    assert "is empty" in error(editor, "data.prompt")
    editor.new(MediaKind.AUDIO)  # a new form starts untouched again
    settle(root)
    assert shown_errors(editor) == {} and not disabled(editor.save_button)


def test_bad_values_show_next_to_their_field_and_block_save(root, editor) -> None:
    editor.new(MediaKind.AUDIO)
    type_into(root, editor.title_entry, "Song")
    type_into(root, field(editor, "lyrics"), "[verse]\nla la")
    type_into(root, field(editor, "tempo"), "fast")
    settle(root)
    assert "whole number" in error(editor, "data.tempo")
    assert editor.error_labels["data.tempo"].winfo_ismapped()
    assert error(editor, "data.lyrics") == ""
    assert disabled(editor.save_button)
    assert editor.save() is False

    clear(field(editor, "tempo"))
    type_into(root, field(editor, "tempo"), "120")
    settle(root)
    assert error(editor, "data.tempo") == ""
    assert not editor.error_labels["data.tempo"].winfo_ismapped()
    assert not disabled(editor.save_button)

    clear(field(editor, "lyrics"))
    settle(root)
    assert "a song prompt needs 'lyrics'" in error(editor, "data.lyrics")
    assert disabled(editor.save_button)
    type_into(root, field(editor, "lyrics"), "[chorus] oh")
    settle(root)
    assert error(editor, "data.lyrics") == "" and not disabled(editor.save_button)


def test_empty_image_prompt_is_flagged_at_the_prompt(root, editor) -> None:
    editor.new(MediaKind.IMAGE)
    type_into(root, editor.title_entry, "T")
    type_into(root, field(editor, "prompt"), "   ")
    settle(root)
    assert "is empty" in error(editor, "data.prompt")
    assert disabled(editor.save_button)


def test_json_tab_edits_flow_into_the_form_and_back(root, editor) -> None:
    editor.new(MediaKind.IMAGE)
    editor.notebook.select(1)
    json_text = editor.json_input.widget
    clear(json_text)
    json_text.insert("1.0", '{"prompt": "from json",\n "seed": 7,')  # not closed yet
    settle(root)
    assert "line 2, column" in str(editor.json_error.cget("text"))
    assert disabled(editor.save_button)

    clear(json_text)
    json_text.insert("1.0", '{"prompt": "from json", "seed": 7, "style_tags": ["a", "b"]}')
    settle(root)
    assert editor.json_error.cget("text") == ""
    assert editor.inputs["prompt"].get() == "from json"
    assert editor.inputs["seed"].get() == "7"
    assert editor.inputs["style_tags"].get() == "a, b"
    assert editor.inputs["quality"].get() == ""  # not in the JSON: the default applies on save

    editor.notebook.select(0)
    field(editor, "seed").icursor("end")
    type_into(root, field(editor, "seed"), "9")
    settle(root)
    assert '"seed": 79' in editor.json_input.get()


def test_load_an_audio_prompt_and_edit_its_lyrics(root, editor, ctx, saved) -> None:
    record = ctx.prompts.add(
        "audio", "Night drive", {"lyrics": "[verse]\nneon", "tempo": 100}, tags=["synth"]
    )
    editor.load(record.id)
    root.update()
    assert not editor.dirty
    assert editor.title_entry.get() == "Night drive"
    assert editor.inputs["lyrics"].get() == "[verse]\nneon"
    assert editor.inputs["tempo"].get() == "100"
    assert "tempo" in editor.inputs and "aspect_ratio" not in editor.inputs

    lyrics = field(editor, "lyrics")
    lyrics.mark_set("insert", "end")
    type_into(root, lyrics, "\n[chorus]\nlights")
    assert editor.dirty
    assert editor.save() and editor.prompt_id == record.id  # alone, it writes inline
    assert ctx.prompts.get(record.id).data["lyrics"] == "[verse]\nneon\n[chorus]\nlights"
    assert ctx.prompts.get(record.id).tags == ("synth",)
    assert saved == [record.id] and not editor.dirty


def test_duplicate_saves_a_new_prompt(root, editor, ctx, saved) -> None:
    record = ctx.prompts.add("video", "Waves", {"prompt": "waves", "fps": 24})
    editor.load(record.id)
    editor.duplicate()
    root.update()
    assert editor.prompt_id is None and editor.dirty
    assert editor.title_entry.get() == "Waves (copy)"
    assert editor.save()
    new_id = editor.prompt_id
    assert new_id is not None and new_id != record.id
    copy = ctx.prompts.get(new_id)
    assert copy.title == "Waves (copy)" and copy.data == record.data
    assert ctx.prompts.get(record.id).title == "Waves"


def test_delete_moves_to_the_trash_after_confirmation(root, ctx, saved) -> None:
    answers: list[str] = []
    deleted: list[int] = []
    record = ctx.prompts.add("image", "Gone", {"prompt": "p"})
    editor = PromptEditor(root, ctx.prompts, saved.append, on_deleted=deleted.append)
    editor.pack()
    editor.load(record.id)

    editor.confirm = lambda question: answers.append(question) or False
    assert editor.delete() is False
    assert ctx.prompts.get(record.id).deleted_at is None

    editor.confirm = lambda question: answers.append(question) or True
    editor.delete_button.invoke()
    root.update()
    assert "Gone" in answers[0] and len(answers) == 2
    assert deleted == [record.id]
    trashed = ctx.prompts.get(record.id, include_trash=True)
    assert trashed.deleted_at is not None
    assert editor.prompt_id is None and disabled(editor.delete_button)
    ctx.prompts.restore(record.id)
    assert ctx.prompts.get(record.id).title == "Gone"
