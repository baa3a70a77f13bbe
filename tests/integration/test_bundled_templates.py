"""The bundled workflows/ templates load cleanly and match the recorded ComfyUI object_info."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import pytest

from core.models import MediaKind, template_values, validate_data
from executors.templates import (
    BUNDLED_DIR,
    QUALITIES,
    Template,
    TemplateSet,
    check_against_object_info,
    load_templates,
    render,
)

DATA = Path(__file__).resolve().parent.parent / "data"
LOADER_FOLDERS = {
    ("CheckpointLoaderSimple", "ckpt_name"): {"checkpoints"},
    ("UNETLoader", "unet_name"): {"diffusion_models", "unet"},
    ("CLIPLoader", "clip_name"): {"text_encoders", "clip"},
    ("DualCLIPLoader", "clip_name1"): {"text_encoders", "clip"},
    ("DualCLIPLoader", "clip_name2"): {"text_encoders", "clip"},
    ("VAELoader", "vae_name"): {"vae"},
}
EXPECTED_TIERS = {
    "create_image": set(QUALITIES),
    "create_image_sd15": set(QUALITIES),
    "create_image_flux": set(QUALITIES),
    "create_audio": {"standard", "high"},
    "create_video": {"low", "standard"},
}
SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "image": {
        "prompt": 'a "red" fox {in snow}\nwide shot',
        "aspect_ratio": "16:9",
        "style_tags": ["ink", "watercolor"],
        "seed": 1234,
    },
    "audio": {
        "lyrics": '[verse]\nhello {world}\n[chorus]\n"la la"',
        "tags": ["pop", "female vocals"],
        "duration_s": 30,
    },
    "video": {"prompt": "a fox runs through snow", "duration_s": 2, "fps": 16},
}


@pytest.fixture(scope="module")
def bundled() -> TemplateSet:
    return load_templates([BUNDLED_DIR])


@pytest.fixture(scope="module")
def object_info() -> dict[str, Any]:
    info = json.loads((DATA / "object_info_subset.json").read_text(encoding="utf-8"))
    extra = DATA / "object_info_extra.json"
    if extra.exists():
        info.update(json.loads(extra.read_text(encoding="utf-8")))
    return info


@pytest.fixture(scope="module")
def node_names() -> set[str]:
    return set(json.loads((DATA / "object_info_node_names.json").read_text("utf-8"))["names"])


def all_templates(backend: str = "comfyui") -> list[Template]:
    """The bundled templates of one backend family, by name."""
    templates = load_templates([BUNDLED_DIR]).templates.values()
    return sorted((t for t in templates if t.backend == backend), key=lambda t: t.name)


def server_problems(template: Template, object_info: dict[str, Any]) -> list[str]:
    """Problems other than nodes the recording lacks and model files the server lacked."""
    return [
        problem
        for problem in check_against_object_info(template, object_info)
        if "which this server does not have" not in problem
        and "is missing on the server — download it" not in problem
    ]


def test_every_bundled_template_loads(bundled: TemplateSet) -> None:
    assert bundled.errors == []
    for function, tiers in EXPECTED_TIERS.items():
        assert tiers <= set(bundled.tiers(function)), function


def test_registry_kinds_and_defaults(bundled: TemplateSet) -> None:
    infos = {info.name: info for info in bundled.functions()}
    for kind in ("image", "audio", "video"):
        assert infos[bundled.default_function(kind)].kind == kind
    for info in infos.values():
        assert info.schema["properties"], info.name
        if info.backend in ("comfyui", "wangp"):  # generators; a voice conversion has no seed
            assert "seed" in info.schema["properties"], info.name
        json.dumps(info.schema)


@pytest.mark.parametrize("template", all_templates(), ids=lambda t: t.name)
def test_graph_uses_real_nodes(template: Template, node_names: set[str]) -> None:
    for node_id, node in template.workflow.items():
        assert node["class_type"] in node_names, f"node {node_id}: {node['class_type']}"


@pytest.mark.parametrize("template", all_templates(), ids=lambda t: t.name)
def test_graph_matches_recorded_object_info(
    template: Template, object_info: dict[str, Any]
) -> None:
    checked = [n for n in template.workflow.values() if n["class_type"] in object_info]
    assert checked, "no node of this graph is in the recorded object_info"
    assert server_problems(template, object_info) == []


@pytest.mark.parametrize("template", all_templates(), ids=lambda t: t.name)
def test_every_model_file_is_declared_in_its_folder(template: Template) -> None:
    declared = {model.name: model.folder for model in template.models}
    used = set()
    for node in template.workflow.values():
        for name, value in node["inputs"].items():
            folders = LOADER_FOLDERS.get((node["class_type"], name))
            if folders:
                assert declared.get(value) in folders, f"{value} not declared in {folders}"
                used.add(value)
    assert used == set(declared)


@pytest.mark.parametrize("template", all_templates(), ids=lambda t: t.name)
def test_outputs_use_a_plain_takeboard_prefix(template: Template) -> None:
    prefixes = [
        node["inputs"]["filename_prefix"]
        for node in template.workflow.values()
        if "filename_prefix" in node["inputs"]
    ]
    assert len(prefixes) == 1
    assert prefixes[0].startswith("takeboard/") and "%" not in prefixes[0]


@pytest.mark.parametrize("template", all_templates(), ids=lambda t: t.name)
def test_renders_prompt_values_within_server_limits(
    template: Template, object_info: dict[str, Any]
) -> None:
    kind = MediaKind(template.kind)
    values = template_values(kind, validate_data(kind, SAMPLE_DATA[template.kind]))
    rendered = render(template, values, object_info=object_info, rng=random.Random(0))
    json.dumps(rendered.graph)
    used = rendered.values_used
    for name in ("prompt", "lyrics", "tags", "width", "height", "frames", "duration_s"):
        if name in template.parameters and values.get(name) is not None:
            assert used[name] == values[name], name
    assert rendered.seed is not None
    if kind is MediaKind.IMAGE:
        assert rendered.seed == 1234
    sent = dataclasses.replace(template, workflow=rendered.graph)
    assert server_problems(sent, object_info) == []


OTHER_BACKENDS = all_templates("wangp") + all_templates("command") + all_templates("gradio")


@pytest.mark.parametrize("template", OTHER_BACKENDS, ids=lambda t: t.name)
def test_other_backends_render_a_flat_request(template: Template, tmp_path: Path) -> None:
    recording = tmp_path / "take.wav"
    recording.write_bytes(b"RIFF")
    data = {**SAMPLE_DATA[template.kind]}
    if template.function.startswith("voice_convert"):
        data.update(task="voice", source_audio=str(recording))
    elif template.function == "sound_effect":
        data = {"task": "sfx", "prompt": "rain on a tin roof", "duration_s": 4}
    kind = MediaKind(template.kind)
    values = template_values(kind, validate_data(kind, data))
    rendered = render(template, values, rng=random.Random(0))
    request = template.request(rendered.graph)
    inputs = request["inputs"]
    assert all(not isinstance(v, dict | list) for v in inputs.values())  # flat
    assert request.keys() - {"inputs"} == set(template.call)
    if template.backend == "wangp":
        assert inputs["prompt"] == "a fox runs through snow" and inputs["video_length"] == 33
        assert inputs["seed"] == rendered.seed and inputs["model_type"]
    elif template.function == "sound_effect":
        assert (inputs["prompt"], inputs["duration"]) == ("rain on a tin roof", 4)
    else:
        assert str(recording) in inputs.values()


def test_readme_documents_every_function_and_model(bundled: TemplateSet) -> None:
    readme = (BUNDLED_DIR / "README.md").read_text(encoding="utf-8")
    for template in bundled.templates.values():
        assert template.function in readme
        for model in template.models:
            assert model.name in readme, model.name
