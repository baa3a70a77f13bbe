"""Old and new ComfyUI with one client: what it detects per server, the path it takes (the Jobs API
or /history + /queue + /interrupt), and answers that are late, refused or hostile. Every test
runs against the recorded 0.3.64 profile of the project's protocol server and its current one."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import requests

from core.errors import JobCancelled, NotRunnableHere, PermanentBackendError
from executors.backends.comfyui import (
    TAKEBOARD_WORKFLOW_ID,
    ComfyClient,
    NodeStarted,
    Preview,
    Progress,
)
from executors.demo_server import ComfyServer
from tests.comfyui_server.examples import basic_image, txt2img
from tests.integration.comfyui.conftest import in_thread
from tests.waiting import wait_for


def current(server: ComfyServer) -> bool:
    return server.profile == "current"


def saved_files(server: ComfyServer) -> list[str]:
    """Every file the server's save nodes wrote: one per execution of a one-output graph."""
    return sorted(p.name for p in server.output_dir.rglob("*") if p.is_file())


# --- what a server supports ----------------------------------------------------------------


def test_features_are_detected_per_server(comfy_server, client):
    features = client.features()
    assert features.jobs is current(comfy_server)
    assert features.api() == {"jobs": current(comfy_server), "assets": False}
    assert features.version == ("0.38.1" if current(comfy_server) else "0.3.64")
    assert features.node_replacements is current(comfy_server)


def test_prompt_ids_are_canonical_uuids_the_server_keeps(comfy_server, client):
    result = client.run(basic_image())
    assert str(uuid.UUID(result.prompt_id)) == result.prompt_id
    state = client.lookup(result.prompt_id)
    assert state is not None and state.status == "completed"
    assert [o.filename for o in state.outcome.outputs] == [o.filename for o in result.outputs]


def test_the_old_prompt_id_shape_is_refused_by_current_servers(comfy_server, client):
    if not current(comfy_server):
        assert client.run(basic_image(), prompt_id="takeboard-12-ab34cd").outputs
        return
    with pytest.raises(PermanentBackendError) as refused:
        client.run(basic_image(), prompt_id="takeboard-12-ab34cd")
    assert "prompt_id must be a valid UUID" in str(refused.value)


def test_takeboard_prompts_are_stamped_for_the_jobs_list(comfy_server, client):
    result = client.run(basic_image())
    if not current(comfy_server):
        return
    query = {"workflow_id": TAKEBOARD_WORKFLOW_ID}
    jobs = requests.get(f"{comfy_server.url}/api/jobs", params=query, timeout=5).json()["jobs"]
    assert result.prompt_id in [job["id"] for job in jobs]
    others = requests.get(f"{comfy_server.url}/api/jobs", params={"workflow_id": "x"}, timeout=5)
    assert result.prompt_id not in [job["id"] for job in others.json()["jobs"]]


def test_preview_method_is_sent_with_every_prompt(comfy_server):
    quiet = ComfyClient(comfy_server.url, preview_method="none")
    first = quiet.run(basic_image()).prompt_id
    second = ComfyClient(comfy_server.url).run(basic_image()).prompt_id
    assert comfy_server.preview_methods == {first: "none", second: "auto"}


# --- crash recovery and cancel on both paths -----------------------------------------------


def test_a_prompt_sent_before_a_crash_is_harvested_by_attach(comfy_server, client):
    prompt_id = str(uuid.uuid4())
    body = {"prompt": basic_image("before_crash"), "prompt_id": prompt_id}
    assert requests.post(f"{comfy_server.url}/prompt", json=body, timeout=5).ok
    result = client.attach(prompt_id, timeout_s=10)
    assert result is not None and result.prompt_id == prompt_id
    assert [o.filename for o in result.outputs] == saved_files(comfy_server)
    assert client.attach(str(uuid.uuid4()), timeout_s=10) is None  # never sent: submit again


def test_cancelling_a_pending_prompt_leaves_the_running_one_alone(comfy_server, client):
    comfy_server.set_step_delay(0.02)
    running, first = in_thread(client.run, txt2img(steps=40))
    assert wait_for(lambda: comfy_server.state.executor.queue.running, 5)
    cancel = threading.Event()
    pending, second = in_thread(client.run, txt2img(seed=7), cancel=cancel)
    assert wait_for(lambda: len(client.queue()["queue_pending"]) == 1, 5)
    cancel.set()
    pending.join(10)
    running.join(20)
    assert isinstance(second["error"], JobCancelled)
    assert "error" not in first and first["result"].outputs
    assert client.queue() == {"queue_running": [], "queue_pending": []}


def test_cancel_stops_only_the_running_prompt(comfy_server, client):
    comfy_server.set_step_delay(0.02)
    cancel = threading.Event()
    running, first = in_thread(client.run, txt2img(steps=100), cancel=cancel)
    assert wait_for(lambda: comfy_server.state.executor.queue.running, 5)
    pending, second = in_thread(client.run, txt2img(seed=7, steps=3))
    assert wait_for(lambda: len(client.queue()["queue_pending"]) == 1, 5)
    cancel.set()
    running.join(10)
    pending.join(20)
    assert isinstance(first["error"], JobCancelled)
    assert "error" not in second and second["result"].outputs


