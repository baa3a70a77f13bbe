"""A function's parameter schema → the editor's controls, and their values ↔ the prompt's
params (plain Python); the catalog built from real templates: one imported from a corpus
workflow with a server's object_info, and the bundled ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.editor_state import form_fields
from app.param_controls_state import (
    Control,
    FunctionCatalog,
    control,
    controls_for,
    errors,
    merge_params,
    texts_from_params,
    to_value,
)
from executors.templates import load_templates, template_dirs
from executors.workflow_import.catalog import ObjectInfo, core_catalog
from executors.workflow_import.importer import ImportOptions, import_workflow

DATA = Path(__file__).resolve().parent.parent / "data"
FLUX = DATA / "workflows" / "api" / "examples_flux_flux_dev_checkpoint_example.json"


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ({"type": "integer", "minimum": 1, "maximum": 100}, Control("n", "spin", (), 1, 100, True)),
        ({"type": "number", "minimum": 0.0, "maximum": 1.0}, Control("n", "spin", (), 0.0, 1.0)),
        ({"type": "number"}, Control("n", "spin")),
        ({"type": "string", "enum": ["euler", "ddim"]}, Control("n", "choice", ("euler", "ddim"))),
        ({"type": "boolean"}, Control("n", "choice", ("true", "false"), boolean=True)),
        ({"type": "string", "format": "file-path"}, Control("n", "file")),
        ({"type": "string"}, Control("n", "text")),
    ],
)
def test_schema_types_become_controls(prop, expected):
    assert control("n", prop) == expected


def test_hint_advanced_and_increment():
    spin = control("cfg", {"type": "number", "default": 7.0, "advanced": True}, 3.5)
    assert (spin.hint, spin.advanced, spin.increment) == ("7", True, 0.1)
    assert control("cfg", {"type": "number"}, 3.5).hint == "3.5"  # the workflow's value
    assert control("d", {"type": "number", "minimum": 0, "maximum": 1}).increment == 0.01
    assert control("s", {"type": "integer"}).increment == 1


def test_texts_and_params_both_ways():
    controls = [
        control("steps", {"type": "integer", "minimum": 1, "maximum": 100}),
        control("cfg", {"type": "number"}),
        control("sampler", {"type": "string", "enum": ["euler", "ddim"]}),
        control("tiled", {"type": "boolean"}),
    ]
    params = {"steps": 12, "cfg": 3.5, "tiled": False, "style": "ink"}
    texts = texts_from_params(controls, params)
    assert texts == {"steps": "12", "cfg": "3.5", "sampler": "", "tiled": "false"}
    texts = {**texts, "steps": "", "sampler": "ddim", "cfg": "4"}
    merged = merge_params(controls, texts, params)
    assert merged == {"cfg": 4, "sampler": "ddim", "tiled": False, "style": "ink"}
    assert to_value(controls[0], " 9x ") == "9x"  # stays text: errors names it


def test_errors_name_the_parameter():
    steps = control("steps", {"type": "integer", "minimum": 1, "maximum": 100})
    sampler = control("sampler", {"type": "string", "enum": ["euler"]})
    assert errors([steps, sampler], {"steps": 5, "sampler": "euler"}) == {}
    assert errors([steps], {"steps": 0}) == {
        "data.params": "params.steps: 0 is out of range — give 1…100"
    }
    assert "expected a whole number, got '9x'" in errors([steps], {"steps": "9x"})["data.params"]
    assert "'ddim' is not a choice" in errors([sampler], {"sampler": "ddim"})["data.params"]


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    """A real corpus workflow imported with the recorded 0.3.64 object_info."""
    info = ObjectInfo(core_catalog(), None)  # the shipped 0.3.64 catalog of core nodes
    import_workflow(FLUX, tmp_path, ImportOptions(function="my_flux"), info)
    return tmp_path


def test_catalog_of_an_imported_function(imported: Path):
    catalog = FunctionCatalog()
    server = {
        "gpu": {
            "CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [["a.safetensors"]]}}}
        }
    }
    catalog.build(load_templates(template_dirs(imported)), lambda: server)
    assert catalog.generation == 1 and catalog.loaded.is_set()
    assert "my_flux" in catalog.names("image") and "my_flux" not in catalog.names("audio")
    choice = catalog.get("my_flux")
    by_name = {c.name: c for c in controls_for("image", choice)}
    assert not {"prompt", "negative_prompt", "seed"} & set(by_name)  # the form has them
    steps = by_name["steps"]
    assert (steps.widget, steps.integer, steps.minimum, steps.maximum) == ("spin", True, 1, 10000)
    assert steps.hint == "20"  # the workflow's value
    assert by_name["sampler"].widget == "choice" and "euler" in by_name["sampler"].choices
    assert by_name["checkpoint"].widget == "choice"
    assert "a.safetensors" in by_name["checkpoint"].choices  # the server's model list
    assert by_name["fluxguidance_guidance"].advanced
    names = list(by_name)
    assert names.index("fluxguidance_guidance") > names.index("steps")  # advanced ones last


def test_file_parameters_get_pickers(tmp_path: Path):
    """LoadImage of a real img2img workflow: its parameter is the prompt's reference_image,
    which the form shows with a picker; a file parameter of another name gets one below."""
    img2img = DATA / "workflows" / "api" / "examples_img2img_img2img_workflow.json"
    import_workflow(
        img2img, tmp_path, ImportOptions(function="my_img2img"), ObjectInfo(core_catalog(), None)
    )
    catalog = FunctionCatalog()
    catalog.build(load_templates(template_dirs(tmp_path)), dict)
    choice = catalog.get("my_img2img")
    assert choice.schema["properties"]["reference_image"]["format"] == "file-path"
    assert "reference_image" not in {c.name for c in controls_for("image", choice)}
    assert {f.name: f.widget for f in form_fields("image")}["reference_image"] == "file"
    assert control("mask", choice.schema["properties"]["reference_image"]).widget == "file"
