"""File → Import takes… in the real window: the folder is imported on a worker thread, the
dialog shows progress and the summary, Cancel stops after the file in hand."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app import application
from app.views.import_dialog import ImportDialog
from executors.library_import.importer import LibraryImport
from main import build_takes
from tests.gui.conftest import pump, pump_until
from tests.library_outputs import make_outputs

FILES = 12


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_outputs(tmp_path_factory.mktemp("comfyui"))


def dialog_of(root) -> ImportDialog:
    (dialog,) = [w for w in root.winfo_children() if isinstance(w, ImportDialog)]
    return dialog


def test_import_takes_from_the_file_menu(app, root, ctx, outputs, monkeypatch):
    menu = root.nametowidget(root["menu"])
    file_menu = root.nametowidget(menu.entrycget("File", "menu"))
    labels = [file_menu.entrycget(i, "label") for i in range(file_menu.index("end") + 1)
              if file_menu.type(i) == "command"]  # fmt: skip
    assert "Import takes…" in labels
    monkeypatch.setattr(application.filedialog, "askdirectory", lambda **_kw: str(outputs))
    file_menu.invoke("Import takes…")  # a Tk menu index may be an entry's label
    dialog = dialog_of(root)
    assert pump_until(root, lambda: dialog.summary is not None and dialog.button["text"] == "Close")
    assert dialog.summary.imported == FILES and not dialog.summary.cancelled
    assert dialog.bar["value"] == dialog.bar["maximum"] == FILES
    assert dialog.status["text"].startswith(f"imported {FILES} of {FILES} files")
    assert ctx.artifacts.count() == FILES
    assert all(a.preview_path for a in ctx.artifacts.page())  # made before the dialog says done
    dialog.button.invoke()
    pump(root)
    assert not dialog.winfo_exists()


class HeldPrompts:
    """The real prompt repository; the first new prompt waits until the test lets it go."""

    def __init__(self, prompts):
        self.prompts, self.go = prompts, threading.Event()

    def add(self, *args, **kwargs):
        assert self.go.wait(10)
        return self.prompts.add(*args, **kwargs)

    def get(self, prompt_id):
        return self.prompts.get(prompt_id)


def test_cancel_stops_after_the_file_in_hand_and_keeps_it(root, ctx, outputs):
    prompts = HeldPrompts(ctx.prompts)
    importer = LibraryImport(prompts, ctx.artifacts, build_takes(ctx.config, ctx.artifacts))
    done = []
    dialog = ImportDialog(root, importer, outputs, on_done=lambda: done.append(True))
    pump(root)
    dialog.button.invoke()  # Cancel while the first file is in hand
    assert dialog.cancel.is_set() and str(dialog.button["state"]) == "disabled"
    prompts.go.set()
    assert pump_until(root, lambda: done == [True])
    assert dialog.summary.cancelled and dialog.summary.imported == 1
    assert ctx.artifacts.count() == 1
    assert "stopped before the end" in dialog.status["text"]
    dialog.destroy()
