"""The editor's function picker and parameter controls on the real window under Xvfb: a
workflow imported from the window runs at once (the engine reloads its templates), the editor
shows its parameters as spin boxes, dropdowns (the model list too) and an Advanced expander,
the values are saved in the prompt's params and reach the workflow sent to the project's
ComfyUI protocol server; file fields have a picker; Add tier… writes a tier that runs."""

from __future__ import annotations

import shutil
from pathlib import Path
from tkinter import ttk

import pytest
import requests

from app.application import Application
from app.param_controls_state import FunctionCatalog
from app.views import param_controls, workflow_import
from app.views.editor import DEBOUNCE_MS, PromptEditor
from app.views.tier_dialog import TierDialog
from executors.templates import load_templates, template_dirs
from executors.workflow_import.catalog import ObjectInfo, ObjectInfoCache, core_catalog
from executors.workflow_import.importer import ImportOptions, import_workflow
from tests.gui.conftest import pump, pump_until, saved_id, wired

API = Path(__file__).resolve().parent.parent / "data" / "workflows" / "api"
FLUX = API / "examples_flux_flux_dev_checkpoint_example.json"
IMG2IMG = API / "examples_img2img_img2img_workflow.json"


def settle(root) -> None:
    pump(root, DEBOUNCE_MS + 60)


@pytest.fixture
def app(root, ctx, comfy_server, monkeypatch):
    monkeypatch.setattr(workflow_import.messagebox, "showinfo", lambda *a, **k: None)
    context = wired(ctx, comfy_server.url)
    (server,) = context.config.comfyui_servers  # its /object_info seen before (a job ran)
    info = requests.get(f"{comfy_server.url}/object_info", timeout=10).json()
    ObjectInfoCache(context.config.home).save(server.name, info)
    window = Application(root, context)
    root.geometry("1200x900+0+0")
    pump(root)
    yield window
    window.stop_engine()
    window.bridge.stop()


