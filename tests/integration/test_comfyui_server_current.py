"""The fake ComfyUI's "current" profile against the newest Comfy-Org/ComfyUI sources.

Each test names the source it follows: server.py@002c3fb9 (post_prompt, the /api/jobs routes,
system_stats, get_features), comfy_execution/jobs.py@172be438 (job shapes, cancel),
execution.py@04e2a914 (validate_prompt, validate_inputs, PromptQueue), comfy_api/feature_flags.py
@1924b05e, latent_preview.py@2d619ed9, comfy_api/latest/_ui.py@255ec426, comfy_api/latest/
_io.py@04e2a914 (DynamicCombo), comfy_extras/nodes_video.py@39b885fa (SaveVideo).
Plain requests + websocket-client only: no Takeboard code.
"""

from __future__ import annotations

import os
import re
import sys
import time
import uuid
from typing import Any

import pytest
import requests

from executors.demo_server import ComfyServer
from tests.comfyui_server.examples import audio_outputs, basic_image, txt2img
from tests.comfyui_server.probe import Probe
from tests.waiting import wait_for

INVALID_PROMPT_ID = {
    "error": {
        "type": "invalid_prompt_id",
        "message": "prompt_id must be a valid UUID",
        "details": "prompt_id must be a UUID string in canonical lowercase hyphenated form; "
        "omit it to let the server generate one",
        "extra_info": {},
    },
    "node_errors": {},
}


@pytest.fixture
def comfy_profile() -> str:
    return "current"


# --- helpers -----------------------------------------------------------------------------------


