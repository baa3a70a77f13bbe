"""The bundled workflows/ templates load, match both fake ComfyUI profiles' object_info, and run
end to end on them: 0.3.64 (recorded) and current (the newest sources)."""

from __future__ import annotations

import dataclasses
import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from core.models import MediaKind, template_values, validate_data
from executors.demo_server.catalog import DATA as SERVER_DATA
from executors.demo_server.profiles import PROFILES
from executors.demo_server.server import ComfyServer
from executors.templates import (
    BUNDLED_DIR,
    QUALITIES,
    Template,
    TemplateSet,
    check_against_object_info,
    load_templates,
    render,
    template_warnings,
)
from tests.comfyui_server.probe import Probe

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
    "create_audio": set(QUALITIES),
    "create_video": {"low", "standard", "high"},
}
# ACE-Step 1.5 is core from ComfyUI 0.11.1 on: a 0.3.64 server cannot run the songs
NEEDS_CURRENT = {"create_audio"}
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
        "tempo": 96,
    },
    "video": {"prompt": "a fox runs through snow", "frames": 33, "fps": 16},
}
SAVED = {"image": {".png"}, "audio": {".mp3", ".flac"}, "video": {".mp4"}}


@pytest.fixture(scope="module")
def bundled() -> TemplateSet:
    return load_templates([BUNDLED_DIR])


