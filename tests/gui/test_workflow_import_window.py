"""File → Import workflow… and a file dropped on the real window (tkdnd through tkinterdnd2,
driven from its XDND handlers: Xvfb has no second client to drag from): the import runs on a
worker thread, the window shows the result or the one-line reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.views import workflow_import
from tests.gui.conftest import pump_until

CORPUS = Path(__file__).resolve().parent.parent / "data" / "workflows"


@pytest.fixture
def shown(monkeypatch):
    said: list[tuple[str, str]] = []
    box = workflow_import.messagebox
    monkeypatch.setattr(box, "showinfo", lambda title, text, **_kw: said.append(("info", text)))
    monkeypatch.setattr(box, "showerror", lambda title, text, **_kw: said.append(("error", text)))
    return said


def test_import_workflow_from_the_file_menu(app, root, ctx, shown, monkeypatch):
    menu = root.nametowidget(root.nametowidget(root["menu"]).entrycget("File", "menu"))
    path = CORPUS / "ui" / "sdxl_simple_example.json"
    dialog = workflow_import.filedialog
    monkeypatch.setattr(dialog, "askopenfilename", lambda **_kw: str(path))
    menu.invoke("Import workflow…")
    assert pump_until(root, lambda: shown)
    ((kind, text),) = shown
    assert kind == "info" and text.startswith("imported sdxl_simple_example/standard (image)")
    folder = ctx.config.home / "workflows" / "sdxl_simple_example" / "standard"
    assert json.loads((folder / "template.json").read_text())["parameters"]["prompt"]


def test_a_bad_file_says_one_line(app, root, tmp_path, shown, monkeypatch):
    bad = tmp_path / "notes.json"
    bad.write_text('{"keys": []}')
    monkeypatch.setattr(workflow_import.filedialog, "askopenfilename", lambda **_kw: str(bad))
    app.workflows.ask()
    assert pump_until(root, lambda: shown)
    ((kind, text),) = shown
    assert kind == "error" and "not a ComfyUI workflow" in text and "\n" not in text


def test_a_dropped_file_is_imported(app, root, ctx, shown):
    target = app.prompts.tree  # any widget inside the window: the drop finds the registered one
    x, y = target.winfo_rootx() + 5, target.winfo_rooty() + 5
    path = CORPUS / "api" / "examples_lora_lora.json"
    tcl = root.tk
    tcl.call("tkdnd::xdnd::HandleXdndEnter", str(target), 0, ("text/uri-list",), 0)
    assert tcl.call("tkdnd::xdnd::HandleXdndPosition", str(target), x, y, 0) == "copy"
    tcl.call("tkdnd::generic::SetDroppedData", path.as_uri())
    tcl.call("tkdnd::generic::HandleDrop", "", "", "", x, y, 0)
    assert pump_until(root, lambda: shown)
    assert shown[0][0] == "info", shown
    assert (ctx.config.home / "workflows" / "examples_lora_lora" / "standard").is_dir()
