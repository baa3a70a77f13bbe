"""The fake ComfyUI server against the recorded traces (shared/fixtures/comfyui-real).

Expected bodies and message orders below are copied from the traces named in each test.
"""

from __future__ import annotations

import heapq
import io
import json
import struct
import time
from typing import Any

import pytest
import requests
import websocket
from PIL import Image

from executors.demo_server import ComfyServer
from executors.demo_server.catalog import DEFAULT_MODELS
from tests.comfyui_server.examples import (
    audio_outputs,
    basic_image,
    cache_graph,
    txt2img,
    video_and_animation,
)
from tests.comfyui_server.probe import Probe

# --- helpers -----------------------------------------------------------------------------------


def post_prompt(server: ComfyServer, body: Any, **kwargs: Any) -> requests.Response:
    return requests.post(server.url + "/prompt", json=body, timeout=5, **kwargs)


def submit(server: ComfyServer, probe: Probe | None, workflow: dict, **extra: Any) -> str:
    body = {"prompt": workflow, **extra}
    if probe is not None:
        body["client_id"] = probe.client_id
    response = post_prompt(server, body)
    assert response.status_code == 200, response.text
    return response.json()["prompt_id"]


def run(server: ComfyServer, probe: Probe, workflow: dict, **extra: Any) -> tuple[str, list]:
    prompt_id = submit(server, probe, workflow, **extra)
    return prompt_id, probe.until_done(prompt_id)


def get(server: ComfyServer, path: str, **params: Any) -> requests.Response:
    return requests.get(server.url + path, params=params, timeout=5)


def history(server: ComfyServer, prompt_id: str) -> dict:
    return get(server, f"/history/{prompt_id}").json().get(prompt_id, {})


