"""The one object_info validator: both combo dialects, V3 dotted inputs, deprecated nodes and
node replacements, missing nodes and model files — each message one line."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from executors.demo_server.catalog import DATA
from executors.object_info import (
    check_graph,
    combo_options,
    declared_inputs,
    graph_problems,
    graph_warnings,
    input_spec,
    missing_parts,
)

CURRENT = json.loads((DATA / "object_info_current.json").read_text(encoding="utf-8"))

LOADER = {"input": {"required": {"ckpt_name": [["a.safetensors", "b.safetensors"], {}]}}}
V3_LOADER = {"input": {"required": {"ckpt_name": ["COMBO", {"options": ["a.safetensors"]}]}}}
SAMPLER = {
    "input": {
        "required": {
            "sampler_name": [["euler", "dpmpp_2m"], {}],
            "scheduler": ["COMBO", {"multiselect": False, "options": ["simple", "karras"]}],
            "steps": ["INT", {"min": 1, "max": 100}],
        }
    }
}
INFO: dict[str, Any] = {
    "CheckpointLoaderSimple": LOADER,
    "V3Loader": V3_LOADER,
    "KSampler": SAMPLER,
    "SaveVideo": CURRENT["SaveVideo"],
    "SaveAudioAdvanced": CURRENT["SaveAudioAdvanced"],
    "SaveAudioMP3": {
        "input": {"required": {"quality": [["V0", "128k", "320k"], {}]}},
        "deprecated": True,
    },
}


def node(class_type: str, title: str | None = None, **inputs: Any) -> dict[str, Any]:
    made: dict[str, Any] = {"class_type": class_type, "inputs": inputs}
    if title:
        made["_meta"] = {"title": title}
    return made


def test_combo_options_in_every_dialect() -> None:
    assert combo_options([["a", "b"], {"default": "a"}]) == ["a", "b"]
    assert combo_options(["COMBO", {"options": ["x"], "multiselect": False}]) == ["x"]
    assert combo_options(["COMBO"]) == []
    assert combo_options(CURRENT["SaveVideo"]["input"]["required"]["format"]) == [
        "auto",
        "mp4",
        "mkv",
        "webm",
    ]
    assert combo_options(["INT", {"min": 1}]) is None
    assert combo_options(None) is None


@pytest.mark.parametrize("loader", ["CheckpointLoaderSimple", "V3Loader"])
def test_missing_model_names_the_file_and_lists_the_servers(loader: str) -> None:
    graph = {"4": node(loader, "Load Checkpoint", ckpt_name="c.safetensors")}
    (problem,) = graph_problems(graph, INFO, {"c.safetensors": "checkpoints"})
    have = "a.safetensors, b.safetensors" if loader == "CheckpointLoaderSimple" else "a.safetensors"
    assert problem == (
        f"node 4 ({loader} \"Load Checkpoint\"): model file 'c.safetensors' (ckpt_name) is not "
        f"on the server — download it into models/checkpoints; the server has: {have}"
    )
    (unknown_folder,) = graph_problems(graph, INFO)
    assert "put it in its models folder" in unknown_folder


def test_combo_values_in_both_shapes_and_ranges() -> None:
    graph = {"3": node("KSampler", sampler_name="ddim", scheduler="normal", steps=500)}
    assert graph_problems(graph, INFO) == [
        "node 3 (KSampler) input 'sampler_name': 'ddim' is not one of the server's choices "
        "(euler, dpmpp_2m)",
        "node 3 (KSampler) input 'scheduler': 'normal' is not one of the server's choices "
        "(simple, karras)",
        "node 3 (KSampler) input 'steps': 500 is outside the server's range 1…100",
    ]
    fine = {"3": node("KSampler", sampler_name="euler", scheduler="karras", steps=20)}
    assert graph_problems(fine, INFO) == []


def test_multiselect_checks_each_choice_and_remote_combos_are_not_checked() -> None:
    info = copy.deepcopy(INFO)
    spec = info["KSampler"]["input"]["required"]
    spec["scheduler"] = ["COMBO", {"multiselect": True, "options": ["simple", "karras"]}]
    spec["sampler_name"] = ["COMBO", {"options": [], "remote": {"route": "/api/samplers"}}]
    graph = {"3": node("KSampler", sampler_name="anything", scheduler=["simple", "x"], steps=2)}
    assert graph_problems(graph, info) == [
        "node 3 (KSampler) input 'scheduler': 'x' is not one of the server's choices "
        "(simple, karras)"
    ]


def test_dotted_dynamic_combo_inputs_follow_the_chosen_option() -> None:
    prefix = {"filename_prefix": "takeboard/video", "video": ["60", 0]}
    good = node("SaveVideo", **prefix, format="mp4", **{"format.codec": "h264"})
    assert graph_problems({"61": good}, INFO) == []
    nested = {"format.codec": "h264", "format.codec.encoding": "re-encode"}
    deep = node(
        "SaveVideo", **prefix, format="mp4", **nested, **{"format.codec.encoding.crf": 20.0}
    )
    assert graph_problems({"61": deep}, INFO) == []
    wrong = node("SaveVideo", "Save Video", **prefix, format="webm", **{"format.codec": "h264"})
    assert graph_problems({"61": wrong}, INFO) == [
        "node 61 (SaveVideo \"Save Video\") input 'format.codec': 'h264' is not one of the "
        "server's choices (auto, av1)"
    ]
    missing = node("SaveVideo", **prefix, format="mp4")
    assert graph_problems({"61": missing}, INFO) == [
        "node 61 (SaveVideo) is missing its required input 'format.codec'"
    ]
    unknown = node("SaveVideo", **prefix, format="mp4", **{"format.codec": "h264", "format.x": 1})
    assert graph_problems({"61": unknown}, INFO) == [
        "node 61 (SaveVideo) has no input 'format.x' on this server — update the template or "
        "the server"
    ]


def test_an_option_without_nested_inputs_takes_none() -> None:
    flac = node("SaveAudioAdvanced", filename_prefix="a", audio=["1", 0], format="flac")
    assert graph_problems({"9": flac}, INFO) == []
    mp3 = {**flac, "inputs": {**flac["inputs"], "format": "mp3", "format.quality": "999k"}}
    (problem,) = graph_problems({"9": mp3}, INFO)
    assert "'format.quality': '999k' is not one of the server's choices (V0, 128k, 320k)" in problem
    known, required, _ = declared_inputs(INFO["SaveAudioAdvanced"], {"format": "mp3"})
    assert "format.quality" in known and "format.quality" in required
    values = {"format": "mp3"}
    assert input_spec(INFO, "SaveAudioAdvanced", "format.quality", values)[0] == "COMBO"
    assert input_spec(INFO, "SaveAudioAdvanced", "format.quality", {"format": "flac"}) is None


def test_missing_node_names_id_class_title_and_what_to_do() -> None:
    graph = {"12": node("CoolNode", "My Cool Node"), "13": node("OtherNode")}
    assert graph_problems(graph, INFO) == [
        'node 12 (CoolNode "My Cool Node"), node 13 (OtherNode) need node classes CoolNode, '
        "OtherNode, which this server does not have — install the custom nodes that provide "
        "them, or use another server"
    ]
    (twice,) = graph_problems({"1": node("CoolNode"), "2": node("CoolNode")}, INFO)
    assert twice.startswith("node 1 (CoolNode), node 2 (CoolNode) need node class CoolNode, ")
    assert twice.endswith("install the custom node that provides it, or use another server")
    (one,) = graph_problems({"12": node("CoolNode")}, INFO)
    assert one == (
        "node 12 (CoolNode) needs node class CoolNode, which this server does not have — "
        "install the custom node that provides it, or use another server"
    )


def test_deprecated_and_replaced_nodes_are_warnings_not_problems() -> None:
    graph = {"59": node("SaveAudioMP3", "Save Audio (MP3)", quality="V0")}
    findings = check_graph(graph, INFO)
    assert findings.problems == ()
    assert findings.warnings == (
        'node 59 (SaveAudioMP3 "Save Audio (MP3)") is deprecated on this server — it still '
        "runs; update the template",
    )
    replacements = {"OldSaver": [{"old_node_id": "OldSaver", "new_node_id": "SaveAudioMP3"}]}
    renamed = {"7": node("OldSaver")}
    assert graph_problems(renamed, INFO, replacements=replacements) == []
    assert graph_warnings(renamed, INFO, replacements) == [
        "node 7 (OldSaver) is replaced by SaveAudioMP3 on this server — update the template"
    ]
    # a replacement the server cannot run is no help: the node is still missing
    gone = {"OldSaver": [{"old_node_id": "OldSaver", "new_node_id": "Nowhere"}]}
    assert "needs node class OldSaver" in graph_problems(renamed, INFO, replacements=gone)[0]


def test_every_message_is_one_line() -> None:
    graph = {
        "1": node("Nope\nNode"),
        "3": node("KSampler", sampler_name="bad\nvalue", scheduler="x", steps=0),
    }
    for line in graph_problems(graph, INFO):
        assert "\n" not in line


def test_missing_parts_are_only_what_certainly_fails_before_sending():
    graph = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "gone.safetensors"}},
        "2": {"class_type": "V3Loader", "inputs": {"ckpt_name": "a.safetensors"}},
        "3": {"class_type": "KSampler", "inputs": {"steps": 0, "sampler_name": "new_one"}},
        "4": {"class_type": "Custom", "inputs": {}, "_meta": {"title": "Magic"}},
        "5": "junk",
    }
    problems = missing_parts(graph, INFO)
    assert problems[0].startswith('node 4 (Custom "Magic") needs node class Custom')
    assert problems[1].startswith("node 1 (CheckpointLoaderSimple): model file 'gone.safetensors'")
    assert problems[2].startswith("node 5 has no class_type")
    assert len(problems) == 3  # the range and the choice are the server's to judge
    assert graph_problems(graph, INFO)[3:]  # … which the full check does report