def post(server: ComfyServer, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
    return requests.post(server.url + path, json=body, timeout=5, **kwargs)


def get(server: ComfyServer, path: str, **params: Any) -> requests.Response:
    return requests.get(server.url + path, params=params, timeout=5)


def submit(server: ComfyServer, workflow: dict, probe: Probe | None = None, **extra: Any) -> str:
    body = {"prompt": workflow, **extra}
    if probe is not None:
        body["client_id"] = probe.client_id
    response = post(server, "/prompt", body)
    assert response.status_code == 200, response.text
    return response.json()["prompt_id"]


def job(server: ComfyServer, prompt_id: str) -> dict:
    return get(server, f"/api/jobs/{prompt_id}").json()


def finished(server: ComfyServer, prompt_id: str) -> dict:
    assert wait_for(
        lambda: job(server, prompt_id).get("status") not in (None, "pending", "in_progress"), 10
    )
    return job(server, prompt_id)


def tagged(workflow_id: str) -> dict:
    return {"extra_pnginfo": {"workflow": {"id": workflow_id}}}


def busy(server: ComfyServer, probe: Probe) -> str:
    """A long prompt that is running (its sampler has started) when this returns."""
    server.set_step_delay(0.05)
    prompt_id = submit(server, txt2img(steps=400, prefix="busy"), probe)
    probe.until(lambda m: m["type"] == "progress" and m["data"]["prompt_id"] == prompt_id)
    return prompt_id


# --- POST /prompt: ids, create_time, queue items (server.py post_prompt, get_queue) -----------


@pytest.mark.parametrize(
    "bad_id",
    [
        "takeboard-12-ab34cd",
        str(uuid.uuid4()).upper(),
        uuid.uuid4().hex,
        "{" + str(uuid.uuid4()) + "}",
        12345,
    ],
)
def test_a_client_prompt_id_must_be_a_canonical_uuid(comfy_server, bad_id):
    response = post(comfy_server, "/prompt", {"prompt": basic_image(), "prompt_id": bad_id})
    assert response.status_code == 400 and response.json() == INVALID_PROMPT_ID
    # the refused POST used up queue number 0 (server.py: self.number += 1 comes first)
    accepted = post(comfy_server, "/prompt", {"prompt": basic_image(), "prompt_id": None})
    assert accepted.json()["number"] == 1
    minted = accepted.json()["prompt_id"]
    assert str(uuid.UUID(minted)) == minted
    mine = str(uuid.uuid4())
    echoed = post(comfy_server, "/prompt", {"prompt": basic_image(), "prompt_id": mine}).json()
    assert echoed["prompt_id"] == mine and echoed["number"] == 2


def test_the_recorded_profile_still_takes_any_prompt_id(tmp_path):
    server = ComfyServer(tmp_path)
    server.start()
    try:
        response = post(server, "/prompt", {"prompt": basic_image(), "prompt_id": "takeboard-1"})
        assert response.status_code == 200 and response.json()["prompt_id"] == "takeboard-1"
    finally:
        server.stop()


def test_queue_items_have_five_elements_a_create_time_and_no_secret(comfy_server, comfy_ws):
    probe = comfy_ws()
    running = busy(comfy_server, probe)
    before = int(time.time() * 1000)
    extra = {**tagged("wf-secret"), "api_key_comfy_org": "sk-very-secret"}
    pending = submit(comfy_server, basic_image(), probe, extra_data=extra)
    queue = get(comfy_server, "/queue").json()
    (item,) = queue["queue_pending"]
    assert len(item) == 5 and len(queue["queue_running"][0]) == 5
    assert item[1] == pending and before <= item[3]["create_time"] <= int(time.time() * 1000)
    for path in ("/queue", "/api/jobs", f"/api/jobs/{pending}", f"/api/jobs/{running}"):
        assert "sk-very-secret" not in get(comfy_server, path).text, path
    post(comfy_server, "/interrupt")
    assert "sk-very-secret" not in get(comfy_server, f"/history/{pending}").text


# --- the Jobs API (server.py get_jobs/get_job_by_id/cancel_*; jobs.py) --------------------------


def test_jobs_list_filters_sorts_and_pages(comfy_server):
    comfy_server.fail_node("ImageInvert", message="boom", times=1)
    ids = [
        submit(comfy_server, basic_image(prefix="a"), extra_data=tagged("wf-a")),
        submit(comfy_server, basic_image(prefix="b"), extra_data=tagged("wf-b")),
        submit(comfy_server, inverted(prefix="c"), extra_data=tagged("wf-a")),
    ]
    statuses = [finished(comfy_server, prompt_id)["status"] for prompt_id in ids]
    assert statuses == ["completed", "completed", "failed"]
    listed = get(comfy_server, "/api/jobs").json()
    assert [j["id"] for j in listed["jobs"]] == ids[::-1]  # created_at, newest first
    assert listed["pagination"] == {"offset": 0, "limit": None, "total": 3, "has_more": False}
    ascending = get(comfy_server, "/api/jobs", sort_order="asc").json()["jobs"]
    assert [j["id"] for j in ascending] == ids
    mine = get(comfy_server, "/api/jobs", workflow_id="wf-a").json()["jobs"]
    assert {j["id"] for j in mine} == {ids[0], ids[2]} and {j["workflow_id"] for j in mine} == {
        "wf-a"
    }
    failed = get(comfy_server, "/api/jobs", status="failed,cancelled").json()["jobs"]
    assert [j["id"] for j in failed] == [ids[2]] and failed[0]["execution_error"][
        "exception_message"
    ] == "boom"
    page = get(comfy_server, "/api/jobs", limit=1, offset=1).json()
    assert [j["id"] for j in page["jobs"]] == [ids[1]]
    assert page["pagination"] == {"offset": 1, "limit": 1, "total": 3, "has_more": True}


def inverted(prefix: str) -> dict:
    workflow = basic_image(prefix=prefix)
    workflow["5"] = {"class_type": "ImageInvert", "inputs": {"image": ["3", 0]}}
    workflow["9"]["inputs"]["images"] = ["5", 0]
    return workflow


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"status": "done"},
            "Invalid status value(s): done. Valid values: "
            "pending, in_progress, completed, failed, cancelled",
        ),
        ({"sort_by": "name"}, "sort_by must be 'created_at' or 'execution_duration'"),
        ({"sort_order": "up"}, "sort_order must be 'asc' or 'desc'"),
        ({"limit": 0}, "limit must be a positive integer"),
        ({"limit": "x"}, "limit must be an integer"),
        ({"offset": "x"}, "offset must be an integer"),
    ],
)
def test_jobs_list_refuses_bad_queries(comfy_server, params, message):
    response = get(comfy_server, "/api/jobs", **params)
    assert response.status_code == 400 and response.json() == {"error": message}


