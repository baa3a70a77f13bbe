"""UI format → API format on small graphs built the way the frontend saves them, checked
against what graphToPrompt sends (Comfy-Org/ComfyUI_frontend src/utils/executionUtil.ts@01c735d9,
src/lib/litegraph/src/subgraph/ExecutableNodeDTO.ts@9d1ad4ad): bypass, mute, Reroute,
PrimitiveNode, subgraph ids, control_after_generate, V3 DynamicCombo widgets."""

from __future__ import annotations

import json

import pytest

from core.errors import InputError
from executors.demo_server.catalog import DATA
from executors.workflow_import.catalog import core_catalog
from executors.workflow_import.ui_format import to_api

CURRENT = DATA / "object_info_current.json"


def node(id_, type_, widgets=(), inputs=(), outputs=(), mode=0, **extra):
    sockets = [{"name": n, "type": t, "link": link} for n, t, link in inputs]
    outs = [{"name": t, "type": t, "links": links} for t, links in outputs]
    return {
        "id": id_,
        "type": type_,
        "mode": mode,
        "inputs": sockets,
        "outputs": outs,
        "widgets_values": list(widgets),
        **extra,
    }


def link(id_, origin, slot, target, target_slot, type_):
    return [id_, origin, slot, target, target_slot, type_]


def sampler_graph(lora_mode: int, vae_mode: int) -> dict:
    nodes = [
        node(
            1,
            "CheckpointLoaderSimple",
            ["m.safetensors"],
            outputs=[("MODEL", [1]), ("CLIP", [2, 3]), ("VAE", [])],
        ),
        node(
            2,
            "LoraLoader",
            ["l.safetensors", 0.8, 1.0],
            [("model", "MODEL", 1), ("clip", "CLIP", 2)],
            [("MODEL", [4]), ("CLIP", [5])],
            mode=lora_mode,
        ),
        node(6, "CLIPTextEncode", ["a lighthouse"], [("clip", "CLIP", 5)], [("CONDITIONING", [6])]),
        node(7, "CLIPTextEncode", ["blurry"], [("clip", "CLIP", 3)], [("CONDITIONING", [8])]),
        node(8, "Reroute", [], [("", "*", 6)], [("CONDITIONING", [7])]),
        node(9, "PrimitiveNode", [42, "fixed"], outputs=[("INT", [9])]),
        node(
            3,
            "KSampler",
            [7, "randomize", 20, 6.5, "euler", "normal", 1.0],
            [
                ("model", "MODEL", 4),
                ("positive", "CONDITIONING", 7),
                ("negative", "CONDITIONING", 8),
                ("latent_image", "LATENT", 10),
                ("seed", "INT", 9),
            ],
            [("LATENT", [11])],
        ),
        node(5, "EmptyLatentImage", [512, 512, 1], outputs=[("LATENT", [10])]),
        node(10, "VAELoader", ["v.safetensors"], outputs=[("VAE", [12])], mode=vae_mode),
        node(
            11, "VAEDecode", [], [("samples", "LATENT", 11), ("vae", "VAE", 12)], [("IMAGE", [13])]
        ),
        node(12, "SaveImage", ["out"], [("images", "IMAGE", 13)]),
        node(13, "Note", ["remember"]),
    ]
    links = [
        link(1, 1, 0, 2, 0, "MODEL"),
        link(2, 1, 1, 2, 1, "CLIP"),
        link(3, 1, 1, 7, 0, "CLIP"),
        link(4, 2, 0, 3, 0, "MODEL"),
        link(5, 2, 1, 6, 0, "CLIP"),
        link(6, 6, 0, 8, 0, "CONDITIONING"),
        link(7, 8, 0, 3, 1, "CONDITIONING"),
        link(8, 7, 0, 3, 2, "CONDITIONING"),
        link(9, 9, 0, 3, 4, "INT"),
        link(10, 5, 0, 3, 3, "LATENT"),
        link(11, 3, 0, 11, 0, "LATENT"),
        link(12, 10, 0, 11, 1, "VAE"),
        link(13, 11, 0, 12, 0, "IMAGE"),
    ]
    return {"nodes": nodes, "links": links, "version": 0.4}


def test_widgets_links_reroute_primitive_and_virtual_nodes():
    graph = to_api(sampler_graph(lora_mode=0, vae_mode=0), core_catalog())
    assert set(graph) == {
        "1",
        "2",
        "6",
        "7",
        "3",
        "5",
        "10",
        "11",
        "12",
    }  # no Reroute/Note/Primitive
    sampler = graph["3"]["inputs"]
    assert sampler == {
        "seed": 42,
        "steps": 20,
        "cfg": 6.5,
        "sampler_name": "euler",
        "scheduler": "normal",
        "denoise": 1.0,
        "model": ["2", 0],
        "positive": ["6", 0],
        "negative": ["7", 0],
        "latent_image": ["5", 0],
    }
    assert graph["2"]["inputs"] == {
        "lora_name": "l.safetensors",
        "strength_model": 0.8,
        "strength_clip": 1.0,
        "model": ["1", 0],
        "clip": ["1", 1],
    }
    assert graph["3"]["_meta"]["title"] == "KSampler"