def wait_history(server: ComfyServer, prompt_id: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = history(server, prompt_id)
        if entry:
            return entry
        time.sleep(0.02)
    raise AssertionError(f"{prompt_id} never reached the history")


def shape(message: dict) -> tuple:
    """A message reduced to what the order comparisons look at."""
    kind, data = message["type"], message["data"]
    if kind == "status":
        return kind, data["status"]["exec_info"]["queue_remaining"]
    if kind == "progress_state":
        return kind, tuple((node, entry["state"]) for node, entry in data["nodes"].items())
    if kind in ("executing", "executed"):
        return kind, data["node"]
    if kind == "execution_cached":
        return kind, tuple(data["nodes"])
    if kind == "binary":
        return kind, struct.unpack(">I", data[:4])[0]
    return (kind,)


def types(messages: list[dict]) -> list[str]:
    return [m["type"] for m in messages if m["type"] not in ("status", "progress_state")]


def slow(server: ComfyServer, delay: float = 0.02) -> None:
    server.set_step_delay(delay)


# --- b1: order, history, PNG metadata, /view variants --------------------------------------

B1_ORDER = [
    ("status", 1),
    ("status", 1),
    ("execution_start",),
    ("execution_cached", ()),
    ("progress_state", (("3", "running"),)),
    ("executing", "3"),
    ("progress_state", (("3", "finished"),)),
    ("progress_state", (("3", "finished"), ("9", "running"))),
    ("executing", "9"),
    ("executed", "9"),
    ("progress_state", (("3", "finished"), ("9", "finished"))),
    ("execution_success",),
    ("status", 0),
    ("executing", None),
]
B1_WORKFLOW_JSON = {
    "note": "any JSON the client wants embedded as the 'workflow' PNG text chunk",
    "nodes": [],
    "links": [],
}


def test_b1_message_order_history_and_png(comfy_server, comfy_ws):
    ws = comfy_ws()
    status = {"status": {"exec_info": {"queue_remaining": 0}}, "sid": ws.client_id}
    assert ws.hello == {"type": "status", "data": status}
    extra = {"extra_pnginfo": {"workflow": B1_WORKFLOW_JSON}}
    response = post_prompt(
        comfy_server, {"prompt": basic_image(), "client_id": ws.client_id, "extra_data": extra}
    )
    prompt_id = response.json()["prompt_id"]
    assert response.json() == {"prompt_id": prompt_id, "number": 0, "node_errors": {}}
    messages = ws.until_done(prompt_id)
    assert [shape(m) for m in messages] == B1_ORDER
    by_type = {m["type"]: m["data"] for m in messages}
    assert set(by_type["execution_start"]) == {"prompt_id", "timestamp"}
    assert by_type["executing"] == {"node": None, "prompt_id": prompt_id}
    image = {"filename": "fx_basic_00001_.png", "subfolder": "", "type": "output"}
    executed = {"node": "9", "display_node": "9", "output": {"images": [image]}}
    assert by_type["executed"] == {**executed, "prompt_id": prompt_id}
    state = messages[4]["data"]["nodes"]["3"]
    assert state == {
        "value": 0.0,
        "max": 1.0,
        "state": "running",
        "node_id": "3",
        "prompt_id": prompt_id,
        "display_node_id": "3",
        "parent_node_id": None,
        "real_node_id": "3",
    }

    entry = history(comfy_server, prompt_id)
    client = {**extra, "client_id": ws.client_id}
    assert entry["prompt"] == [0, prompt_id, basic_image(), client, ["9"]]
    assert entry["outputs"] == {"9": {"images": [image]}}
    assert entry["status"]["status_str"] == "success" and entry["status"]["completed"] is True
    kinds = [event for event, _ in entry["status"]["messages"]]
    assert kinds == ["execution_start", "execution_cached", "execution_success"]
    meta = {"node_id": "9", "display_node": "9", "parent_node": None, "real_node_id": "9"}
    assert entry["meta"] == {"9": meta}
    assert list(entry) == ["prompt", "outputs", "status", "meta"]


def test_b1_view_headers_png_chunks_and_reencoding(comfy_server, comfy_ws):
    ws = comfy_ws()
    extra = {"extra_pnginfo": {"workflow": B1_WORKFLOW_JSON}}
    run(comfy_server, ws, basic_image(), extra_data=extra)
    view = get(comfy_server, "/view", filename="fx_basic_00001_.png", subfolder="", type="output")
    assert view.status_code == 200
    assert view.headers["Content-Type"] == "image/png"
    assert view.headers["Content-Disposition"] == 'filename="fx_basic_00001_.png"'
    assert {"Etag", "Last-Modified", "Accept-Ranges"} <= set(view.headers)
    png = Image.open(io.BytesIO(view.content))
    assert png.size == (64, 64) and png.getpixel((0, 0)) == (255, 128, 0)
    assert json.loads(png.text["prompt"]) == basic_image()
    assert json.loads(png.text["workflow"]) == B1_WORKFLOW_JSON

    cases = {"webp;50": ("image/webp", b"RIFF"), "jpeg;80": ("image/jpeg", b"\xff\xd8\xff")}
    for preview, (content_type, magic) in cases.items():
        response = get(comfy_server, "/view", filename="fx_basic_00001_.png", preview=preview)
        assert response.headers["Content-Type"] == content_type
        assert response.content.startswith(magic) and "Etag" not in response.headers
    for channel, mode in (("rgb", "RGB"), ("a", "RGBA")):
        response = get(comfy_server, "/view", filename="fx_basic_00001_.png", channel=channel)
        image = Image.open(io.BytesIO(response.content))
        assert image.mode == mode and not image.text

    _, second = run(comfy_server, ws, basic_image("fx_basic_noworkflow"))
    assert ("execution_cached", ("3",)) in [shape(m) for m in second]
    assert [shape(m) for m in second if m["type"] == "executing"] == [
        ("executing", "9"),
        ("executing", None),
    ]
    png = Image.open(comfy_server.output_dir / "fx_basic_noworkflow_00001_.png")
    assert set(png.text) == {"prompt"}


# --- a: plain endpoints ----------------------------------------------------------------------


def test_a_basic_endpoints(comfy_server):
    stats = get(comfy_server, "/system_stats").json()
    assert stats["system"]["comfyui_version"] == "0.3.64"
    device = stats["devices"][0]
    assert set(device) == {
        "name", "type", "index", "vram_total", "vram_free", "torch_vram_total", "torch_vram_free"
    }  # fmt: skip
    comfy_server.config.vram_free = 123
    assert get(comfy_server, "/api/system_stats").json()["devices"][0]["vram_free"] == 123
    features = {"supports_preview_metadata": True, "max_upload_size": 104857600}
    assert get(comfy_server, "/api/features").json() == features
    assert get(comfy_server, "/queue").json() == {"queue_running": [], "queue_pending": []}
    assert get(comfy_server, "/prompt").json() == {"exec_info": {"queue_remaining": 0}}
    assert get(comfy_server, "/history").json() == {}
    assert get(comfy_server, "/history/not-a-real-id").json() == {}
    assert get(comfy_server, "/embeddings").json() == []
    assert "checkpoints" in get(comfy_server, "/models").json()
    assert "sd_xl_base_1.0.safetensors" in get(comfy_server, "/models/checkpoints").json()
    missing = get(comfy_server, "/models/does_not_exist")
    assert missing.status_code == 404 and missing.content == b""
    assert get(comfy_server, "/object_info/NoSuchNode").json() == {}


def test_a_object_info_recorded_and_hand_written(comfy_server):
    empty_image = get(comfy_server, "/object_info/EmptyImage").json()["EmptyImage"]
    assert empty_image["input"]["required"]["width"] == [
        "INT",
        {"default": 512, "min": 1, "max": 16384, "step": 1},
    ]
    info = get(comfy_server, "/object_info").json()
    for name in ("UNETLoader", "WanImageToVideo", "EmptyAceStepLatentAudio", "LoraLoader"):
        assert name in info and "_source" not in info[name]
    ckpt = info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"]
    assert "sd_v1-5.safetensors" in ckpt[0]
    unets = info["UNETLoader"]["input"]["required"]["unet_name"][0]
    assert unets == sorted(DEFAULT_MODELS["diffusion_models"]) and "flux1-dev.safetensors" in unets
    assert len(info) >= 496  # every node of the recorded server (object_info_full.json)
    assert info["LoadImage"]["input"]["required"]["image"][0] == ["example.png"]


def test_a_models_and_machine_are_configurable(tmp_path):
    models = {"checkpoints": ["only.safetensors"], "loras": ["a.st"]}
    server = ComfyServer(tmp_path, models=models, device_name="cpu", vram_total=8, vram_free=4)
    server.start()
    try:
        device = get(server, "/system_stats").json()["devices"][0]
        assert (device["name"], device["type"], device["index"]) == ("cpu", "cpu", None)
        assert (device["vram_total"], device["vram_free"]) == (8, 4)
        assert get(server, "/models/checkpoints").json() == ["only.safetensors"]
        lora = get(server, "/object_info/LoraLoader").json()["LoraLoader"]["input"]["required"]
        assert lora["lora_name"][0] == ["a.st"]
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"filename": "nope.png", "type": "output"}, 404),
        ({"filename": "../x.png", "type": "output"}, 400),
        ({"filename": "x.png", "type": "bogus"}, 400),
        ({}, 404),
        ({"filename": "example.png", "type": "input", "subfolder": "../../etc"}, 403),
    ],
)
def test_a_view_errors_have_empty_bodies(comfy_server, params, status):
    response = get(comfy_server, "/view", **params)
    assert response.status_code == status and response.content == b""


