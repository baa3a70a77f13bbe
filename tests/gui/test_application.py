"""The whole window against the protocol test server: form → generate → take with thumbnail →
regenerate same seed → double-click to the editor → status bar sees the server go offline."""

from __future__ import annotations

import json

from app import application
from app.application import Application
from app.live_state import GREEN, GREY
from core.models import JobStatus
from tests.gui.conftest import pump, pump_until, saved_id, wired


def test_window_title_and_size(app, root):
    assert root.title() == "Takeboard"
    assert root.winfo_width() >= 1000 and root.winfo_height() >= 650


def test_create_generate_see_take_regenerate_and_edit(app, root, ctx):
    app.new("image")
    editor = app.editor
    editor.title_entry.insert(0, "Lighthouse")
    editor.inputs["prompt"].widget.insert("1.0", "a lighthouse at dusk")
    pump(root, 400)  # past the validation debounce
    prompt_id = saved_id(root, editor)
    assert ctx.prompts.get(prompt_id).title == "Lighthouse"
    pump(root)
    assert app.prompts.selected_id() == prompt_id

    app.generate([prompt_id])
    assert pump_until(root, lambda: len(ctx.artifacts.for_prompt(prompt_id)) == 1)
    (job,) = ctx.jobs.list(prompt_id=prompt_id)
    ctx.jobs.update(job.id, status=JobStatus.FAILED)  # as another process might
    failed = "0 running · 0 queued · 1 failed"  # read on the bridge's worker every 2 s
    assert pump_until(root, lambda: app.status.counts.cget("text") == failed, 10)
    ctx.jobs.update(job.id, status=JobStatus.DONE)
    app.tabs.select(app.gallery)
    app.gallery.show_prompt(prompt_id)
    assert pump_until(root, lambda: app.gallery.canvas.find_withtag("thumb"))
    (take,) = ctx.artifacts.for_prompt(prompt_id)
    assert take.preview_path is not None

    app.regenerate_same_seed(take.id)
    assert pump_until(root, lambda: len(ctx.artifacts.for_prompt(prompt_id)) == 2)
    seeds = {a.metadata["seed"] for a in ctx.artifacts.for_prompt(prompt_id)}
    assert seeds == {take.metadata["seed"]}

    app.tabs.select(app.gallery)
    app.open_editor(prompt_id)
    pump(root)
    assert app.tabs.select() == str(app.editor) and app.editor.prompt_id == prompt_id


def test_status_bar_shows_the_server_offline_after_it_stops(app, root, comfy_server):
    app.control.backends(refresh=True)
    assert pump_until(root, lambda: set(map(app.status.colour, _names(app))) == {GREEN}, 5)
    comfy_server.kill()
    app.control.backends(refresh=True)
    assert pump_until(root, lambda: set(map(app.status.colour, _names(app))) == {GREY}, 5)
    (name,) = _names(app)
    assert "not answering" in app.status.tooltip_text(name)
    assert "llm — http://127.0.0.1:11434" in app.status.tooltip_text("llm")  # the screenwriter


def _names(app) -> list[str]:
    return [state.name for state in app.control.backends() if state.kind == "comfyui"]


def test_delete_goes_to_the_trash_and_restores(app, root, ctx):
    record = ctx.prompts.add("image", "Fox", {"prompt": "a red fox"})
    app.prompts.refresh()
    app.prompts.select(record.id)
    pump(root)
    app.confirm = lambda question: "trash" in question
    app.prompts.tree.focus_set()
    app.prompts.tree.event_generate("<Delete>")
    pump(root)
    assert ctx.prompts.count() == 0
    app.prompts.trash_check.invoke()  # ticks "Trash"; its command applies the filter
    pump(root)
    assert app.prompts.total == 1
    app.restore(record.id)
    assert ctx.prompts.get(record.id).deleted_at is None


def test_ctrl_f_focuses_the_search_box(app, root):
    root.focus_force()
    pump(root)
    root.event_generate("<Control-f>")
    pump(root)
    assert root.focus_get() == app.prompts.search_entry


def test_settings_dialog_tests_a_server_off_the_tk_thread(app, root, comfy_server):
    ok, text = app._test_connection(comfy_server.url)
    assert ok, text
    ok, text = app._test_connection("http://127.0.0.1:9")
    assert not ok and "not answering" in text
    app.open_settings()
    pump(root)
    dialogs = [w for w in root.winfo_children() if w.winfo_class() == "Toplevel"]
    assert dialogs, "the settings dialog did not open"
    dialogs[-1].destroy()


def test_window_remembers_its_size_and_pane_layout(app, root, ctx, comfy_server):
    root.geometry("1100x700+0+0")
    pump(root, 200)
    body, top = app._panes
    top.sashpos(0, 420)
    body.sashpos(0, 380)
    pump(root)
    app._save_layout()
    saved = json.loads((ctx.config.home / "window.json").read_text())
    assert saved["panes"] == [380, 420] and saved["geometry"].startswith("1100x700")
    app.stop_engine()
    root.after_cancel(app._status_job)  # its widgets go now; its next refresh must not come
    for child in root.winfo_children():
        child.destroy()
    again = Application(root, wired(ctx, comfy_server.url))
    pump(root, 300)
    try:
        assert [pane.sashpos(0) for pane in again._panes] == [380, 420]
    finally:
        again.stop_engine()
        again.bridge.stop()


def test_help_menu_credits_the_backends(app, root, monkeypatch):
    menubar = root.nametowidget(root.cget("menu"))
    entries = range(menubar.index("end") + 1)
    labels = [menubar.entrycget(i, "label") for i in entries if menubar.type(i) == "cascade"]
    assert labels[-1] == "Help"
    shown: list[str] = []
    monkeypatch.setattr(
        application.messagebox, "showinfo", lambda _title, text, parent: shown.append(text)
    )
    app.about_backends()
    assert "WanGP (deepbeepmeep/Wan2GP)" in shown[0] and "ComfyUI" in shown[0]