@pytest.fixture(scope="module", params=PROFILES)
def server(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[ComfyServer]:
    """One fake ComfyUI per profile for the whole module (a fresh output folder each)."""
    started = ComfyServer(tmp_path_factory.mktemp("comfyui"), profile=request.param)
    started.start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def object_info(server: ComfyServer) -> dict[str, Any]:
    return requests.get(f"{server.url}/object_info", timeout=30).json()


@pytest.fixture(scope="module")
def node_names() -> set[str]:
    """Real ComfyUI node classes: the recorded 0.3.64 ones and those of current servers."""
    names = json.loads((DATA / "object_info_node_names.json").read_text("utf-8"))["names"]
    current = (SERVER_DATA / "object_info_current.json").read_text("utf-8")
    return set(names) | set(json.loads(current))


def all_templates(backend: str = "comfyui") -> list[Template]:
    """The bundled templates of one backend family, by name."""
    templates = load_templates([BUNDLED_DIR]).templates.values()
    return sorted((t for t in templates if t.backend == backend), key=lambda t: t.name)


def rendered(template: Template, object_info: dict[str, Any]) -> Template:
    """The template as Takeboard sends it to this server, with the sample prompt's values."""
    kind = MediaKind(template.kind)
    values = template_values(kind, validate_data(kind, SAMPLE_DATA[template.kind]))
    result = render(template, values, object_info=object_info, rng=random.Random(0))
    return dataclasses.replace(template, workflow=result.graph)


def run_on(server: ComfyServer, graph: dict[str, Any]) -> dict[str, Any]:
    """Submit `graph` and wait for it; the history entry of the finished prompt."""
    probe = Probe(server.url, uuid.uuid4().hex, False)
    try:
        prompt_id = str(uuid.uuid4())
        body = {"prompt": graph, "client_id": probe.client_id, "prompt_id": prompt_id}
        answer = requests.post(f"{server.url}/prompt", json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        probe.until_done(prompt_id, timeout=60)
    finally:
        probe.ws.close(timeout=0.2)
    history = requests.get(f"{server.url}/history/{prompt_id}", timeout=10).json()
    return history[prompt_id]


def saved_files(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        item
        for output in entry["outputs"].values()
        for key in ("images", "audio", "gifs", "video")
        for item in output.get(key, [])
        if item.get("type") == "output"
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
def test_graph_matches_each_profiles_object_info(
    template: Template, server: ComfyServer, object_info: dict[str, Any]
) -> None:
    problems = check_against_object_info(template, object_info)
    if server.profile == "0.3.64" and template.function in NEEDS_CURRENT:
        assert problems == [
            'node 94 (TextEncodeAceStepAudio1.5 "Song Text"), node 98 '
            "(EmptyAceStep1.5LatentAudio) need node classes TextEncodeAceStepAudio1.5, "
            "EmptyAceStep1.5LatentAudio, which this server does not have — template "
            f"{template.name} needs ComfyUI >=0.11.1: update the server, or use another one"
        ]
    else:
        assert problems == []


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
def test_runs_end_to_end_on_each_profile(
    template: Template, server: ComfyServer, object_info: dict[str, Any]
) -> None:
    sent = rendered(template, object_info)
    if server.profile == "0.3.64" and template.function in NEEDS_CURRENT:
        answer = requests.post(f"{server.url}/prompt", json={"prompt": sent.workflow}, timeout=10)
        assert answer.status_code == 400 and "TextEncodeAceStepAudio1.5" in answer.text
        return
    kind = MediaKind(template.kind)
    values = template_values(kind, validate_data(kind, SAMPLE_DATA[template.kind]))
    for name in ("prompt", "lyrics", "tags", "width", "height", "frames", "duration_s", "tempo"):
        if name in template.parameters and values.get(name) is not None:
            spec = template.parameters[name]
            assert sent.workflow[spec.node_id]["inputs"][spec.input_name] == values[name], name
    assert check_against_object_info(sent, object_info) == []
    entry = run_on(server, sent.workflow)
    assert entry["status"]["status_str"] == "success"
    (saved,) = saved_files(entry)
    assert Path(saved["filename"]).suffix in SAVED[template.kind]
    view = requests.get(f"{server.url}/view", params=saved, timeout=10)
    assert view.status_code == 200 and len(view.content) > 100


@pytest.fixture(scope="module")
def current(tmp_path_factory: Any) -> Iterator[ComfyServer]:
    started = ComfyServer(tmp_path_factory.mktemp("current"), profile="current")
    started.start()
    yield started
    started.stop()


@pytest.mark.parametrize("tier", ["standard", "premium"])
def test_song_saver_follows_the_server(
    bundled: TemplateSet, current: ComfyServer, tier: str
) -> None:
    """SaveAudioAdvanced where the server has it, else the older saver (its fallback)."""
    server = current
    object_info = requests.get(f"{server.url}/object_info", timeout=30).json()
    template = bundled.get("create_audio", tier)
    assert template is not None
    newest = rendered(template, object_info).workflow
    assert {n["class_type"] for n in newest.values()} >= {"SaveAudioAdvanced"}
    older = {k: v for k, v in object_info.items() if k != "SaveAudioAdvanced"}
    graph = rendered(template, older).workflow
    saver = {"standard": "SaveAudioMP3", "premium": "SaveAudio"}[tier]
    assert saver in {n["class_type"] for n in graph.values()}
    assert "SaveAudioAdvanced" not in {n["class_type"] for n in graph.values()}
    (saved,) = saved_files(run_on(server, graph))
    assert Path(saved["filename"]).suffix == {"standard": ".mp3", "premium": ".flac"}[tier]
    # the older savers are deprecated on current servers: a warning, not a failure
    warnings = template_warnings(dataclasses.replace(template, workflow=graph), object_info)
    assert warnings == [
        f'create_audio/{tier}: node 104 ({saver} "{graph["104"]["_meta"]["title"]}") is '
        "deprecated on this server — it still runs; update the template"
    ]
    assert template_warnings(template, object_info) == []


def test_video_saver_uses_dotted_v3_inputs_where_declared(
    bundled: TemplateSet, object_info: dict[str, Any], server: ComfyServer
) -> None:
    template = bundled.get("create_video", "standard")
    assert template is not None
    saver = rendered(template, object_info).workflow["61"]["inputs"]
    if server.profile == "current":
        assert (saver["format"], saver["format.codec"]) == ("mp4", "h264")
    else:
        assert (saver["format"], saver["codec"]) == ("mp4", "h264")
        assert "format.codec" not in saver


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


def test_functions_json_shows_requires_and_refused_user_templates(cli: Any, home: Path) -> None:
    broken = home / "workflows" / "create_video" / "standard"
    broken.mkdir(parents=True)
    (broken / "template.json").write_text('{"function": "create_video",', encoding="utf-8")
    code, out, err = cli("functions", "--json")
    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["create_audio"]["requires"] == {
        "comfyui": ">=0.11.1",
        "models": ["checkpoints/ace_step_1.5_turbo_aio.safetensors"],
    }
    assert rows["create_video"]["requires"]["comfyui"] == ">=0.3.46"
    (warning,) = rows["create_video"]["warnings"]
    assert warning.startswith(f"template {broken / 'template.json'}: is not valid JSON")
    assert warning.endswith("— fix the file, or remove its folder")
    assert "standard" not in rows["create_video"]["tiers"]
    assert rows["create_image"]["warnings"] == []
    assert f"{broken / 'template.json'}" in err  # and loudly on stderr


def test_a_broken_user_workflow_is_refused_when_its_tier_runs(
    cli: Any, home: Path, comfy_server: ComfyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15 item 9: never the bundled graph in its place, and one line saying why."""
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", comfy_server.url)  # default retry: no waiting
    folder = home / "workflows" / "create_image" / "standard"
    folder.mkdir(parents=True)
    bundled = BUNDLED_DIR / "create_image" / "standard"
    (folder / "template.json").write_text((bundled / "template.json").read_text("utf-8"))
    (folder / "workflow.json").write_text('{"3": {"class_type": ', encoding="utf-8")
    code, out, err = cli("prompt", "add", "--kind", "image", "--title", "t", "--data",
                         '{"prompt": "a fox"}')  # fmt: skip
    assert code == 0, err
    code, out, err = cli("generate", out.strip(), "--wait", "--json")
    (result,) = json.loads(out)
    assert code == 1 and result["status"] == "failed" and result["error_kind"] == "template"
    assert result["error"] == (
        f"template {folder / 'workflow.json'}: is not valid JSON: Expecting value at line 1 "
        "column 22 — fix the file, or remove its folder"
    )
    assert requests.get(f"{comfy_server.url}/history", timeout=10).json() == {}  # nothing ran