def test_a_websocket_connect_variants(comfy_server, comfy_ws):
    anonymous = comfy_ws(None)
    sid = anonymous.hello["data"]["sid"]
    assert len(sid) == 32 and int(sid, 16) >= 0
    flagged = comfy_ws(feature_flags=True)
    reply = {"supports_preview_metadata": True, "max_upload_size": 104857600}
    assert flagged.recv() == {"type": "feature_flags", "data": reply}
    garbage = comfy_ws()
    garbage.ws.send("this is not json")
    garbage.ws.send(json.dumps({"type": "feature_flags", "data": {"x": 1}}))
    assert garbage.recv() == {"type": "feature_flags", "data": reply}
    api = Probe(comfy_server.url + "/api", "via-api")
    assert api.hello["data"]["sid"] == "via-api"
    api.close()


# --- d: validation errors ----------------------------------------------------------------------

CONFIG_WIDTH = ["INT", {"default": 512, "min": 1, "max": 16384, "step": 1}]


def _failed(details: str, node_errors: dict) -> dict:
    error = {
        "type": "prompt_outputs_failed_validation",
        "message": "Prompt outputs failed validation",
        "details": details,
        "extra_info": {},
    }
    return {"error": error, "node_errors": node_errors}


def _plain(kind: str, message: str, details: str) -> dict:
    error = {"type": kind, "message": message, "details": details, "extra_info": {}}
    return {"error": error, "node_errors": {}}


def _node(node_id: str, class_type: str, errors: list, outputs: tuple = ("2",)) -> dict:
    return {
        node_id: {"errors": errors, "dependent_outputs": list(outputs), "class_type": class_type}
    }


def _image(**inputs: Any) -> dict:
    values = {"width": 8, "height": 8, "batch_size": 1, "color": 0, **inputs}
    return {"class_type": "EmptyImage", "inputs": {k: v for k, v in values.items() if v != "-"}}


PREVIEW = {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}
D_CASES = {
    "D1 unknown class_type": (
        {"1": {**_image(), "class_type": "NoSuchNodeType"}, "2": PREVIEW},
        _plain(
            "invalid_prompt", "Cannot execute because node NoSuchNodeType does not exist.",
            "Node ID '#1'",
        ),
    ),
    "D1b no class_type": (
        {"1": {"inputs": _image()["inputs"]}, "2": PREVIEW},
        _plain(
            "invalid_prompt",
            "Cannot execute because a node is missing the class_type property.",
            "Node ID '#1'",
        ),
    ),
    "D2 missing input": (
        {"1": _image(width="-"), "2": PREVIEW},
        _failed("", _node("1", "EmptyImage", [{
            "type": "required_input_missing", "message": "Required input is missing",
            "details": "width", "extra_info": {"input_name": "width"},
        }])),
    ),
    "D3a below min": (
        {"1": _image(width=-5), "2": PREVIEW},
        _failed("", _node("1", "EmptyImage", [{
            "type": "value_smaller_than_min", "message": "Value -5 smaller than min of 1",
            "details": "width",
            "extra_info": {"input_name": "width", "input_config": CONFIG_WIDTH,
                           "received_value": -5},
        }])),
    ),
    "D3b above max": (
        {"1": _image(width=999999), "2": PREVIEW},
        _failed("", _node("1", "EmptyImage", [{
            "type": "value_bigger_than_max", "message": "Value 999999 bigger than max of 16384",
            "details": "width",
            "extra_info": {"input_name": "width", "input_config": CONFIG_WIDTH,
                           "received_value": 999999},
        }])),
    ),
    "D3c not an int": (
        {"1": _image(width="abc"), "2": PREVIEW},
        _failed("", _node("1", "EmptyImage", [{
            "type": "invalid_input_type",
            "message": "Failed to convert an input value to a INT value",
            "details": "width, abc, invalid literal for int() with base 10: 'abc'",
            "extra_info": {"input_name": "width", "input_config": CONFIG_WIDTH,
                           "received_value": "abc",
                           "exception_message": "invalid literal for int() with base 10: 'abc'"},
        }])),
    ),
    "D3f not in list": (
        {"1": _image(), "2": {**PREVIEW, "inputs": {"images": ["3", 0]}}, "3": {
            "class_type": "ImageScale",
            "inputs": {"image": ["1", 0], "upscale_method": "super-resolution", "width": 8,
                       "height": 8, "crop": "disabled"}}},
        _failed("", _node("3", "ImageScale", [{
            "type": "value_not_in_list", "message": "Value not in list",
            "details": "upscale_method: 'super-resolution' not in "
                       "['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos']",
            "extra_info": {"input_name": "upscale_method",
                           "input_config": [["nearest-exact", "bilinear", "area", "bicubic",
                                             "lanczos"], {}],
                           "received_value": "super-resolution"},
        }])),
    ),
    "D3i type mismatch": (
        {"1": {"class_type": "EmptyAudio",
               "inputs": {"duration": 0.1, "sample_rate": 8000, "channels": 1}}, "2": PREVIEW},
        _failed(
            "Return type mismatch between linked nodes: images, received_type(AUDIO) mismatch "
            "input_type(IMAGE)",
            _node("2", "PreviewImage", [{
                "type": "return_type_mismatch",
                "message": "Return type mismatch between linked nodes",
                "details": "images, received_type(AUDIO) mismatch input_type(IMAGE)",
                "extra_info": {"input_name": "images", "input_config": ["IMAGE", {}],
                               "received_type": "AUDIO", "linked_node": ["1", 0]},
            }]),
        ),
    ),
    "D3k missing image file": (
        {"3": {"class_type": "LoadImage", "inputs": {"image": "does_not_exist.png"}},
         "4": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}}},
        _failed("", _node("3", "LoadImage", [{
            "type": "custom_validation_failed", "message": "Custom validation failed for node",
            "details": "image - Invalid image file: does_not_exist.png",
            "extra_info": {"input_name": "image"},
        }], outputs=("4",))),
    ),
    "D4a no output": (
        {"1": _image()},
        _plain("prompt_no_outputs", "Prompt has no outputs", ""),
    ),
    "D4c empty prompt": ({}, _plain("prompt_no_outputs", "Prompt has no outputs", "")),
}  # fmt: skip