def test_bypassed_nodes_pass_their_inputs_through_and_muted_ones_vanish():
    graph = to_api(sampler_graph(lora_mode=4, vae_mode=2), core_catalog())
    assert "2" not in graph and "10" not in graph
    assert graph["3"]["inputs"]["model"] == ["1", 0]  # MODEL in, MODEL out: same slot
    assert graph["6"]["inputs"]["clip"] == ["1", 1]  # CLIP from the loader's second output
    assert "vae" not in graph["11"]["inputs"]  # linked to a muted node: dropped


def subgraph_workflow(instance_widgets: list) -> dict:
    inner = [
        node(
            1,
            "CLIPTextEncode",
            ["inner default"],
            [("clip", "CLIP", 21), ("text", "STRING", 22)],
            [("CONDITIONING", [23])],
        ),
    ]
    inner[0]["inputs"][1]["widget"] = {"name": "text"}
    definition = {
        "id": "aaaa-bbbb",
        "name": "Encode",
        "nodes": inner,
        "inputs": [
            {"name": "clip", "type": "CLIP", "linkIds": [21]},
            {"name": "text", "type": "STRING", "linkIds": [22]},
        ],
        "outputs": [{"name": "CONDITIONING", "type": "CONDITIONING", "linkIds": [23]}],
        "links": [
            {
                "id": 21,
                "origin_id": -10,
                "origin_slot": 0,
                "target_id": 1,
                "target_slot": 0,
                "type": "CLIP",
            },
            {
                "id": 22,
                "origin_id": -10,
                "origin_slot": 1,
                "target_id": 1,
                "target_slot": 1,
                "type": "STRING",
            },
            {
                "id": 23,
                "origin_id": 1,
                "origin_slot": 0,
                "target_id": -20,
                "target_slot": 0,
                "type": "CONDITIONING",
            },
        ],
    }
    sockets = [("clip", "CLIP", 1), ("text", "STRING", None)]
    instance = node(40, "aaaa-bbbb", instance_widgets, sockets, [("CONDITIONING", [2])])
    instance["inputs"][1]["widget"] = {"name": "text"}
    outer = [
        node(
            30,
            "CLIPLoader",
            ["c.safetensors", "stable_diffusion", "default"],
            outputs=[("CLIP", [1])],
        ),
        instance,
        node(
            31,
            "ConditioningZeroOut",
            [],
            [("conditioning", "CONDITIONING", 2)],
            [("CONDITIONING", [])],
        ),
    ]
    links = [link(1, 30, 0, 40, 0, "CLIP"), link(2, 40, 0, 31, 0, "CONDITIONING")]
    return {"nodes": outer, "links": links, "definitions": {"subgraphs": [definition]}}


def test_subgraphs_are_flattened_with_colon_ids():
    graph = to_api(subgraph_workflow([]), core_catalog())
    assert set(graph) == {"30", "40:1", "31"}
    assert graph["40:1"]["inputs"] == {"text": "inner default", "clip": ["30", 0]}
    assert graph["31"]["inputs"]["conditioning"] == ["40:1", 0]
    promoted = to_api(subgraph_workflow(["set on the instance"]), core_catalog())
    assert promoted["40:1"]["inputs"]["text"] == "set on the instance"


def test_dynamic_combo_widgets_take_dotted_names():
    info = {**core_catalog(), **json.loads(CURRENT.read_text())}
    workflow = {
        "nodes": [node(1, "SaveVideo", ["video/x", "auto", "h264"], [("video", "VIDEO", None)])],
        "links": [],
    }
    inputs = to_api(workflow, info)["1"]["inputs"]
    assert inputs == {"filename_prefix": "video/x", "format": "auto", "format.codec": "h264"}


def test_2023_boolean_seed_control_and_list_values():
    workflow = {
        "nodes": [node(1, "KSampler", [5, True, 8, 2.0, "euler", "normal", 0.5])],
        "links": [],
    }
    inputs = to_api(workflow, core_catalog())["1"]["inputs"]
    assert (inputs["seed"], inputs["steps"], inputs["denoise"]) == (5, 8, 0.5)


def test_hostile_graphs_are_one_line_input_errors():
    loop = {
        "nodes": [
            node(1, "Reroute", [], [("", "*", 1)], [("*", [2])]),
            node(2, "Reroute", [], [("", "*", 2)], [("*", [1, 3])]),
            node(3, "PreviewImage", [], [("images", "IMAGE", 3)]),
        ],
        "links": [link(1, 2, 0, 1, 0, "*"), link(2, 1, 0, 2, 0, "*"), link(3, 2, 0, 3, 0, "*")],
    }
    with pytest.raises(InputError, match="go round in a circle"):
        to_api(loop, core_catalog())
    chain = [node(i, "Reroute", [], [("", "*", i)], [("*", [i + 1])]) for i in range(1, 2000)]
    chain.append(node(2000, "PreviewImage", [], [("images", "IMAGE", 2000)]))
    links = [link(i + 1, i, 0, i + 1, 0, "*") for i in range(1, 2000)]
    with pytest.raises(InputError, match="too many reroutes"):
        to_api({"nodes": chain, "links": links}, core_catalog())
    itself = {"id": "loop", "nodes": [node(1, "loop")], "links": [], "inputs": [], "outputs": []}
    nested = {"nodes": [node(1, "loop")], "links": [], "definitions": {"subgraphs": [itself]}}
    with pytest.raises(InputError, match="nested more than 16 deep"):
        to_api(nested, core_catalog())