def test_job_detail_shapes(comfy_server, comfy_ws):
    done = submit(comfy_server, basic_image(prefix="detail"), extra_data=tagged("wf-d"))
    detail = finished(comfy_server, done)
    assert detail["status"] == "completed" and detail["outputs_count"] == 1
    assert detail["preview_output"] == {
        "filename": "detail_00001_.png", "subfolder": "", "type": "output",
        "metadata": {"kind": "image", "width": 64, "height": 64},
        "nodeId": "9", "mediaType": "images",
    }  # fmt: skip
    assert detail["outputs"]["9"]["images"][0]["filename"] == "detail_00001_.png"
    assert detail["execution_status"]["status_str"] == "success"
    assert detail["workflow"]["prompt"] == basic_image(prefix="detail")
    assert detail["workflow"]["extra_data"]["extra_pnginfo"] == tagged("wf-d")["extra_pnginfo"]
    assert detail["execution_end_time"] >= detail["execution_start_time"] >= detail["create_time"]
    probe = comfy_ws()
    running = busy(comfy_server, probe)
    pending = submit(comfy_server, basic_image(prefix="later"), probe)
    assert job(comfy_server, running)["status"] == "in_progress"
    waiting = job(comfy_server, pending)
    assert waiting["status"] == "pending" and waiting["outputs_count"] == 0
    assert set(waiting) == {"id", "status", "priority", "create_time", "outputs_count",
                            "previewable_outputs_count", "workflow"}  # fmt: skip
    missing = get(comfy_server, f"/api/jobs/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json() == {"error": "Job not found"}
    post(comfy_server, "/interrupt")


def test_cancel_interrupts_only_that_job_and_dequeues_pending_ones(comfy_server, comfy_ws):
    probe = comfy_ws()
    running = busy(comfy_server, probe)
    second = submit(comfy_server, basic_image(prefix="second"), probe)
    third = submit(comfy_server, basic_image(prefix="third"), probe)
    assert post(comfy_server, f"/api/jobs/{second}/cancel").json() == {"cancelled": True}
    assert post(comfy_server, f"/api/jobs/{second}/cancel").json() == {"cancelled": False}
    assert [item[1] for item in get(comfy_server, "/queue").json()["queue_pending"]] == [third]
    assert post(comfy_server, f"/api/jobs/{running}/cancel").json() == {"cancelled": True}
    assert finished(comfy_server, running)["status"] == "cancelled"
    assert finished(comfy_server, third)["status"] == "completed"  # the next job ran on
    assert get(comfy_server, f"/api/jobs/{second}").status_code == 404
    assert post(comfy_server, f"/api/jobs/{third}/cancel").json() == {"cancelled": False}
    assert post(comfy_server, f"/api/jobs/{uuid.uuid4()}/cancel").json() == {"cancelled": False}


def test_batch_cancel_checks_every_id_first(comfy_server, comfy_ws):
    bad = post(comfy_server, "/api/jobs/cancel", {"job_ids": [str(uuid.uuid4()), "nope", 5]})
    assert bad.status_code == 400
    assert bad.json() == {"error": "job_ids contains invalid id(s)", "invalid_ids": ["nope", "5"]}
    not_list = post(comfy_server, "/api/jobs/cancel", {"job_ids": "x"})
    assert not_list.status_code == 400 and not_list.json() == {"error": "job_ids must be a list"}
    garbage = requests.post(comfy_server.url + "/api/jobs/cancel", data="{", timeout=5)
    assert garbage.status_code == 400
    assert garbage.json() == {"error": "Request body must be valid JSON"}
    probe = comfy_ws()
    running = busy(comfy_server, probe)
    pending = submit(comfy_server, basic_image(prefix="p"), probe)
    batch = {"job_ids": [pending, str(uuid.uuid4())]}
    assert post(comfy_server, "/api/jobs/cancel", batch).json() == {"cancelled": True}
    assert post(comfy_server, "/api/jobs/cancel", batch).json() == {"cancelled": False}
    assert post(comfy_server, "/api/jobs/cancel", {"job_ids": [running]}).json() == {
        "cancelled": True
    }


def test_only_the_current_profile_has_the_jobs_api(comfy_server, tmp_path):
    assert get(comfy_server, "/jobs").status_code == 404  # declared with the /api prefix only
    old = ComfyServer(tmp_path / "old")
    old.start()
    try:
        listing = get(old, "/api/jobs")  # the static web root's 404, as the real 0.3.64
        assert listing.status_code == 404
        assert listing.headers["Content-Type"] == "application/octet-stream"
        assert get(old, f"/api/jobs/{uuid.uuid4()}").status_code == 404
        assert post(old, "/api/jobs/cancel", {"job_ids": []}).status_code == 405
        assert post(old, f"/api/jobs/{uuid.uuid4()}/cancel").status_code == 405
        assert get(old, "/node_replacements").status_code == 404
    finally:
        old.stop()


# --- validation (execution.py validate_prompt / validate_inputs) -------------------------------


def test_unknown_and_missing_class_types_are_missing_node_type(comfy_server):
    node = {"class_type": "WanVideoMagic", "inputs": {}, "_meta": {"title": "Magic video"}}
    body = post(comfy_server, "/prompt", {"prompt": {**basic_image(), "7": node}}).json()
    assert body == {
        "error": {
            "type": "missing_node_type",
            "message": "Node 'Magic video' not found. The custom node may not be installed.",
            "details": "Node ID '#7'",
            "extra_info": {
                "node_id": "7",
                "class_type": "WanVideoMagic",
                "node_title": "Magic video",
            },
        },
        "node_errors": {},
    }
    untitled = post(comfy_server, "/prompt", {"prompt": {"7": {"class_type": "X", "inputs": {}}}})
    assert (
        untitled.json()["error"]["message"]
        == "Node 'X' not found. The custom node may not be installed."
    )
    classless = post(comfy_server, "/prompt", {"prompt": {"5": {"inputs": {}}}}).json()["error"]
    assert classless["type"] == "missing_node_type"
    assert classless["message"] == (
        "Node 'ID #5' has no class_type. The workflow may be corrupted or a custom node is missing."
    )
    assert classless["extra_info"] == {"node_id": "5", "class_type": None, "node_title": None}


def test_value_not_in_list_repr_and_combo_options_shape(comfy_server):
    body = post(comfy_server, "/prompt", {"prompt": txt2img(ckpt="nope.safetensors")}).json()
    (reason,) = body["node_errors"]["4"]["errors"]
    options = get(comfy_server, "/object_info/CheckpointLoaderSimple").json()
    listed = options["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
    assert reason["details"] == f"ckpt_name: 'nope.safetensors' not in {listed}"
    mp3 = audio_outputs()
    mp3["3"]["inputs"]["quality"] = "999k"
    (reason,) = post(comfy_server, "/prompt", {"prompt": mp3}).json()["node_errors"]["3"]["errors"]
    assert reason["type"] == "value_not_in_list"
    assert reason["details"] == "quality: '999k' not in ['V0', '128k', '320k']"
    assert reason["extra_info"]["input_config"][0] == "COMBO"  # a V3 combo, checked the same


def save_video(**inputs: Any) -> dict:
    frames = {"width": 32, "height": 32, "batch_size": 3, "color": 0}
    return {
        "1": {"class_type": "EmptyImage", "inputs": frames},
        "2": {"class_type": "CreateVideo", "inputs": {"images": ["1", 0], "fps": 16.0}},
        "3": {
            "class_type": "SaveVideo",
            "inputs": {"video": ["2", 0], "filename_prefix": "video/v", **inputs},
        },
    }


def test_dynamic_combo_inputs_arrive_flattened(comfy_server, comfy_ws):
    good = {"format": "mp4", "format.codec": "h264", "format.codec.encoding": "re-encode",
            "format.codec.encoding.crf": 20.0}  # fmt: skip
    probe = comfy_ws()
    prompt_id = submit(comfy_server, save_video(**good), probe)
    executed = [m for m in probe.until_done(prompt_id) if m["type"] == "executed"]
    assert executed[0]["data"]["output"]["animated"] == [True]
    assert executed[0]["data"]["output"]["images"][0]["filename"] == "v_00001_.mp4"
    too_high = post(
        comfy_server, "/prompt", {"prompt": save_video(**{**good, "format.codec.encoding.crf": 99})}
    )
    (reason,) = too_high.json()["node_errors"]["3"]["errors"]
    assert reason["type"] == "value_bigger_than_max"
    assert reason["extra_info"]["input_name"] == "format.codec.encoding.crf"
    without_crf = {**good}
    del without_crf["format.codec.encoding.crf"]
    body = post(comfy_server, "/prompt", {"prompt": save_video(**without_crf)}).json()
    (reason,) = body["node_errors"]["3"]["errors"]
    assert (reason["type"], reason["details"]) == ("required_input_missing", "crf")
    assert reason["extra_info"] == {"input_name": "format.codec.encoding.crf"}
    # an absent dynamic input is never missing: the 0.3.x shape still validates
    for legacy in ({"format": "auto", "codec": "auto"}, {"format": "mp4"}):
        assert post(comfy_server, "/prompt", {"prompt": save_video(**legacy)}).status_code == 200


# --- /object_info, /system_stats, /features ------------------------------------------------


def test_object_info_of_a_current_server(comfy_server, tmp_path):
    info = get(comfy_server, "/object_info").json()
    assert len(info) >= 496
    for name in ("SaveAudio", "SaveAudioMP3", "SaveAudioOpus"):
        assert info[name]["deprecated"] is True
    assert info["SaveAudioMP3"]["input"]["required"]["quality"] == [
        "COMBO", {"default": "V0", "multiselect": False, "options": ["V0", "128k", "320k"]},
    ]  # fmt: skip
    assert isinstance(info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0], list)
    kind, spec = info["SaveVideo"]["input"]["required"]["format"]
    assert kind == "COMFY_DYNAMICCOMBO_V3"
    assert [o["key"] for o in spec["options"]] == ["auto", "mp4", "mkv", "webm"]
    old = ComfyServer(tmp_path / "old")
    old.start()
    try:
        old_info = get(old, "/object_info/SaveAudioMP3").json()["SaveAudioMP3"]
        assert old_info.get("deprecated") is not True
        assert old_info["input"]["required"]["quality"][0] == ["V0", "128k", "320k"]
    finally:
        old.stop()


def test_nodes_without_behaviour_validate_and_pass_through(comfy_server, comfy_ws):
    sharpen = {
        "class_type": "ImageSharpen",
        "inputs": {"image": ["3", 0], "sharpen_radius": 2, "sigma": 1.0, "alpha": 1.0},
    }
    workflow = {**basic_image(prefix="sharp"), "4": sharpen}
    workflow["9"]["inputs"]["images"] = ["4", 0]
    probe = comfy_ws()
    prompt_id = submit(comfy_server, workflow, probe)
    types = [m["type"] for m in probe.until_done(prompt_id)]
    assert "execution_success" in types
    assert (comfy_server.output_dir / "sharp_00001_.png").is_file()


def test_system_stats_of_a_current_server(tmp_path):
    memory = {"vram_total": 16, "vram_free": 8, "torch_vram_total": 16, "torch_vram_free": 8}
    second = {"name": "cuda:1 NVIDIA RTX A4000", "type": "cuda", "index": 1, **memory}
    server = ComfyServer(tmp_path, profile="current", extra_devices=[second])
    server.start()
    try:
        stats = get(server, "/system_stats").json()
    finally:
        server.stop()
    assert stats["system"]["os"] == sys.platform
    assert re.fullmatch(r"0\.38\.\d+", stats["system"]["comfyui_version"])
    assert stats["system"]["deploy_environment"] == "local-git"
    assert {p["name"] for p in stats["system"]["comfy_package_versions"]} >= {
        "comfyui-frontend-package"
    }
    assert [d["index"] for d in stats["devices"]] == [0, 1] and stats["devices"][1] == second


def test_device_types_other_than_cuda(tmp_path):
    server = ComfyServer(tmp_path, profile="current", device_name="mps", device_type="mps")
    server.start()
    try:
        (device,) = get(server, "/system_stats").json()["devices"]
    finally:
        server.stop()
    assert (device["name"], device["type"], device["index"]) == ("mps", "mps", None)


def test_the_recorded_profile_keeps_its_system_stats(tmp_path):
    server = ComfyServer(tmp_path, extra_devices=[{"name": "ignored"}])
    server.start()
    try:
        stats = get(server, "/system_stats").json()
    finally:
        server.stop()
    assert stats["system"]["os"] == os.name and stats["system"]["comfyui_version"] == "0.3.64"
    assert "comfy_package_versions" not in stats["system"] and len(stats["devices"]) == 1


def test_features_and_their_websocket_answer(comfy_server, comfy_ws):
    expected = {
        "supports_preview_metadata": True,
        "supports_model_type_tags": True,
        "max_upload_size": 100 * 1024 * 1024,
        "extension": {"manager": {"supports_v4": True}},
        "node_replacements": True,
        "assets": False,
    }
    assert get(comfy_server, "/features").json() == expected
    probe = comfy_ws(feature_flags=True)
    assert probe.recv() == {"type": "feature_flags", "data": expected}


# --- execution: preview_method, output shapes, history lag -------------------------------------


def binary_frames(messages: list[dict]) -> int:
    return sum(1 for m in messages if m["type"] == "binary")


def test_preview_method_none_turns_latent_previews_off(comfy_server, comfy_ws, tmp_path):
    probe = comfy_ws(feature_flags=True)
    probe.recv()  # the feature_flags answer
    quiet = submit(comfy_server, txt2img(seed=1), probe, extra_data={"preview_method": "none"})
    assert binary_frames(probe.until_done(quiet)) == 0
    loud = submit(comfy_server, txt2img(seed=2), probe, extra_data={"preview_method": "auto"})
    assert binary_frames(probe.until_done(loud)) == 4
    plain = submit(comfy_server, txt2img(seed=3), probe)
    assert comfy_server.preview_methods == {quiet: "none", loud: "auto", plain: None}
    assert job(comfy_server, quiet)["workflow"]["extra_data"]["preview_method"] == "none"
    old = ComfyServer(tmp_path / "old")  # 0.3.64 has no per-prompt preview method
    old.start()
    try:
        old_probe = Probe(old.url, "old-client")
        ignored = submit(old, txt2img(seed=1), old_probe, extra_data={"preview_method": "none"})
        assert binary_frames(old_probe.until_done(ignored)) == 4
        old_probe.close()
    finally:
        old.stop()


def test_current_output_shapes(comfy_server, comfy_ws):
    probe = comfy_ws()
    audio = submit(comfy_server, audio_outputs(), probe)
    probe.until_done(audio)
    outputs = get(comfy_server, f"/history/{audio}").json()[audio]["outputs"]
    assert outputs["2"]["audio"][0]["filename"] == "fx_00001.flac"
    assert re.fullmatch(r"ComfyUI_temp_[a-z]{5}_00001\.flac", outputs["5"]["audio"][0]["filename"])
    served = get(comfy_server, "/view", filename="fx_00001.flac", subfolder="audio")
    assert served.status_code == 200 and served.content[:4] == b"fLaC"
    longer = audio_outputs()
    longer["1"]["inputs"]["duration"] = 1.0  # not served from the cache
    again = submit(comfy_server, longer, probe)
    probe.until_done(again)
    saved = get(comfy_server, f"/history/{again}").json()[again]["outputs"]["2"]["audio"]
    assert saved[0]["filename"] == "fx_00002.flac"  # the counter reads the new names
    image = submit(comfy_server, basic_image(prefix="meta", size=48), probe)
    (executed,) = [m for m in probe.until_done(image) if m["type"] == "executed"]
    metadata = {"kind": "image", "width": 48, "height": 48}
    assert executed["data"]["output"]["images"][0]["metadata"] == metadata
    history = get(comfy_server, f"/history/{image}").json()[image]
    assert history["outputs"]["9"]["images"][0]["metadata"] == metadata


def test_history_lag_leaves_a_gap_after_execution_success(comfy_server, comfy_ws):
    comfy_server.history_lag(60)  # ComfyUI issue #11540
    probe = comfy_ws()
    prompt_id = submit(comfy_server, basic_image(prefix="lag"), probe)
    probe.until(lambda m: m["type"] == "execution_success")
    assert get(comfy_server, f"/history/{prompt_id}").json() == {}
    lagging = job(comfy_server, prompt_id)
    assert lagging["status"] == "in_progress" and "outputs" not in lagging
    assert probe.silent_for(0.2)  # no `executing` null before the history is written
    comfy_server.history_lag(0)
    done = finished(comfy_server, prompt_id)
    assert done["status"] == "completed" and done["outputs"]["9"]["images"]
    assert get(comfy_server, f"/history/{prompt_id}").json()[prompt_id]["outputs"]


# --- node replacements (app/node_replace_manager.py@b5d74ccb) ----------------------------------


def test_node_replacements_rewrite_unknown_classes_before_validation(comfy_server, comfy_ws):
    assert get(comfy_server, "/node_replacements").json() == {}
    comfy_server.replace_node(
        "OldInvert",
        "ImageInvert",
        input_mapping=[{"new_id": "image", "old_id": "pixels"}],
        output_mapping=[{"new_idx": 0, "old_idx": 1}],
    )
    assert get(comfy_server, "/api/node_replacements").json() == {
        "OldInvert": [
            {
                "new_node_id": "ImageInvert",
                "old_node_id": "OldInvert",
                "old_widget_ids": None,
                "input_mapping": [{"new_id": "image", "old_id": "pixels"}],
                "output_mapping": [{"new_idx": 0, "old_idx": 1}],
            }
        ]
    }
    workflow = basic_image(prefix="replaced")
    workflow["5"] = {"class_type": "OldInvert", "inputs": {"pixels": ["3", 0]}}
    workflow["9"]["inputs"]["images"] = ["5", 1]
    probe = comfy_ws()
    prompt_id = submit(comfy_server, workflow, probe)
    assert "execution_success" in [m["type"] for m in probe.until_done(prompt_id)]
    queued = job(comfy_server, prompt_id)["workflow"]["prompt"]
    assert queued["5"]["class_type"] == "ImageInvert" and queued["9"]["inputs"]["images"] == [
        "5",
        0,
    ]


def test_usage_source_header_is_recorded(comfy_server):
    headers = {"Comfy-Usage-Source": "takeboard"}
    body = {"prompt": basic_image(prefix="usage")}
    prompt_id = post(comfy_server, "/prompt", body, headers=headers).json()["prompt_id"]
    assert (
        job(comfy_server, prompt_id)["workflow"]["extra_data"]["comfy_usage_source"] == "takeboard"
    )


def test_single_frame_animations_and_view_headers(comfy_server, comfy_ws):
    still = {"width": 16, "height": 16, "batch_size": 1, "color": 0}
    workflow = {
        "1": {"class_type": "EmptyImage", "inputs": still},
        "2": {
            "class_type": "SaveAnimatedWEBP",
            "inputs": {"images": ["1", 0], "filename_prefix": "one", "fps": 6.0,
                       "lossless": False, "quality": 80, "method": "default"},
        },
    }  # fmt: skip
    probe = comfy_ws()
    prompt_id = submit(comfy_server, workflow, probe)
    (executed,) = [m for m in probe.until_done(prompt_id) if m["type"] == "executed"]
    assert "animated" not in executed["data"]["output"]  # _ui.py SavedImages: only for > 1
    view = get(comfy_server, "/view", filename="one_00001_.webp")
    assert view.headers["X-Content-Type-Options"] == "nosniff"