@pytest.mark.parametrize("case", list(D_CASES))
def test_d_validation_error_bodies(comfy_server, case):
    prompt, expected = D_CASES[case]
    response = post_prompt(comfy_server, {"prompt": prompt, "client_id": "d"})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == expected


@pytest.mark.parametrize(
    ("slot", "kind", "details"),
    [("42", "KeyError", "'42'"), (5, "IndexError", "tuple index out of range")],
)
def test_d_dangling_links_are_exceptions_during_validation(comfy_server, slot, kind, details):
    link = ["42", 0] if slot == "42" else ["1", slot]
    prompt = {"1": _image(), "2": {**PREVIEW, "inputs": {"images": link}}}
    body = post_prompt(comfy_server, {"prompt": prompt}).json()
    assert body["error"]["details"] == f"Exception when validating node: {details}"
    [error] = body["node_errors"]["2"]["errors"]
    assert error["type"] == "exception_during_validation" and error["details"] == details
    assert error["extra_info"]["exception_type"] == kind
    assert all(line.startswith("  File ") for line in error["extra_info"]["traceback"])


def test_d_odd_bodies(comfy_server):
    url = comfy_server.url + "/prompt"
    malformed = requests.post(url, data='{"prompt": {"1": ', timeout=5)
    assert malformed.status_code == 500
    assert malformed.text == "500 Internal Server Error\n\nServer got itself in trouble"
    assert malformed.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert post_prompt(comfy_server, {"prompt": [1, 2, 3]}).status_code == 500
    no_prompt = _plain("no_prompt", "No prompt provided", "No prompt provided")
    assert requests.post(url, data="[1,2,3]", timeout=5).json() == no_prompt
    assert post_prompt(comfy_server, {"client_id": "x"}).json() == no_prompt
    body = post_prompt(comfy_server, {"prompt": {"1": _image() | {"inputs": "x"}, "2": PREVIEW}})
    missing = {e["details"] for e in body.json()["node_errors"]["1"]["errors"]}
    assert missing == {"width", "height", "batch_size", "color"}


def test_d_lenient_ints_numbers_ids_and_extra_data(comfy_server, comfy_ws):
    ws = comfy_ws()
    rejected = post_prompt(comfy_server, {"prompt": {}})  # still takes number 0
    assert rejected.status_code == 400
    first = submit(comfy_server, ws, {"1": _image(width="16"), "2": PREVIEW})
    second = submit(comfy_server, ws, {"1": _image(width=12.7), "2": PREVIEW}, prompt_id=12345)
    assert second == "12345"
    for prompt_id, width, number in ((first, 16, 1), (second, 12, 2)):
        entry = wait_history(comfy_server, prompt_id)
        assert entry["prompt"][0] == number
        assert entry["prompt"][2]["1"]["inputs"]["width"] == width
    extra = {"api_key_comfy_org": "secret", "auth_token_comfy_org": "x", "my_app_tag": "kept"}
    body = {"prompt": {"1": _image(), "2": PREVIEW}, "client_id": ws.client_id}
    explicit = post_prompt(comfy_server, {**body, "number": 5, "extra_data": extra}).json()
    assert explicit["number"] == 5.0 and isinstance(explicit["number"], float)
    entry = wait_history(comfy_server, explicit["prompt_id"])
    assert entry["prompt"][3] == {"my_app_tag": "kept", "client_id": ws.client_id}
    front = post_prompt(comfy_server, {**body, "front": True, "prompt_id": "mine"}).json()
    assert front == {"prompt_id": "mine", "number": -3, "node_errors": {}}
    wait_history(comfy_server, "mine")
    again = post_prompt(comfy_server, {**body, "prompt_id": "mine"}).json()
    assert again["number"] == 4
    ws.until_done("mine")
    ws.until_done("mine")
    assert wait_history(comfy_server, "mine")["prompt"][0] == 4  # reused id: overwritten