# --- late, refused and hostile answers -----------------------------------------------------


@pytest.mark.parametrize("socket", [True, False])
def test_a_record_that_lags_execution_success_is_waited_for(comfy_server, client, socket):
    if not socket:
        comfy_server.refuse_websockets(502)
    comfy_server.history_lag(1.0)  # ComfyUI issue #11540
    result = client.run(basic_image())
    assert [o.filename for o in result.outputs] == saved_files(comfy_server)


def test_a_missing_node_type_names_node_class_title_and_the_fix(comfy_server, client):
    graph = {**basic_image(), "5": {"class_type": "NoSuchNode", "inputs": {}}}
    graph["5"]["_meta"] = {"title": "Magic"}
    with pytest.raises(PermanentBackendError) as caught:
        client.run(graph)  # refused before anything is sent (object_info)
    client.validate = lambda workflow: None  # now the server's own refusal
    with pytest.raises(PermanentBackendError) as refused:
        client.run(graph)
    for error in (caught.value, refused.value):
        message = str(error)
        assert 'node 5 (NoSuchNode "Magic") needs node class NoSuchNode, which this' in message
        assert "install the custom node that provides it, or use another server" in message
        assert "\n" not in message


def test_a_missing_model_names_the_file_and_what_the_server_has(comfy_server, client):
    client.validate = lambda workflow: None  # the server's refusal, not the client's check
    with pytest.raises(PermanentBackendError) as refused:
        client.run(txt2img(ckpt="dreamshaper_8.safetensors"))
    message = str(refused.value)
    assert "node 4 (CheckpointLoaderSimple): model file 'dreamshaper_8.safetensors'" in message
    assert "(ckpt_name) is not on the server" in message
    assert "the server has: " in message and "sd_v1-5.safetensors" in message


def test_progress_never_goes_backwards_on_a_long_graph(comfy_server, client):
    graph: dict[str, Any] = {"0": basic_image()["3"]}
    for n in range(1, 120):
        graph[str(n)] = {"class_type": "ImageInvert", "inputs": {"image": [str(n - 1), 0]}}
    graph["save"] = {
        "class_type": "SaveImage",
        "inputs": {"images": ["119", 0], "filename_prefix": "long"},
    }
    events: list[Any] = []
    client.run(graph, on_event=events.append)
    fractions = [e.fraction for e in events if isinstance(e, NodeStarted | Progress)]
    assert len(fractions) >= 120 and fractions == sorted(fractions)
    assert 0.95 < fractions[-1] <= 1


@pytest.mark.parametrize(
    ("route", "body", "expected"),
    [
        ("/queue", [], "malformed answer to /queue: the answer is a list, not an object"),
        ("/system_stats", "[" * 100_000 + "]" * 100_000, "did not answer with JSON (nested"),
    ],
)
def test_hostile_answers_fail_in_one_line(comfy_server, client, route, body, expected):
    comfy_server.hostile_json(route, body)
    with pytest.raises(PermanentBackendError) as caught:
        client.queue() if route == "/queue" else client.system_stats()
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_a_hostile_record_of_the_prompt_fails_the_run_cleanly(comfy_server, client):
    comfy_server.hostile_json("/history/*", {"x": 1} if current(comfy_server) else [1, 2])
    comfy_server.hostile_json("/api/jobs/*", {"status": "completed", "outputs": "nope"})
    with pytest.raises(
        PermanentBackendError, match="sent a malformed answer to /(history|api/jobs)"
    ):
        client.run(basic_image())


def test_garbage_progress_and_crafted_previews_are_dropped(comfy_server, client):
    comfy_server.garbage_progress("abc")
    comfy_server.crafted_previews()
    events: list[Any] = []
    result = client.run(txt2img(steps=3), on_event=events.append)
    assert result.outputs
    assert all(isinstance(e.value, int) for e in events if isinstance(e, Progress))
    assert all(p.mime.startswith("image/") for p in events if isinstance(p, Preview))


def test_a_login_page_from_view_is_not_a_take(comfy_server, client):
    result = client.run(basic_image())
    comfy_server.html_view()
    with pytest.raises(PermanentBackendError, match="sent text/html for fx_basic_00001_.png"):
        b"".join(client.stream(result.outputs[0]))


def test_a_node_the_server_replaces_is_not_reported_missing(comfy_server, client):
    graph = basic_image("renamed")
    graph["9"]["class_type"] = "SaveImageLegacy"  # a class renamed since the template was made
    if not current(comfy_server):
        with pytest.raises(NotRunnableHere, match="needs node class SaveImageLegacy"):
            client.run(graph)
        return
    comfy_server.replace_node(
        "SaveImageLegacy",
        "SaveImage",
        input_mapping=[
            {"new_id": "images", "old_id": "images"},
            {"new_id": "filename_prefix", "old_id": "filename_prefix"},
        ],
    )
    client.forget()  # the server changed its replacements since this client first asked
    assert "SaveImageLegacy" in client.node_replacements()
    assert client.run(graph).outputs[0].filename.startswith("renamed")
