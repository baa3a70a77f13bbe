"""Workflow templates: loading, registry, tier fallback, schema, rendering, object_info."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from core.errors import InputError, TemplateError
from executors import templates as tpl
from executors.object_info import combo_options
from executors.templates import (
    BrokenTemplate,
    check_against_object_info,
    default_function,
    load_template,
    load_templates,
    render,
    template_dirs,
)

GRAPH: dict[str, Any] = {
    "4": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "model.safetensors"},
        "_meta": {"title": "Load Checkpoint"},
    },
    "6": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "positive", "clip": ["4", 1]},
        "_meta": {"title": "Positive v1.2"},
    },
    "7": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "negative", "clip": ["4", 1]},
        "_meta": {"title": "Negative"},
    },
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 0,
            "steps": 20,
            "cfg": 7.0,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1.0,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "5": {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 512, "height": 512, "batch_size": 1},
    },
    "10": {
        "class_type": "LoadImage",
        "inputs": {"image": "example.png"},
        "_meta": {"title": "Reference"},
    },
    "9": {
        "class_type": "SaveImage",
        "inputs": {"filename_prefix": "takeboard/image", "images": ["8", 0]},
        "_meta": {"title": "Save"},
    },
}

PARAMS: dict[str, Any] = {
    "prompt": {"target": "Positive v1.2.text", "type": "direct", "required": True},
    "negative_prompt": {"target": "7.text", "description": "what to avoid"},
    "width": {"target": "5.width", "value_type": "int", "min": 64, "max": 2048},
    "seed": {"target": "3.seed", "type": "seed"},
    "steps": {"target": "3.steps", "type": "direct", "default": 10},
    "cfg": {"target": "3.cfg", "value_type": "float", "default": 5.0},
    "sampler": {
        "target": "3.sampler_name",
        "type": "lookup",
        "lookup_table": {"fast": "euler", "fine": "dpmpp_2m"},
        "default": "fast",
    },
    "reference_image": {"target": "Reference.image", "type": "file_upload"},
}


def make(
    root: Path,
    fn: str = "create_image",
    tier: str = "standard",
    graph: Any = None,
    workflow_text: str | None = None,
    template_text: str | None = None,
    **fields: Any,
) -> Path:
    """A template folder under root; returns its template.json path."""
    folder = root / fn / tier
    folder.mkdir(parents=True, exist_ok=True)
    body = workflow_text if workflow_text is not None else json.dumps(graph or GRAPH)
    (folder / "workflow.json").write_text(body, encoding="utf-8")
    data = {
        "function": fn,
        "quality": tier,
        "kind": "image",
        "workflow": "workflow.json",
        "display_name": "Test image",
        "version": 1,
        "description": "a test template",
        "parameters": copy.deepcopy(PARAMS),
        "quality_parameters": {},
        "vram_gb": 6,
        "timeout_s": 600,
        "models": [{"folder": "checkpoints", "name": "model.safetensors", "url_hint": "x"}],
    }
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    path = folder / "template.json"
    path.write_text(template_text if template_text is not None else json.dumps(data), "utf-8")
    return path


def only_error(root: Path) -> BrokenTemplate:
    result = load_templates([root])
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def with_param(name: str, **spec: Any) -> dict[str, Any]:
    params = copy.deepcopy(PARAMS)
    params[name] = spec
    return params


# --- loading ------------------------------------------------------------------------------------


def test_valid_template_loads_with_all_fields(tmp_path: Path) -> None:
    make(tmp_path)
    result = load_templates([tmp_path])
    assert result.errors == []
    template = result.get("create_image", "standard")
    assert template is not None
    assert (template.function, template.quality, template.kind) == (
        "create_image",
        "standard",
        "image",
    )
    assert template.name == "create_image/standard"
    assert template.path == tmp_path / "create_image" / "standard"
    assert template.workflow == GRAPH
    assert template.vram_gb == 6 and template.timeout_s == 600 and template.version == 1
    assert template.models[0].folder == "checkpoints"
    prompt = template.parameters["prompt"]
    assert (prompt.node_id, prompt.input_name, prompt.required) == ("6", "text", True)
    assert "workflow" not in repr(template)


def test_target_by_title_with_dots_and_spaces_splits_on_last_dot(tmp_path: Path) -> None:
    template = load_template(make(tmp_path))
    assert template.parameters["prompt"].node_id == "6"
    assert template.parameters["reference_image"].node_id == "10"


BROKEN_CASES = [
    ("bad_json", {"template_text": "{not json"}, "is not valid JSON"),
    ("not_object", {"template_text": "[1, 2]"}, "must be a JSON object"),
    ("missing_keys", {"kind": None, "workflow": None}, "missing required key(s): kind, workflow"),
    ("bad_kind", {"kind": "sculpture"}, "kind 'sculpture' is not one of"),
    ("bad_function", {"function": "Create Image"}, "must be a lower-case name"),
    ("bad_workflow_name", {"workflow": 5}, "workflow must be a file name"),
    ("missing_workflow", {"workflow": "nope.json"}, "nope.json does not exist"),
    ("workflow_bad_json", {"workflow_text": "{"}, "is not valid JSON"),
    (
        "ui_format",
        {"workflow_text": json.dumps({"nodes": [], "links": [], "version": 0.4})},
        "export it with Save (API)",
    ),
    ("empty_graph", {"workflow_text": "{}"}, "not a ComfyUI API-format workflow"),
    ("not_api", {"workflow_text": json.dumps({"1": {"type": "x"}})}, "no class_type/inputs"),
    ("display_name", {"display_name": 3}, "display_name must be text"),
    ("version", {"version": 0}, "version must be a whole number"),
    ("vram", {"vram_gb": "lots"}, "vram_gb must be a positive number"),
    ("models_type", {"models": {"a": 1}}, "models must be a list"),
    ("models_entry", {"models": [{"folder": "vae"}]}, "needs text 'folder' and 'name'"),
    ("params_type", {"parameters": []}, "parameters must be an object"),
    ("param_type", {"parameters": {"prompt": "6.text"}}, "must be an object with a target"),
    ("param_name", {"parameters": {"Prompt!": {"target": "6.text"}}}, "must be a lower-case"),
    ("no_dot", {"parameters": {"prompt": {"target": "6"}}}, "must look like"),
    ("unknown_node", {"parameters": {"prompt": {"target": "99.text"}}}, "no node has id"),
    ("unknown_title", {"parameters": {"prompt": {"target": "Nope.text"}}}, "no node has id"),
    ("unknown_input", {"parameters": {"prompt": {"target": "6.txt"}}}, "has no input 'txt'"),
    ("link_target", {"parameters": {"clip": {"target": "6.clip"}}}, "is a link"),
    ("param_kind", {"parameters": with_param("x", target="6.text", type="magic")}, "type 'magic'"),
    (
        "direct_default",
        {"parameters": with_param("steps", target="3.steps", default="many")},
        "default 'many' is not a int",
    ),
    (
        "value_type_unknown",
        {"parameters": with_param("steps", target="3.steps", value_type="long")},
        "value_type 'long' is not one of",
    ),
    (
        "value_type_mismatch",
        {"parameters": with_param("steps", target="6.text", value_type="int")},
        "value_type int does not match",
    ),
    (
        "bounds_on_text",
        {"parameters": with_param("prompt", target="6.text", min=1)},
        "min/max only apply to numbers",
    ),
    (
        "bad_bound",
        {"parameters": with_param("steps", target="3.steps", max="ten")},
        "max must be a number",
    ),
    (
        "required_flag",
        {"parameters": with_param("prompt", target="6.text", required="yes")},
        "required must be true or false",
    ),
    (
        "description",
        {"parameters": with_param("prompt", target="6.text", description=5)},
        "description must be text",
    ),
    (
        "seed_not_int",
        {"parameters": with_param("seed", target="6.text", type="seed")},
        "seed target must hold a whole number",
    ),
    (
        "seed_default",
        {"parameters": with_param("seed", target="3.seed", type="seed", default=-1)},
        "seed default must be",
    ),
    (
        "lookup_empty",
        {"parameters": with_param("style", target="6.text", type="lookup", lookup_table={})},
        "non-empty lookup_table",
    ),
    (
        "lookup_default",
        {
            "parameters": with_param(
                "style", target="6.text", type="lookup", lookup_table={"a": "x"}, default="b"
            )
        },
        "default 'b' is not a key",
    ),
    (
        "lookup_value_type",
        {
            "parameters": with_param(
                "style", target="3.steps", type="lookup", lookup_table={"a": "x"}
            )
        },
        "lookup_table['a'] = 'x' is not a int",
    ),
    (
        "upload_target",
        {"parameters": with_param("ref", target="3.steps", type="file_upload")},
        "file_upload target must hold a file name",
    ),
    ("quality_params_type", {"quality_parameters": [1]}, "quality_parameters must be an object"),
    ("quality_unknown", {"quality_parameters": {"3.stepz": 4}}, "has no input 'stepz'"),
    ("quality_value", {"quality_parameters": {"3.steps": "x"}}, "does not fit"),
]


@pytest.mark.parametrize(
    ("fields", "reason"), [c[1:] for c in BROKEN_CASES], ids=[c[0] for c in BROKEN_CASES]
)
def test_broken_template_is_reported_and_others_still_load(
    tmp_path: Path, fields: dict[str, Any], reason: str
) -> None:
    make(tmp_path, "create_image", "high")
    bad = make(tmp_path, "create_image", "standard", **fields)
    result = load_templates([tmp_path])
    assert list(result.templates) == [("create_image", "high")]
    assert len(result.errors) == 1
    error = result.errors[0]
    assert isinstance(error, TemplateError)
    path, why = error
    assert reason in why
    assert path.parent == bad.parent
    assert str(path) in str(error) and reason in str(error)


def test_bad_quality_and_folder_mismatch(tmp_path: Path) -> None:
    make(tmp_path, quality="ultra")
    assert "quality 'ultra' is not one of" in only_error(tmp_path).reason
    other = tmp_path / "other"
    make(other, "create_image", "standard", quality="high")
    assert "rename the folder" in only_error(other).reason


def test_workflow_error_names_the_workflow_file(tmp_path: Path) -> None:
    make(tmp_path, workflow_text=json.dumps({"nodes": [], "links": []}))
    error = only_error(tmp_path)
    assert error.path.name == "workflow.json"


def test_ambiguous_title_is_rejected(tmp_path: Path) -> None:
    graph = copy.deepcopy(GRAPH)
    graph["7"]["_meta"]["title"] = "Positive v1.2"
    make(tmp_path, graph=graph)
    assert "is used by nodes 6, 7" in only_error(tmp_path).reason


def test_unreadable_template_is_an_error(tmp_path: Path) -> None:
    path = make(tmp_path)
    path.unlink()
    path.mkdir()
    assert "cannot be read" in only_error(tmp_path).reason


def test_load_template_raises_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="is not valid JSON"):
        load_template(make(tmp_path, template_text="nope"))


def test_missing_dir_is_skipped(tmp_path: Path) -> None:
    make(tmp_path)
    result = load_templates([tmp_path / "absent", tmp_path])
    assert result.errors == [] and len(result.templates) == 1


def test_user_template_overrides_bundled(tmp_path: Path) -> None:
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    make(bundled, display_name="Bundled")
    make(bundled, tier="high", display_name="Bundled high")
    make(user, display_name="Mine")
    result = load_templates([bundled, user])
    assert result.get("create_image", "standard").display_name == "Mine"
    assert result.get("create_image", "high").display_name == "Bundled high"


def test_broken_user_override_is_refused_not_replaced_by_bundled(tmp_path: Path) -> None:
    """Issue 15 item 9: a broken user workflow.json never silently runs the bundled one."""
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    make(bundled, display_name="Bundled")
    make(bundled, tier="high", display_name="Bundled high")
    folder = make(user, workflow_text='{"3": ').parent
    result = load_templates([bundled, user])
    assert result.get("create_image", "standard") is None
    assert result.errors[0].path == folder / "workflow.json"
    with pytest.raises(TemplateError) as refused:
        result.resolve("create_image", "standard")
    message = str(refused.value)
    assert "\n" not in message and str(folder / "workflow.json") in message
    assert "is not valid JSON" in message and "fix the file, or remove its folder" in message
    assert result.resolve("create_image", "high").template.display_name == "Bundled high"


def test_template_dirs_puts_user_last(tmp_path: Path) -> None:
    assert template_dirs(tmp_path) == [tpl.BUNDLED_DIR, tmp_path / "workflows"]


# --- registry and tiers -------------------------------------------------------------------------


@pytest.fixture
def tiered(tmp_path: Path) -> tpl.TemplateSet:
    make(tmp_path, "create_image", "standard", display_name="Image std")
    make(tmp_path, "create_image", "high", display_name="Image high")
    make(tmp_path, "create_audio", "premium", kind="audio", display_name="Song", version=3)
    result = load_templates([tmp_path])
    assert result.errors == []
    return result


def test_resolve_exact_tier(tiered: tpl.TemplateSet) -> None:
    resolution = tiered.resolve("create_image", "high")
    assert (resolution.tier, resolution.requested_tier, resolution.reason) == ("high", "high", "")
    assert not resolution.fell_back


def test_resolve_falls_back_to_next_lower_tier(tiered: tpl.TemplateSet) -> None:
    resolution = tiered.resolve("create_image", "premium")
    assert resolution.tier == "high" and resolution.fell_back
    assert resolution.template.quality == "high"
    assert resolution.reason == "no 'premium' template for create_image; ran 'high'"


def test_resolve_falls_back_up_when_nothing_lower(tiered: tpl.TemplateSet) -> None:
    assert tiered.resolve("create_image", "low").tier == "standard"
    resolution = tiered.resolve("create_audio", "standard")
    assert resolution.tier == "premium"
    assert resolution.reason == "no 'standard' template for create_audio; ran 'premium'"


def test_resolve_unknown_function_lists_known(tiered: tpl.TemplateSet) -> None:
    with pytest.raises(TemplateError, match="known functions: create_audio, create_image"):
        tiered.resolve("create_sculpture", "standard")
    with pytest.raises(TemplateError, match="no templates loaded"):
        tpl.TemplateSet().resolve("create_image")


def test_resolve_unknown_quality(tiered: tpl.TemplateSet) -> None:
    with pytest.raises(InputError, match="use one of: low, standard, high, premium"):
        tiered.resolve("create_image", "ultra")


def test_default_function() -> None:
    assert default_function("image") == "create_image"
    assert default_function("audio") == "create_audio"
    assert tpl.TemplateSet().default_function("video") == "create_video"
    with pytest.raises(InputError, match="kind"):
        default_function("text")


def test_functions_registry(tiered: tpl.TemplateSet) -> None:
    infos = {info.name: info for info in tiered.functions()}
    assert list(infos) == ["create_audio", "create_image"]
    image = infos["create_image"]
    assert image.tiers == ("standard", "high")
    assert (image.display_name, image.kind, image.version) == ("Image std", "image", 1)
    audio = infos["create_audio"]
    assert (audio.tiers, audio.kind, audio.version) == (("premium",), "audio", 3)


def test_json_schema_of_parameters(tiered: tpl.TemplateSet) -> None:
    schema = tiered.function_info("create_image").schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["title"] == "Image std"
    assert schema["required"] == ["prompt"]
    props = schema["properties"]
    assert props["prompt"]["type"] == "string"
    assert props["negative_prompt"]["description"] == "what to avoid"
    assert props["width"] == {"title": "width", "type": "integer", "minimum": 64, "maximum": 2048}
    assert props["steps"] == {"title": "steps", "type": "integer", "default": 10}
    assert props["cfg"]["type"] == "number" and props["cfg"]["default"] == 5.0
    assert props["seed"] == {"title": "seed", "type": "integer", "minimum": 0, "maximum": 2**32 - 1}
    assert props["sampler"]["enum"] == ["fast", "fine"]
    assert props["sampler"]["default"] == "fast"
    assert props["reference_image"]["format"] == "file-path"
    json.dumps(schema)


# --- rendering ----------------------------------------------------------------------------------


@pytest.fixture
def template(tmp_path: Path) -> tpl.Template:
    return load_template(
        make(tmp_path, quality_parameters={"3.steps": 30, "Save.filename_prefix": "q"})
    )


def test_render_merge_order(template: tpl.Template) -> None:
    # steps: default 10 < quality_parameters 30 < prompt value < override
    assert render(template, {"prompt": "a"}).graph["3"]["inputs"]["steps"] == 30
    assert render(template, {"prompt": "a", "steps": 40}).graph["3"]["inputs"]["steps"] == 40
    both = render(template, {"prompt": "a", "steps": 40}, overrides={"steps": 50})
    assert both.graph["3"]["inputs"]["steps"] == 50 and both.values_used["steps"] == 50
    # cfg has only a default: it is applied; None means "not given"
    rendered = render(template, {"prompt": "a", "cfg": None})
    assert rendered.graph["3"]["inputs"]["cfg"] == 5.0
    assert rendered.graph["9"]["inputs"]["filename_prefix"] == "q"
    assert render(template, {"prompt": "a"}, {"cfg": 9}).graph["3"]["inputs"]["cfg"] == 9.0


def test_render_prompt_with_quotes_braces_newlines_arrives_intact(template: tpl.Template) -> None:
    text = 'a "quoted" {brace} \\ back\nnew line\t tab — ünïcode }'
    rendered = render(template, {"prompt": text, "negative_prompt": "}{"})
    assert rendered.graph["6"]["inputs"]["text"] == text
    assert rendered.graph["7"]["inputs"]["text"] == "}{"
    assert json.loads(json.dumps(rendered.graph))["6"]["inputs"]["text"] == text
    assert rendered.values_used["prompt"] == text


def test_render_does_not_touch_the_template(template: tpl.Template) -> None:
    before = copy.deepcopy(template.workflow)
    render(template, {"prompt": "x", "width": 1024}, overrides={"sampler": "fine"})
    assert template.workflow == before


def test_render_values_used_and_untouched_inputs(template: tpl.Template) -> None:
    rendered = render(template, {"prompt": "x", "unrelated": 5}, rng=random.Random(3))
    used = rendered.values_used
    assert used["prompt"] == "x" and used["sampler"] == "fast" and used["steps"] == 30
    assert used["seed"] == rendered.seed == rendered.graph["3"]["inputs"]["seed"]
    assert "negative_prompt" not in used and "reference_image" not in used
    assert rendered.graph["7"]["inputs"]["text"] == "negative"
    assert rendered.graph["10"]["inputs"]["image"] == "example.png"


def test_seed_is_random_unless_given(template: tpl.Template) -> None:
    rng = random.Random(42)
    seeds = {render(template, {"prompt": "x"}, rng=rng).seed for _ in range(20)}
    assert len(seeds) > 15
    assert all(0 <= s <= 2**32 - 1 for s in seeds)
    assert render(template, {"prompt": "x", "seed": 7}).seed == 7
    assert (
        render(template, {"prompt": "x", "seed": 7}, {"seed": 8}).graph["3"]["inputs"]["seed"] == 8
    )


def test_seed_range_narrowed_by_object_info(template: tpl.Template) -> None:
    info = {"KSampler": {"input": {"required": {"seed": ["INT", {"min": 5, "max": 9}]}}}}
    seeds = {render(template, {"prompt": "x"}, object_info=info).seed for _ in range(60)}
    assert seeds <= set(range(5, 10)) and len(seeds) > 1
    with pytest.raises(InputError, match="give a whole number 5…9"):
        render(template, {"prompt": "x", "seed": 10}, object_info=info)


def test_seed_must_be_a_whole_number_in_range(template: tpl.Template) -> None:
    for bad in (-1, 2**32, "12", 1.5, True):
        with pytest.raises(InputError, match="seed"):
            render(template, {"prompt": "x", "seed": bad})


def test_seed_range_ignores_nonsense_object_info(template: tpl.Template) -> None:
    info = {"KSampler": {"input": {"required": {"seed": ["INT", {"min": 10, "max": 1}]}}}}
    assert 0 <= render(template, {"prompt": "x"}, object_info=info).seed <= 2**32 - 1


def test_required_parameter_missing(template: tpl.Template) -> None:
    with pytest.raises(InputError, match="prompt: required by template create_image/standard"):
        render(template, {"prompt": None})


def test_lookup_maps_key_and_rejects_unknown(template: tpl.Template) -> None:
    rendered = render(template, {"prompt": "x", "sampler": "fine"})
    assert rendered.graph["3"]["inputs"]["sampler_name"] == "dpmpp_2m"
    assert rendered.values_used["sampler"] == "fine"
    with pytest.raises(InputError, match="use one of: fast, fine"):
        render(template, {"prompt": "x", "sampler": "slow"})


def test_file_upload_receives_server_name(template: tpl.Template) -> None:
    rendered = render(template, {"prompt": "x", "reference_image": "upload_123.png"})
    assert rendered.graph["10"]["inputs"]["image"] == "upload_123.png"
    assert (
        render(template, {"prompt": "x", "reference_image": Path("a.png")}).graph["10"]["inputs"][
            "image"
        ]
        == "a.png"
    )
    with pytest.raises(InputError, match="expected text"):
        render(template, {"prompt": "x", "reference_image": 5})


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("width", "640", 640),
        ("width", 640.0, 640),
        ("cfg", 6, 6.0),
        ("cfg", "6.5", 6.5),
        ("prompt", 12, "12"),
    ],
)
def test_direct_values_are_coerced(
    template: tpl.Template, name: str, value: Any, expected: Any
) -> None:
    values = {"prompt": "x", name: value}
    rendered = render(template, values)
    target = template.parameters[name]
    written = rendered.graph[target.node_id]["inputs"][target.input_name]
    assert written == expected and type(written) is type(expected)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("width", 640.5, "not a valid int"),
        ("width", "wide", "not a valid int"),
        ("width", [1], "not a valid int"),
        ("width", 32, "out of range"),
        ("width", 4096, "give a value in 64…2048"),
        ("prompt", ["a", "b"], "not a valid string"),
    ],
)
def test_direct_values_are_checked(
    template: tpl.Template, name: str, value: Any, match: str
) -> None:
    with pytest.raises(InputError, match=match):
        render(template, {"prompt": "x", name: value})


def test_object_info_range_and_type_apply_to_direct_values(template: tpl.Template) -> None:
    info = {
        "KSampler": {
            "input": {"required": {"steps": ["INT", {"min": 1, "max": 50}], "cfg": ["FLOAT", {}]}}
        }
    }
    with pytest.raises(InputError, match="give a value in 1…50"):
        render(template, {"prompt": "x", "steps": 60}, object_info=info)
    assert (
        render(template, {"prompt": "x", "steps": 50}, object_info=info).graph["3"]["inputs"][
            "steps"
        ]
        == 50
    )


def test_bool_values(tmp_path: Path) -> None:
    graph = {"1": {"class_type": "SaveAnimatedWEBP", "inputs": {"lossless": True, "fps": 6}}}
    params = {
        "lossless": {"target": "1.lossless"},
        "fps": {"target": "1.fps", "value_type": "float"},
    }
    template = load_template(make(tmp_path, graph=graph, parameters=params, models=[]))
    assert render(template, {"lossless": "false"}).graph["1"]["inputs"]["lossless"] is False
    assert render(template, {"lossless": False, "fps": 8}).graph["1"]["inputs"]["fps"] == 8.0
    with pytest.raises(InputError, match="not a valid bool"):
        render(template, {"lossless": "maybe"})


# --- object_info checks -------------------------------------------------------------------------

LEGACY_INFO: dict[str, Any] = {
    "CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [["other.safetensors"], {}]}}},
    "CLIPTextEncode": {"input": {"required": {"text": ["STRING", {}], "clip": ["CLIP"]}}},
    "KSampler": {
        "input": {
            "required": {
                "model": ["MODEL", {}],
                "seed": ["INT", {"min": 0, "max": 2**64 - 1}],
                "steps": ["INT", {"min": 1, "max": 10}],
                "cfg": ["FLOAT", {"min": 0.0, "max": 100.0}],
                "sampler_name": [["euler", "dpmpp_2m"], {}],
                "scheduler": ["COMBO", {"options": ["simple", "karras"]}],
                "positive": ["CONDITIONING", {}],
                "negative": ["CONDITIONING", {}],
                "latent_image": ["LATENT", {}],
                "denoise": ["FLOAT", {"min": 0.0, "max": 1.0}],
            }
        }
    },
    "EmptyLatentImage": {
        "input": {
            "required": {"width": ["INT", {}], "height": ["INT", {}], "batch_size": ["INT", {}]},
            "optional": {"extra": ["INT", {}]},
        }
    },
    "LoadImage": {"input": {"required": {"image": [["example.png"], {"image_upload": True}]}}},
}


def test_check_against_object_info_reports_each_problem(template: tpl.Template) -> None:
    problems = check_against_object_info(template, LEGACY_INFO)
    assert problems == [
        'node 9 (SaveImage "Save") needs node class SaveImage, which this server does not have '
        "— install the custom node that provides it, or use another server",
        "node 4 (CheckpointLoaderSimple \"Load Checkpoint\"): model file 'model.safetensors' "
        "(ckpt_name) is not on the server — download it into models/checkpoints; the server "
        "has: other.safetensors",
        "node 3 (KSampler) input 'steps': 20 is outside the server's range 1…10",
        "node 3 (KSampler) input 'scheduler': 'normal' is not one of the server's choices "
        "(simple, karras)",
    ]


def test_check_against_object_info_inputs(template: tpl.Template) -> None:
    info = copy.deepcopy(LEGACY_INFO)
    info["SaveImage"] = {"input": {"required": {"images": ["IMAGE"], "prefix": ["STRING", {}]}}}
    info["CLIPTextEncode"]["input"]["required"].pop("clip")
    problems = check_against_object_info(template, info)
    assert (
        "node 6 (CLIPTextEncode \"Positive v1.2\") has no input 'clip' on this server — "
        "update the template or the server" in problems
    )
    assert (
        "node 9 (SaveImage \"Save\") has no input 'filename_prefix' on this server — update "
        "the template or the server" in problems
    )
    assert "node 9 (SaveImage \"Save\") is missing its required input 'prefix'" in problems


def test_check_against_object_info_v3_model_combo_and_clean_run(template: tpl.Template) -> None:
    info = copy.deepcopy(LEGACY_INFO)
    info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"] = [
        "COMBO",
        {"options": ["model.safetensors"]},
    ]
    info["KSampler"]["input"]["required"]["steps"] = ["INT", {"min": 1, "max": 10000}]
    info["KSampler"]["input"]["required"]["scheduler"] = [["normal"], {}]
    info["SaveImage"] = {
        "input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING"]}}
    }
    assert check_against_object_info(template, info) == []


def test_combo_options_both_dialects() -> None:
    assert combo_options([["a", "b"], {"default": "a"}]) == ["a", "b"]
    assert combo_options(["COMBO", {"options": ["x"]}]) == ["x"]
    assert combo_options(["COMBO"]) == []
    assert combo_options(["INT", {"min": 1}]) is None
    assert combo_options([]) is None and combo_options(None) is None


def test_long_choice_lists_are_shortened(template: tpl.Template) -> None:
    info = copy.deepcopy(LEGACY_INFO)
    info["KSampler"]["input"]["required"]["scheduler"] = [[f"s{i}" for i in range(20)], {}]
    problems = check_against_object_info(template, info)
    assert any("s11 …)" in p for p in problems)


# --- V3 dynamic inputs, fallbacks, requires -----------------------------------------------------

V3_GRAPH: dict[str, Any] = {
    **GRAPH,
    "12": {
        "class_type": "SaveVideo",
        "inputs": {"filename_prefix": "takeboard/video", "format": "mp4", "format.codec": "h264"},
        "_meta": {"title": "Save v2.1"},
    },
}
V3_SAVER_INFO = {
    "SaveVideo": {
        "input": {
            "required": {
                "filename_prefix": ["STRING", {}],
                "format": [
                    "COMFY_DYNAMICCOMBO_V3",
                    {
                        "options": [
                            {"key": "auto", "inputs": {"required": {}}},
                            {
                                "key": "mp4",
                                "inputs": {
                                    "required": {"codec": ["COMBO", {"options": ["auto", "h264"]}]}
                                },
                            },
                        ]
                    },
                ],
            }
        }
    }
}
OLD_SAVER_INFO = {
    "SaveVideo": {
        "input": {
            "required": {
                "filename_prefix": ["STRING", {}],
                "format": ["COMBO", {"options": ["auto", "mp4"]}],
                "codec": ["COMBO", {"options": ["auto", "h264"]}],
            }
        }
    }
}


def test_dotted_targets_render_and_resolve_next_to_dotted_titles(tmp_path: Path) -> None:
    params = {
        **PARAMS,
        "codec": {"target": "12.format.codec", "type": "direct"},
        "container": {"target": "Save v2.1.format", "type": "direct"},
    }
    template = load_template(make(tmp_path, graph=V3_GRAPH, parameters=params))
    assert (template.parameters["codec"].node_id, template.parameters["codec"].input_name) == (
        "12",
        "format.codec",
    )
    assert template.parameters["container"].input_name == "format"
    graph = render(template, {"prompt": "p", "codec": "auto"}, rng=random.Random(1)).graph
    assert graph["12"]["inputs"]["format.codec"] == "auto"
    assert graph["6"]["inputs"]["text"] == "p"  # "Positive v1.2.text" still resolves


def test_dotted_target_on_a_missing_input_names_the_node(tmp_path: Path) -> None:
    params = {**PARAMS, "crf": {"target": "12.format.codec.crf", "type": "direct"}}
    missing = r"node 12 \(SaveVideo\) has no input 'format.codec.crf'"
    with pytest.raises(BrokenTemplate, match=missing):
        load_template(make(tmp_path, graph=V3_GRAPH, parameters=params))


def test_schema_lists_combo_choices_of_either_shape(tmp_path: Path) -> None:
    params = {
        **PARAMS,
        "codec": {"target": "12.format.codec", "type": "direct"},
        "sampler": {"target": "3.sampler_name", "type": "direct"},
    }
    template = load_template(make(tmp_path, graph=V3_GRAPH, parameters=params))
    info = {**copy.deepcopy(LEGACY_INFO), **V3_SAVER_INFO}
    schema = tpl.parameter_schema(template, info)["properties"]
    assert schema["codec"]["enum"] == ["auto", "h264"]  # V3 nested under the chosen option
    assert schema["sampler"]["enum"] == ["euler", "dpmpp_2m"]  # legacy list
    assert "enum" not in tpl.parameter_schema(template)["properties"]["codec"]


def test_a_fallback_runs_where_the_server_cannot_run_the_node(tmp_path: Path) -> None:
    flat = {
        "class_type": "SaveVideo",
        "inputs": {"filename_prefix": "takeboard/video", "format": "mp4", "codec": "h264"},
    }
    template = load_template(make(tmp_path, graph=V3_GRAPH, fallbacks={"12": [flat]}))
    current = {**LEGACY_INFO, **V3_SAVER_INFO}
    older = {**LEGACY_INFO, **OLD_SAVER_INFO}
    values = {"prompt": "p"}
    assert render(template, values, object_info=current).graph["12"] == V3_GRAPH["12"]
    assert render(template, values, object_info=older).graph["12"] == flat
    assert render(template, values).graph["12"] == V3_GRAPH["12"]  # no server: as written
    assert not any("12" in p for p in check_against_object_info(template, older))
    neither = {**LEGACY_INFO, "SaveVideo": {"input": {"required": {"x": ["INT", {}]}}}}
    problems = check_against_object_info(template, neither)
    assert any("node 12 (SaveVideo \"Save v2.1\") has no input 'format'" in p for p in problems)


@pytest.mark.parametrize(
    ("fallbacks", "error"),
    [
        ({"99": [{"class_type": "X", "inputs": {}}]}, "fallbacks: the workflow has no node '99'"),
        ({"12": {"class_type": "X"}}, r"fallbacks\['12'\] must be a list of API-format nodes"),
        ({"3": [dict(GRAPH["3"])]}, "target '3.seed' is on node 3, which has fallbacks"),
    ],
)
def test_bad_fallbacks_are_refused(tmp_path: Path, fallbacks: Any, error: str) -> None:
    with pytest.raises(BrokenTemplate, match=error):
        load_template(make(tmp_path, graph=V3_GRAPH, fallbacks=fallbacks))


def test_requires_shows_in_the_registry(tmp_path: Path) -> None:
    make(tmp_path, requires={"comfyui": ">=0.11.1"})
    info = load_templates([tmp_path]).function_info("create_image")
    assert info.requires == {"comfyui": ">=0.11.1", "models": ["checkpoints/model.safetensors"]}
    with pytest.raises(BrokenTemplate, match="requires: unknown key"):
        load_template(make(tmp_path / "b", requires={"comfyui": ">=1", "models": []}))


def test_warnings_name_the_server_and_never_fail(tmp_path: Path) -> None:
    make(tmp_path)
    templates = load_templates([tmp_path])
    info = copy.deepcopy({**LEGACY_INFO, "SaveImage": {"input": {}}})
    info["SaveImage"]["deprecated"] = True
    replaced = {"KSampler": [{"old_node_id": "KSampler", "new_node_id": "KSamplerV2"}]}
    lines = templates.warnings("create_image", {"gpu1": info}, {"gpu1": replaced})
    assert lines == [
        "gpu1: create_image/standard: node 3 (KSampler) is replaced by KSamplerV2 on this "
        "server — update the template",
        'gpu1: create_image/standard: node 9 (SaveImage "Save") is deprecated on this server — '
        "it still runs; update the template",
    ]
    assert templates.warnings("create_image", {}) == []


def test_schema_marks_advanced_parameters(tmp_path: Path) -> None:
    params = {**PARAMS, "denoise": {"target": "3.denoise", "advanced": True}}
    schema = tpl.parameter_schema(load_template(make(tmp_path, parameters=params)))
    assert schema["properties"]["denoise"]["advanced"] is True
    assert "advanced" not in schema["properties"]["steps"]
    bad = {**PARAMS, "denoise": {"target": "3.denoise", "advanced": "yes"}}
    with pytest.raises(BrokenTemplate, match="'denoise': advanced must be true or false"):
        load_template(make(tmp_path / "bad", parameters=bad))


def test_a_plain_combo_offers_and_accepts_the_servers_options(tmp_path: Path) -> None:
    """An imported model lookup maps each file to itself: the server's list is offered and a
    file it lists runs, even one added after the import; a designed lookup stays closed."""
    plain = {"a.safetensors": "a.safetensors"}
    params = {
        **PARAMS,
        "checkpoint": {"target": "4.ckpt_name", "type": "lookup", "lookup_table": plain},
    }
    template = load_template(make(tmp_path, parameters=params))
    info = copy.deepcopy(LEGACY_INFO)
    info["CheckpointLoaderSimple"] = {
        "input": {"required": {"ckpt_name": [["b.safetensors", "a.safetensors"]]}}
    }
    schema = tpl.parameter_schema(template, info)["properties"]
    assert schema["checkpoint"]["enum"] == ["b.safetensors", "a.safetensors"]
    assert tpl.parameter_schema(template)["properties"]["checkpoint"]["enum"] == ["a.safetensors"]
    values = {"prompt": "p", "checkpoint": "b.safetensors"}
    assert render(template, values, object_info=info).graph["4"]["inputs"]["ckpt_name"] == (
        "b.safetensors"
    )
    with pytest.raises(InputError, match="'b.safetensors' is not a choice"):
        render(template, values)  # no server to vouch for it
    with pytest.raises(InputError, match="'c.safetensors' is not a choice"):
        render(template, {**values, "checkpoint": "c.safetensors"}, object_info=info)
    designed = load_template(make(tmp_path / "d", parameters=PARAMS))  # sampler: fast/fine
    assert tpl.parameter_schema(designed, info)["properties"]["sampler"]["enum"] == ["fast", "fine"]