def test_d_partial_acceptance_and_runtime_failure(comfy_server, comfy_ws):
    ws = comfy_ws()
    partial = {
        "1": _image(),
        "2": PREVIEW,
        "3": {"class_type": "LoadImage", "inputs": {"image": "does_not_exist.png"}},
        "4": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}},
    }
    body = post_prompt(comfy_server, {"prompt": partial, "client_id": ws.client_id}).json()
    assert body["node_errors"]["3"]["dependent_outputs"] == ["4"]
    messages = ws.until_done(body["prompt_id"])
    assert [shape(m) for m in messages if m["type"] == "executed"] == [("executed", "2")]
    assert history(comfy_server, body["prompt_id"])["prompt"][4] == ["2"]

    failing = {
        "1": _image(width=1, height=1),
        "2": {
            "class_type": "ImageScaleBy",
            "inputs": {"image": ["1", 0], "upscale_method": "nearest-exact", "scale_by": 0.01},
        },
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"}},
        "4": PREVIEW,
    }
    prompt_id, messages = run(comfy_server, ws, failing)
    assert types(messages) == [
        "execution_start", "execution_cached", "executing", "executing", "executed", "executing",
        "execution_error", "executing",
    ]  # fmt: skip
    error = next(m["data"] for m in messages if m["type"] == "execution_error")
    assert error["node_id"] == "2" and error["node_type"] == "ImageScaleBy"
    assert error["exception_type"] == "RuntimeError" and error["executed"] == ["1", "4"]
    assert error["exception_message"].startswith("Input and output sizes should be greater")
    assert error["current_inputs"] == {
        "image": ["tensor of shape [1, 1, 1, 3]"],
        "upscale_method": ["nearest-exact"],
        "scale_by": [0.01],
    }
    assert error["current_outputs"] == ["1", "2", "3", "4"]
    entry = history(comfy_server, prompt_id)
    assert entry["status"]["status_str"] == "error" and entry["status"]["completed"] is False
    assert entry["status"]["messages"][-1][0] == "execution_error"
    assert list(entry["outputs"]) == ["4"]  # outputs finished before the failure are kept


def test_d6_without_client_id_only_broadcasts_arrive(comfy_server, comfy_ws):
    ws = comfy_ws()
    prompt_id = submit(comfy_server, None, {"1": _image(), "2": PREVIEW})
    assert wait_history(comfy_server, prompt_id)["prompt"][3] == {}
    assert {m["type"] for m in ws.drain()} == {"status", "progress_state"}


def test_d7_origin_check_options_and_methods(comfy_server):
    body = {"prompt": {"1": _image(), "2": PREVIEW}}
    port = comfy_server.port
    evil = post_prompt(comfy_server, body, headers={"Origin": "http://evil.example.com"})
    assert evil.status_code == 403 and evil.content == b""
    same = post_prompt(comfy_server, body, headers={"Origin": f"http://127.0.0.1:{port}"})
    assert same.status_code == 200
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        url = f"ws://127.0.0.1:{port}/ws?clientId=x"
        websocket.create_connection(url, origin="http://evil.example.com")
    assert refused.value.status_code == 403
    options = requests.options(comfy_server.url + "/prompt", timeout=5)
    assert options.status_code == 200 and options.content == b""
    delete = requests.delete(comfy_server.url + "/prompt", timeout=5)
    assert delete.status_code == 405 and delete.text == "405: Method Not Allowed"
    assert set(delete.headers["Allow"].split(",")) == {"GET", "HEAD", "POST"}
    assert get(comfy_server, "/interrupt").status_code == 404


# --- b3: binary preview frames -------------------------------------------------------------


def _websocket_images(frames: int) -> dict:
    return {
        "1": _image(width=16, height=16, batch_size=frames, color=1193046),
        "2": {"class_type": "SaveImageWebsocket", "inputs": {"images": ["1", 0]}},
    }


def test_b3_legacy_binary_frames_follow_progress(comfy_server, comfy_ws):
    ws = comfy_ws()
    prompt_id, messages = run(comfy_server, ws, _websocket_images(3))
    shapes = [shape(m) for m in messages]
    running = ("progress_state", (("1", "finished"), ("2", "running")))
    step = [running, ("progress",), ("binary", 1)]
    assert shapes[shapes.index(("executing", "2")) + 1 :] == [
        *step * 3,
        ("progress_state", (("1", "finished"), ("2", "finished"))),
        ("execution_success",),
        ("status", 0),
        ("executing", None),
    ]
    values = [m["data"]["value"] for m in messages if m["type"] == "progress"]
    assert values == [0, 1, 2]
    order = [m["type"] for m in messages if m["type"] in ("progress", "binary")]
    assert order == ["progress", "binary"] * 3
    frame = next(m["data"] for m in messages if m["type"] == "binary")
    assert frame[:8] == struct.pack(">II", 1, 2) and frame[8:16] == b"\x89PNG\r\n\x1a\n"
    final = [m for m in messages if m["type"] == "progress_state"][-1]["data"]["nodes"]["2"]
    assert (final["value"], final["max"], final["state"]) == (3, 3, "finished")
    entry = history(comfy_server, prompt_id)
    assert entry["outputs"] == {} and entry["meta"] == {}


def test_b3_negotiated_frames_carry_metadata_and_come_first(comfy_server, comfy_ws):
    ws = comfy_ws(feature_flags=True)
    ws.recv()  # the feature_flags answer
    prompt_id, messages = run(comfy_server, ws, _websocket_images(2))
    order = [m["type"] for m in messages if m["type"] in ("progress", "binary")]
    assert order == ["binary", "progress"] * 2
    frame = next(m["data"] for m in messages if m["type"] == "binary")
    event, length = struct.unpack(">II", frame[:8])
    assert event == 4
    assert json.loads(frame[8 : 8 + length]) == {
        "node_id": "2",
        "prompt_id": prompt_id,
        "display_node_id": "2",
        "parent_node_id": None,
        "real_node_id": "2",
        "image_type": "image/png",
    }
    assert frame[8 + length :].startswith(b"\x89PNG")