def import_from_window(app, root, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.json"
    shutil.copy(FLUX, path)
    app.workflows.start(path)
    assert pump_until(root, lambda: app.functions.get(name) is not None)


def pick_function(root, editor: PromptEditor, name: str) -> param_controls.ParamControls:
    editor.inputs["function"].widget.set(name)  # what choosing it in the dropdown does
    settle(root)
    return editor.param_controls


def test_imported_function_controls_reach_the_sent_workflow(app, root, ctx, tmp_path):
    import_from_window(app, root, tmp_path, "my_flux")  # no restart: runs at once
    app.new("image")
    editor = app.editor
    editor.title_var.set("boat")
    editor.inputs["prompt"].set("a red boat")
    assert "my_flux" in editor.inputs["function"].widget.cget("values")
    panel = pick_function(root, editor, "my_flux")
    steps, sampler = panel.inputs["steps"].widget, panel.inputs["sampler"].widget
    checkpoint = panel.inputs["checkpoint"].widget
    assert isinstance(steps, ttk.Spinbox) and isinstance(sampler, ttk.Combobox)
    assert {"flux1-dev-fp8.safetensors", "sd_v1-5.safetensors"} <= set(checkpoint.cget("values"))
    assert {"prompt", "negative_prompt", "seed"}.isdisjoint(panel.inputs)  # form fields
    guidance = panel.inputs["fluxguidance_guidance"].widget
    assert not guidance.winfo_ismapped()  # advanced: behind the expander
    panel.advanced_toggle.invoke()
    pump(root)
    assert guidance.winfo_ismapped()
    steps.set("6")
    steps.event_generate("<<Increment>>")  # the spin box's up arrow
    sampler.set("dpmpp_2m")
    checkpoint.set("sd_v1-5.safetensors")  # from the server's list, not the workflow's
    guidance.set("2.5")
    settle(root)
    prompt_id = saved_id(root, editor)
    data = ctx.prompts.get(prompt_id).data
    assert data["function"] == "my_flux"
    assert data["params"] == {
        "steps": 7,
        "sampler": "dpmpp_2m",
        "checkpoint": "sd_v1-5.safetensors",
        "fluxguidance_guidance": 2.5,
    }
    app.generate([prompt_id])
    assert pump_until(root, lambda: ctx.artifacts.for_prompt(prompt_id), 60)
    (take,) = ctx.artifacts.for_prompt(prompt_id)
    graph = take.metadata["workflow"]
    assert graph["31"]["inputs"]["steps"] == 7
    assert graph["31"]["inputs"]["sampler_name"] == "dpmpp_2m"
    assert graph["35"]["inputs"]["guidance"] == 2.5
    assert graph["30"]["inputs"]["ckpt_name"] == "sd_v1-5.safetensors"
    assert graph["6"]["inputs"]["text"] == "a red boat"
    assert take.metadata["template"]["function"] == "my_flux"


def test_add_tier_from_the_editor_runs_at_once(app, root, ctx, tmp_path):
    import_from_window(app, root, tmp_path, "my_flux")
    app.new("image")
    editor = app.editor
    editor.title_var.set("harbour")
    editor.inputs["prompt"].set("a quiet harbour")
    panel = pick_function(root, editor, "my_flux")
    buttons = [w for w in panel.winfo_children() if isinstance(w, ttk.Button)]
    (add,) = [b for b in buttons if b.cget("text") == "Add tier…"]
    add.invoke()
    (dialog,) = [w for w in editor.winfo_children() if isinstance(w, TierDialog)]
    dialog.settings.set("steps=9 width=512")
    dialog.submit()
    assert pump_until(root, lambda: not dialog.winfo_exists())
    assert "tier my_flux/low (steps=9, width=512)" in editor.status_label.cget("text")
    assert app.control.templates.tiers("my_flux") == ("low", "standard")
    assert pump_until(root, lambda: app.functions.get("my_flux").tiers == ("low", "standard"))
    editor.inputs["quality"].set("low")
    settle(root)
    prompt_id = saved_id(root, editor)
    app.generate([prompt_id])
    assert pump_until(root, lambda: ctx.artifacts.for_prompt(prompt_id), 60)
    (take,) = ctx.artifacts.for_prompt(prompt_id)
    graph = take.metadata["workflow"]
    assert (graph["31"]["inputs"]["steps"], graph["27"]["inputs"]["width"]) == (9, 512)
    assert take.metadata["tier"] == "low"


@pytest.fixture
def offline_editor(root, ctx, tmp_path) -> PromptEditor:
    """The editor alone, over a function imported with the core catalog (no server)."""
    for source, name in ((FLUX, "my_flux"), (IMG2IMG, "my_img2img")):
        import_workflow(
            source, tmp_path, ImportOptions(function=name), ObjectInfo(core_catalog(), None)
        )
    catalog = FunctionCatalog()
    catalog.build(load_templates(template_dirs(tmp_path)), dict)
    editor = PromptEditor(root, ctx.prompts, lambda _id: None, functions=catalog)
    editor.pack(fill="both", expand=True)
    root.geometry("1000x900+0+0")
    pump(root)
    return editor


def test_a_bad_value_names_the_parameter_and_blocks_save(root, offline_editor):
    editor = offline_editor
    editor.title_var.set("lighthouse")
    editor.inputs["prompt"].set("a lighthouse")
    panel = pick_function(root, editor, "my_flux")
    panel.inputs["steps"].widget.set("0")
    settle(root)
    shown = editor.error_labels["data.params"]
    assert "params.steps: 0 is out of range" in shown.cget("text") and shown.winfo_ismapped()
    assert editor.save() is False
    panel.inputs["steps"].widget.set("")  # empty: the template decides again
    settle(root)
    assert editor.save()


def test_file_fields_have_a_picker(root, offline_editor, tmp_path, monkeypatch):
    editor = offline_editor
    picture = tmp_path / "boat.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")
    monkeypatch.setattr(param_controls.filedialog, "askopenfilename", lambda **_kw: str(picture))
    editor.title_var.set("repaint")
    editor.inputs["prompt"].set("a boat, repainted")
    pick_function(root, editor, "my_img2img")
    reference = editor.inputs["reference_image"]
    assert isinstance(reference.widget, ttk.Frame) and reference.button.cget("text") == "…"
    reference.button.invoke()
    settle(root)
    assert editor.state.values["reference_image"] == str(picture)
    assert editor.save()  # alone, the editor writes inline
    prompt_id = editor.prompt_id
    assert editor.prompts.get(prompt_id).data["reference_image"] == str(picture)