def test_b2_text_frames_subfolders_and_preview_text(comfy_server, comfy_ws):
    ws = comfy_ws()
    graph = {
        "1": _image(width=48, height=32, batch_size=2, color=255),
        "4": {
            "class_type": "ImageScale",
            "inputs": {"image": ["1", 0], "upscale_method": "bilinear", "width": 96, "height": 64,
                       "crop": "disabled"},
        },
        "5": {"class_type": "SaveImage",
              "inputs": {"images": ["4", 0], "filename_prefix": "fx/blend"}},
        "7": {"class_type": "GetImageSize", "inputs": {"image": ["4", 0]}},
        "8": {"class_type": "PreviewAny", "inputs": {"source": ["7", 0]}},
    }  # fmt: skip
    prompt_id, messages = run(comfy_server, ws, graph)
    text = next(m["data"] for m in messages if m["type"] == "binary")
    assert text == struct.pack(">II", 3, 1) + b"7" + b"width: 96, height: 64\n batch size: 2"
    outputs = history(comfy_server, prompt_id)["outputs"]
    assert outputs["8"] == {"text": ["96"]}
    assert [i["filename"] for i in outputs["5"]["images"]] == [
        "blend_00001_.png",
        "blend_00002_.png",
    ]
    assert {i["subfolder"] for i in outputs["5"]["images"]} == {"fx"}
    assert Image.open(comfy_server.output_dir / "fx" / "blend_00002_.png").size == (96, 64)


# --- c: video, animation and audio outputs -------------------------------------------------


def test_c1_video_and_animated_outputs_use_images(comfy_server, comfy_ws):
    ws = comfy_ws()
    prompt_id, _ = run(comfy_server, ws, video_and_animation())
    outputs = history(comfy_server, prompt_id)["outputs"]
    expected = {
        "10": ("fx_anim_00001_.webp", "", "image/webp"),
        "11": ("fx_apng_00001_.png", "", "image/png"),
        "21": ("fx_vid_00001_.mp4", "video", "video/mp4"),
        "22": ("fx_webm_00001_.webm", "", "video/webm"),
    }
    for node, (filename, subfolder, content_type) in expected.items():
        image = {"filename": filename, "subfolder": subfolder, "type": "output"}
        assert outputs[node] == {"images": [image], "animated": [True]}
        view = get(comfy_server, "/view", filename=filename, subfolder=subfolder)
        assert view.headers["Content-Type"] == content_type and len(view.content) > 500


def test_c2_audio_outputs(comfy_server, comfy_ws):
    ws = comfy_ws()
    prompt_id, _ = run(comfy_server, ws, audio_outputs())
    outputs = history(comfy_server, prompt_id)["outputs"]
    assert outputs["2"] == {"audio": [{"filename": "fx_00001_.flac", "subfolder": "audio",
                                       "type": "output"}]}  # fmt: skip
    [preview] = outputs["5"]["audio"]
    assert preview["type"] == "temp" and preview["filename"].startswith("ComfyUI_temp_")
    content_types = {}
    for node in ("2", "3", "4", "5"):
        [item] = outputs[node]["audio"]
        view = get(comfy_server, "/view", **item)
        content_types[node] = view.headers["Content-Type"]
    assert content_types == {"2": "audio/flac", "3": "audio/mpeg", "4": "audio/ogg",
                             "5": "audio/flac"}  # fmt: skip


# --- e: caching ----------------------------------------------------------------------------


def test_e_identical_resubmission_is_served_from_cache(comfy_server, comfy_ws):
    ws = comfy_ws()
    first_id, first = run(comfy_server, ws, cache_graph())
    assert [shape(m) for m in first if m["type"] == "executing"][:-1] == [
        ("executing", n) for n in ("1", "4", "2", "3")
    ]
    files = sorted(comfy_server.output_dir.iterdir())
    second_id, second = run(comfy_server, ws, cache_graph())
    assert types(second) == [
        "execution_start", "execution_cached", "executed", "executed", "execution_success",
        "executing",
    ]  # fmt: skip
    assert ("execution_cached", ("1", "2", "3", "4")) in [shape(m) for m in second]
    states = [m["data"]["nodes"] for m in second if m["type"] == "progress_state"]
    assert states[-1]["4"]["value"] == 1 and isinstance(states[-1]["4"]["value"], int)
    old, new = history(comfy_server, first_id), history(comfy_server, second_id)
    assert new["outputs"] == old["outputs"]
    assert sorted(comfy_server.output_dir.iterdir()) == files  # nothing new written

    _, changed = run(comfy_server, ws, cache_graph(prefix="fx_cache_b"))
    assert ("execution_cached", ("1", "2", "4")) in [shape(m) for m in changed]
    assert [shape(m) for m in changed if m["type"] == "executing"][0] == ("executing", "3")


def test_e_cache_keeps_only_the_last_prompt_and_free_empties_it(comfy_server, comfy_ws):
    ws = comfy_ws()
    run(comfy_server, ws, cache_graph())
    run(comfy_server, ws, basic_image())  # B: evicts what A used
    _, again = run(comfy_server, ws, cache_graph())
    assert ("execution_cached", ()) in [shape(m) for m in again]
    _, cached = run(comfy_server, ws, cache_graph())
    assert ("execution_cached", ("1", "2", "3", "4")) in [shape(m) for m in cached]
    assert requests.post(comfy_server.url + "/free", json={"free_memory": True}).status_code == 200
    _, fresh = run(comfy_server, ws, cache_graph())
    assert ("execution_cached", ()) in [shape(m) for m in fresh]
    assert len(list(comfy_server.output_dir.glob("fx_cache_*.png"))) == 3


def test_e_foreign_client_id_sees_only_status(comfy_server, comfy_ws):
    ws = comfy_ws()
    prompt_id = submit(comfy_server, None, cache_graph(), client_id="someone-else")
    wait_history(comfy_server, prompt_id)
    assert {m["type"] for m in ws.drain()} == {"status"}


# --- f: queue, cancel, interrupt -----------------------------------------------------------


def test_f_queue_delete_interrupt_and_clear(comfy_server, comfy_ws):
    slow(comfy_server)
    ws = comfy_ws()
    ids = [submit(comfy_server, ws, txt2img(seed=seed, steps=100)) for seed in range(4)]
    ws.until(lambda m: m["type"] == "progress")
    queue = get(comfy_server, "/queue").json()
    assert [item[1] for item in queue["queue_running"]] == ids[:1]
    assert [item[0] for item in queue["queue_pending"]] == [1, 2, 3]
    assert history(comfy_server, ids[0]) == {} and history(comfy_server, ids[1]) == {}
    front = submit(comfy_server, ws, txt2img(seed=9, steps=100), front=True)
    pending = [item[0] for item in get(comfy_server, "/queue").json()["queue_pending"]]
    heap = [1, 2, 3]
    heapq.heappush(heap, -4)
    assert pending == heap  # heap order, not sorted

    post = requests.post
    assert post(comfy_server.url + "/queue", json={"delete": [ids[2], "nope"]}).content == b""
    post(comfy_server.url + "/interrupt", json={"prompt_id": ids[3]})  # pending: a no-op
    post(comfy_server.url + "/interrupt", json={"prompt_id": ids[0]})
    first = ws.until_done(ids[0])
    interrupted = next(m["data"] for m in first if m["type"] == "execution_interrupted")
    assert interrupted["node_id"] == "3" and interrupted["node_type"] == "KSampler"
    assert set(interrupted) == {"prompt_id", "node_id", "node_type", "executed", "timestamp"}
    ws.until(lambda m: m["type"] == "progress" and m["data"]["prompt_id"] == front)
    post(comfy_server.url + "/interrupt", data=b"")  # no body: whatever runs
    ws.until_done(front)
    ws.until(lambda m: m["type"] == "progress" and m["data"]["prompt_id"] == ids[1])
    post(comfy_server.url + "/queue", json={"clear": True})
    post(comfy_server.url + "/interrupt")
    ws.until_done(ids[1])
    assert get(comfy_server, "/queue").json() == {"queue_running": [], "queue_pending": []}
    status = history(comfy_server, ids[0])["status"]
    assert status["status_str"] == "error" and status["completed"] is False
    assert status["messages"][-1][0] == "execution_interrupted"
    assert history(comfy_server, ids[2]) == {} and history(comfy_server, ids[3]) == {}
    page = get(comfy_server, "/history", max_items=1).json()
    assert list(page) == [ids[1]]
    assert list(get(comfy_server, "/history", max_items=1, offset=0).json()) == [ids[0]]
    post(comfy_server.url + "/history", json={"delete": [ids[0]]})
    assert history(comfy_server, ids[0]) == {}


def test_f_interrupt_with_nothing_running_is_lost(comfy_server, comfy_ws):
    ws = comfy_ws()
    requests.post(comfy_server.url + "/interrupt", json={})
    _, messages = run(comfy_server, ws, basic_image())
    assert "execution_success" in types(messages)


# --- g: uploads ----------------------------------------------------------------------------


def _png(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(server: ComfyServer, name: str, data: bytes, **form: str) -> requests.Response:
    files = {"image": (name, data, "image/png")}
    return requests.post(server.url + "/upload/image", files=files, data=form, timeout=5)


def test_g_upload_dedupe_rename_overwrite_and_errors(comfy_server):
    red, blue = _png((255, 0, 0)), _png((0, 0, 255))
    answer = {"name": "fx_upload.png", "subfolder": "", "type": "input"}
    assert upload(comfy_server, "fx_upload.png", red).json() == answer
    assert upload(comfy_server, "fx_upload.png", red).json() == answer  # same bytes: reused
    renamed = upload(comfy_server, "fx_upload.png", blue).json()
    assert renamed["name"] == "fx_upload (1).png"
    assert upload(comfy_server, "fx_upload.png", blue, overwrite="true").json() == answer
    assert (comfy_server.input_dir / "fx_upload.png").read_bytes() == blue
    sub = upload(comfy_server, "fx_sub.png", red, subfolder="fxsub", type="input", overwrite="1")
    assert sub.json() == {"name": "fx_sub.png", "subfolder": "fxsub", "type": "input"}
    assert upload(comfy_server, "t.png", red, type="temp").json()["type"] == "temp"
    files = {"notimage": ("x.png", red, "image/png")}
    missing = requests.post(comfy_server.url + "/upload/image", files=files, timeout=5)
    assert missing.status_code == 400 and missing.content == b""
    evil = upload(comfy_server, "evil.png", red, subfolder="../../")
    assert evil.status_code == 400 and evil.content == b""
    view = get(comfy_server, "/view", filename="fx_sub.png", subfolder="fxsub", type="input")
    assert view.content == red
    combo = get(comfy_server, "/object_info/LoadImage").json()["LoadImage"]["input"]["required"]
    assert combo["image"][0] == ["example.png", "fx_upload (1).png", "fx_upload.png"]


def test_g_load_image_uploads_and_non_images(comfy_server, comfy_ws):
    upload(comfy_server, "fx_sub.png", _png((1, 2, 3)), subfolder="fxsub")
    upload(comfy_server, "not_really.png", b"definitely not a png")
    ws = comfy_ws()
    for name in ("fxsub/fx_sub.png", "example.png [input]"):
        graph = {"1": {"class_type": "LoadImage", "inputs": {"image": name}},
                 "2": {**PREVIEW, "inputs": {"images": ["1", 0]}}}  # fmt: skip
        _, messages = run(comfy_server, ws, graph)
        assert "execution_success" in types(messages)
    graph = {"1": {"class_type": "LoadImage", "inputs": {"image": "not_really.png"}}, "2": PREVIEW}
    _, messages = run(comfy_server, ws, graph)
    error = next(m["data"] for m in messages if m["type"] == "execution_error")
    assert error["exception_type"] == "PIL.UnidentifiedImageError"
    assert error["current_inputs"] == {"image": ["not_really.png"]} and error["executed"] == []


# --- h: reconnects and two sockets with one clientId ---------------------------------------


def test_h_reconnect_mid_job_gets_status_and_a_bare_executing(comfy_server, comfy_ws):
    slow(comfy_server)
    ws = comfy_ws()
    prompt_id = submit(comfy_server, ws, txt2img(steps=25))
    ws.until(lambda m: m["type"] == "progress")
    ws.close()
    assert history(comfy_server, prompt_id) == {}
    back = comfy_ws(ws.client_id)
    assert back.hello["data"]["sid"] == ws.client_id
    assert back.recv() == {"type": "executing", "data": {"node": "3"}}
    other = comfy_ws()
    rest = back.until_done(prompt_id)
    assert "progress" in types(rest) and "execution_success" in types(rest)
    assert {m["type"] for m in other.drain(0.1)} == {"status"}
    after = comfy_ws(ws.client_id)
    assert after.silent_for(0.1)  # finished: only the status greeting


def test_h_abrupt_drop_mid_job(comfy_server, comfy_ws):
    slow(comfy_server, 0.01)
    ws = comfy_ws()
    comfy_server.drop_websocket_on("progress")
    prompt_id = submit(comfy_server, ws, txt2img(steps=30))
    with pytest.raises((websocket.WebSocketException, OSError)):
        ws.until_done(prompt_id)
    back = comfy_ws(ws.client_id)
    assert back.recv()["type"] == "executing"
    assert "execution_success" in types(back.until_done(prompt_id))


def test_h_two_sockets_with_one_client_id_go_deaf(comfy_server, comfy_ws):
    first = comfy_ws()
    second = comfy_ws(first.client_id)
    prompt_id, messages = run(comfy_server, second, basic_image())
    assert "execution_success" in types(messages)
    assert first.silent_for(0.1)  # not even the status broadcasts
    first.close()
    deadline = time.monotonic() + 2
    while first.client_id in comfy_server.state.hub.sockets and time.monotonic() < deadline:
        time.sleep(0.01)
    prompt_id = submit(comfy_server, second, basic_image("fx_deaf"))
    wait_history(comfy_server, prompt_id)
    assert second.silent_for(0.2)  # the older socket's cleanup unregistered the newer one


# --- i: crash and restart ------------------------------------------------------------------


def test_i_restart_loses_memory_but_keeps_files(comfy_server, comfy_ws):
    ws = comfy_ws()
    before, _ = run(comfy_server, ws, basic_image("fx_before_restart"))
    run(comfy_server, ws, {"1": _image(), "2": PREVIEW})
    assert list(comfy_server.temp_dir.iterdir())
    slow(comfy_server)
    running = submit(comfy_server, ws, txt2img(steps=100))
    pending = submit(comfy_server, ws, txt2img(steps=100, seed=1))
    ws.until(lambda m: m["type"] == "progress")
    port = comfy_server.port
    comfy_server.restart()
    with pytest.raises((websocket.WebSocketConnectionClosedException, OSError)):
        ws.until_done(running, timeout=2)
    assert comfy_server.port == port
    for prompt_id in (before, running, pending):
        assert history(comfy_server, prompt_id) == {}
    assert get(comfy_server, "/history").json() == {}
    assert get(comfy_server, "/queue").json() == {"queue_running": [], "queue_pending": []}
    assert get(comfy_server, "/view", filename="fx_before_restart_00001_.png").status_code == 200
    assert not list(comfy_server.temp_dir.iterdir())
    after = comfy_ws(ws.client_id)
    response = post_prompt(
        comfy_server, {"prompt": basic_image("fx_before_restart"), "client_id": after.client_id}
    ).json()
    assert response["number"] == 0
    messages = after.until_done(response["prompt_id"])
    assert ("execution_cached", ()) in [shape(m) for m in messages]
    outputs = history(comfy_server, response["prompt_id"])["outputs"]
    assert outputs["9"]["images"][0]["filename"] == "fx_before_restart_00002_.png"


def test_i_killed_server_refuses_connections(comfy_server):
    comfy_server.kill()
    with pytest.raises(requests.ConnectionError):
        requests.get(comfy_server.url + "/system_stats", timeout=2)
    comfy_server.start(comfy_server.port)
    assert get(comfy_server, "/system_stats").status_code == 200


def test_fault_injection_token_and_failing_nodes(comfy_server, comfy_ws):
    comfy_server.require_token("sesame")
    assert get(comfy_server, "/system_stats").status_code == 401
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(comfy_server.url.replace("http", "ws") + "/ws")
    auth = {"Authorization": "Bearer sesame"}
    ok = requests.get(comfy_server.url + "/system_stats", headers=auth, timeout=5)
    assert ok.status_code == 200
    comfy_server.require_token(None)
    comfy_server.fail_node("KSampler", exception_type="torch.OutOfMemoryError",
                           message="Allocation on device 0 would exceed allowed memory.",
                           times=1)  # fmt: skip
    ws = comfy_ws()
    _, messages = run(comfy_server, ws, txt2img())
    error = next(m["data"] for m in messages if m["type"] == "execution_error")
    assert error["exception_type"] == "torch.OutOfMemoryError"
    assert error["node_id"] == "3"
    _, messages = run(comfy_server, ws, txt2img())
    assert "execution_success" in types(messages)
    comfy_server.refuse_websockets(502)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(comfy_server.url.replace("http", "ws") + "/ws")
    assert refused.value.status_code == 502
