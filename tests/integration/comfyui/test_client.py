"""ComfyClient against the fake ComfyUI server (executors/demo_server), including every
client-side gotcha of §11 in shared/docs/comfyui-protocol.md."""

from __future__ import annotations

import io
import json
import socket
import struct
import threading
import uuid
from typing import Any

import pytest
import requests
import websocket
from PIL import Image

from core.errors import (
    InputError,
    JobCancelled,
    OutOfMemory,
    PermanentBackendError,
    StorageError,
    TransientBackendError,
)
from executors.backends.comfyui import (
    Accepted,
    Cached,
    ComfyClient,
    NodeStarted,
    OutputFile,
    Preview,
    Progress,
    RunResult,
)
from executors.backends.comfyui.run import TAKEBOARD_WORKFLOW_ID
from executors.backends.comfyui.tracker import Tracker
from executors.demo_server import ComfyServer
from executors.storage import write_stream
from tests.comfyui_server.examples import (
    audio_outputs,
    basic_image,
    cache_graph,
    txt2img,
    video_and_animation,
)
from tests.integration.comfyui.conftest import in_thread
from tests.waiting import wait_for

# prompt ids are canonical UUIDs: current ComfyUI refuses anything else
JOB_1_ID = str(uuid.uuid4())
RUN_ID = str(uuid.uuid4())
BLOCKER_ID = str(uuid.uuid4())
WAITING_ID = str(uuid.uuid4())
STUCK_ID = str(uuid.uuid4())
KEPT_ID = str(uuid.uuid4())


class Recorder:
    """on_event callback that keeps every event; can set a cancel flag on a condition."""

    def __init__(self, cancel_when: type | None = None):
        self.events: list[Any] = []
        self.cancel = threading.Event()
        self.cancel_when = cancel_when

    def __call__(self, event: Any) -> None:
        self.events.append(event)
        if self.cancel_when is not None and isinstance(event, self.cancel_when):
            self.cancel.set()

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def running_ids(server: ComfyServer) -> list[str]:
    queue = requests.get(server.url + "/queue", timeout=5).json()
    return [item[1] for item in queue["queue_running"]]


# --- successful runs -----------------------------------------------------------------------


def test_image_run_end_to_end(comfy_server, client, tmp_path):
    recorder = Recorder()
    result = client.run(
        txt2img(steps=3), prompt_id=JOB_1_ID, on_event=recorder, extra_pnginfo={"workflow": {}}
    )
    assert isinstance(result, RunResult) and result.prompt_id == JOB_1_ID
    [output] = result.outputs
    assert output == OutputFile("9", "image_00001_.png", "takeboard", "output", "image")
    assert result.cached is False
    queued, started, finished = (result.timings[k] for k in ("queued", "started", "finished"))
    assert queued <= started + 1 and started <= finished
    assert recorder.of(Cached) == [Cached(())]
    started_nodes = [(e.node, e.class_type) for e in recorder.of(NodeStarted)]
    assert ("3", "KSampler") in started_nodes and started_nodes[-1] == ("9", "SaveImage")
    steps = [(e.value, e.max) for e in recorder.of(Progress) if e.node == "3" and e.max == 3]
    assert steps == [(1, 3), (2, 3), (3, 3)]
    fractions = [e.fraction for e in recorder.of(Progress)]
    assert fractions == sorted(fractions) and 0 < fractions[-1] <= 1
    previews = recorder.of(Preview)
    assert len(previews) == 3 and previews[-1].mime == "image/jpeg"
    assert result.preview == previews[-1] and previews[-1].data.startswith(b"\xff\xd8")
    entry = client.history(JOB_1_ID)
    assert entry["prompt"][3]["client_id"]  # gotcha 1: we always send a client_id
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    path = write_stream(client.stream(output), downloads / "image.png").path
    assert Image.open(path).size == (64, 64) and json.loads(Image.open(path).text["workflow"]) == {
        "id": TAKEBOARD_WORKFLOW_ID  # GET /api/jobs?workflow_id=… lists Takeboard's prompts
    }
    assert [p.name for p in downloads.iterdir()] == ["image.png"]


def test_video_animated_audio_and_text_outputs(comfy_server, client):
    media = {(o.node_id, o.media, o.animated) for o in client.run(video_and_animation()).outputs}
    assert media == {
        ("10", "image", True),  # animated WEBP
        ("11", "image", True),  # APNG
        ("21", "video", True),  # mp4, reported under `images` (gotcha 8)
        ("22", "video", True),
    }
    audio = client.run(audio_outputs()).outputs
    assert {(o.node_id, o.media, o.type) for o in audio} == {
        ("2", "audio", "output"),
        ("3", "audio", "output"),
        ("4", "audio", "output"),
        ("5", "audio", "temp"),
    }
    graph = {
        **basic_image(),
        "7": {"class_type": "GetImageSize", "inputs": {"image": ["3", 0]}},
        "8": {"class_type": "PreviewAny", "inputs": {"source": ["7", 0]}},
    }
    outputs = client.run(graph).outputs
    [text] = [o for o in outputs if o.media == "text"]
    assert text.text == "64" and b"".join(client.stream(text)) == b"64"


def test_cached_resubmission_is_detected(comfy_server, client):
    first = client.run(cache_graph())
    recorder = Recorder()
    second = client.run(cache_graph(), on_event=recorder)
    assert first.cached is False and second.cached is True  # gotcha 7
    assert sorted(o.filename for o in second.outputs) == sorted(o.filename for o in first.outputs)
    assert recorder.of(Cached) == [Cached(("1", "2", "3", "4"))]
    assert recorder.of(NodeStarted) == []
    partly = client.run(cache_graph(prefix="other"))
    assert partly.cached is False


def test_websocket_drop_mid_job_falls_back_to_polling(comfy_server, client):
    comfy_server.set_step_delay(0.01)
    comfy_server.drop_websocket_on("progress")
    result = client.run(txt2img(steps=20))
    assert [o.filename for o in result.outputs] == ["image_00001_.png"]


def test_without_any_websocket_history_polling_still_completes(comfy_server, client):
    comfy_server.refuse_websockets(502)  # a proxy without WebSocket support
    recorder = Recorder()
    result = client.run(basic_image(), on_event=recorder)
    assert result.outputs[0].filename == "fx_basic_00001_.png"
    # only the HTTP answer's Accepted: no socket, so no progress events
    assert [type(e) for e in recorder.events] == [Accepted]


def test_a_deaf_socket_is_covered_by_history_polls(comfy_server, client):
    comfy_server.set_step_delay(0.01)
    recorder = Recorder(cancel_when=None)

    def deafen(event: Any) -> None:
        recorder(event)
        if isinstance(event, NodeStarted) and event.node == "3":
            comfy_server.deafen_websockets()  # gotcha 12: silence, no close

    result = client.run(txt2img(steps=10), on_event=deafen)
    assert result.outputs[0].filename == "image_00001_.png"
    assert all(not (isinstance(e, Progress) and e.value == 10) for e in recorder.events)


# --- rejected and failing prompts ----------------------------------------------------------


def test_client_side_validation_names_node_class_and_file(comfy_server, client):
    history = requests.get(comfy_server.url + "/history", timeout=5).json()
    with pytest.raises(PermanentBackendError) as missing:
        client.run(txt2img(ckpt="x.safetensors"))
    message = str(missing.value)
    assert "node 4 (CheckpointLoaderSimple): model file 'x.safetensors' (ckpt_name)" in message
    assert "sd_v1-5.safetensors" in message
    assert requests.get(comfy_server.url + "/history", timeout=5).json() == history  # not sent
    graph = {**basic_image(), "5": {"class_type": "NoSuchNode", "inputs": {}}, "6": "junk"}
    with pytest.raises(PermanentBackendError) as unknown:
        client.validate(graph)
    assert "node 5 (NoSuchNode) needs node class NoSuchNode" in str(unknown.value)
    assert "node 6 has no class_type" in str(unknown.value)


def test_server_rejection_lists_every_node_error(comfy_server, client):
    graph = txt2img(steps=0)
    graph["3"]["inputs"]["sampler_name"] = "nope"
    with pytest.raises(PermanentBackendError) as rejected:
        client.run(graph)
    message = str(rejected.value)
    assert "node 3 (KSampler): Value 0 smaller than min of 1: steps" in message
    assert "node 3 (KSampler): Value not in list: sampler_name: 'nope' not in (list of" in message
    assert rejected.value.status == 400 and rejected.value.detail["node_errors"]
    with pytest.raises(PermanentBackendError, match="rejected the workflow: Prompt has no"):
        client.run({"1": {"class_type": "EmptyLatentImage", "inputs": {}}})


def test_a_200_with_node_errors_is_a_failure(comfy_server, client):
    graph = {
        **basic_image(),
        "20": {"class_type": "LoadImage", "inputs": {"image": "gone.png"}},
        "21": {"class_type": "PreviewImage", "inputs": {"images": ["20", 0]}},
    }
    with pytest.raises(PermanentBackendError) as partial:
        client.run(graph)  # gotcha 3
    message = str(partial.value)
    assert "accepted only part of the workflow" in message
    assert "node 20 (LoadImage): Custom validation failed for node: image - Invalid image file" in (
        message
    )


def test_execution_error_names_the_node(comfy_server, client):
    comfy_server.fail_node("VAEDecode", exception_type="RuntimeError", message="bad latent")
    with pytest.raises(PermanentBackendError) as failed:
        client.run(txt2img())
    assert str(failed.value) == "node 8 (VAEDecode) failed on fake: RuntimeError: bad latent"


def test_cuda_out_of_memory_is_out_of_memory(comfy_server, client):
    comfy_server.fail_node(
        "KSampler",
        exception_type="torch.OutOfMemoryError",
        message="Allocation on device 0 would exceed allowed memory. (out of memory)",
    )
    with pytest.raises(OutOfMemory, match="ran out of GPU memory in node 3 \\(KSampler\\)"):
        client.run(txt2img())
    comfy_server.fail_node("KSampler", exception_type="RuntimeError", message="CUDA out of memory")
    with pytest.raises(OutOfMemory):
        client.run(txt2img(seed=1))


def test_failure_missed_by_the_socket_is_read_from_history(comfy_server, client):
    comfy_server.refuse_websockets(502)
    comfy_server.fail_node("SaveImage", message="disk full")
    with pytest.raises(PermanentBackendError, match="node 9 \\(SaveImage\\) failed"):
        client.run(basic_image())


# --- cancel, interrupt, timeouts -----------------------------------------------------------


def test_cancel_while_running_interrupts(comfy_server, client):
    comfy_server.set_step_delay(0.02)
    recorder = Recorder(cancel_when=Preview)
    with pytest.raises(JobCancelled):
        client.run(txt2img(steps=200), prompt_id=RUN_ID, on_event=recorder, cancel=recorder.cancel)
    entry = _wait_history(client, RUN_ID)
    assert entry["status"]["messages"][-1][0] == "execution_interrupted"


def test_cancel_while_pending_dequeues(comfy_server, client):
    comfy_server.set_step_delay(0.02)
    blocker = ComfyClient(comfy_server.url)
    thread, _ = in_thread(blocker.run, txt2img(steps=100), prompt_id=BLOCKER_ID)
    assert wait_for(lambda: running_ids(comfy_server) == [BLOCKER_ID], 5)
    cancel = threading.Event()
    waiting, box = in_thread(client.run, txt2img(seed=7), prompt_id=WAITING_ID, cancel=cancel)
    assert wait_for(lambda: WAITING_ID in str(client.queue()["queue_pending"]), 5)
    assert client.history(WAITING_ID) is None  # gotcha 5: {} while pending
    cancel.set()
    waiting.join(5)
    assert isinstance(box["error"], JobCancelled)
    assert WAITING_ID not in str(client.queue())
    client.interrupt(BLOCKER_ID)
    thread.join(5)
    assert client.history(WAITING_ID) is None


def test_interrupted_by_someone_else_is_cancelled(comfy_server, client):
    comfy_server.set_step_delay(0.02)

    def interrupt_on_progress(event: Any) -> None:
        if isinstance(event, Progress) and event.value == 2:
            requests.post(comfy_server.url + "/interrupt", timeout=5)

    with pytest.raises(JobCancelled, match="interrupted"):
        client.run(txt2img(steps=100), on_event=interrupt_on_progress)


def test_no_progress_for_timeout_interrupts_and_fails(comfy_server, client):
    comfy_server.set_step_delay(0.6)
    with pytest.raises(PermanentBackendError, match="no progress for 0.3 s"):
        client.run(txt2img(steps=3), prompt_id=STUCK_ID, timeout_s=0.3)
    entry = _wait_history(client, STUCK_ID)
    assert entry["status"]["messages"][-1][0] == "execution_interrupted"


def _wait_history(client: ComfyClient, prompt_id: str) -> dict[str, Any]:
    assert wait_for(lambda: client.history(prompt_id) is not None, 5)
    return client.history(prompt_id)


# --- the server going away -----------------------------------------------------------------


def test_restart_mid_job_is_transient(comfy_server, client):
    comfy_server.set_step_delay(0.02)

    def restart(event: Any) -> None:
        if isinstance(event, Progress) and event.value == 2:
            threading.Thread(target=comfy_server.restart).start()

    with pytest.raises(TransientBackendError, match="disappeared .* submitted again"):
        client.run(txt2img(steps=100), on_event=restart)


def test_killed_mid_job_is_transient(comfy_server, client):
    comfy_server.set_step_delay(0.02)

    def kill(event: Any) -> None:
        if isinstance(event, Progress) and event.value == 2:
            threading.Thread(target=comfy_server.kill).start()

    with pytest.raises(TransientBackendError, match="is not answering"):
        client.run(txt2img(steps=100), on_event=kill)


def test_clean_shutdown_mid_job_is_transient(comfy_server, client):
    comfy_server.set_step_delay(0.02)

    def stop(event: Any) -> None:
        if isinstance(event, Progress) and event.value == 2:
            threading.Thread(target=comfy_server.stop).start()

    with pytest.raises(TransientBackendError, match="is not answering"):
        client.run(txt2img(steps=100), on_event=stop)


def test_unreachable_server_message(comfy_server, client):
    comfy_server.kill()
    with pytest.raises(TransientBackendError) as down:
        client.system_stats()
    assert str(down.value) == (
        f"ComfyUI at {comfy_server.url} is not answering — start it or change the URL in Settings"
    )
    assert down.value.backend == "fake" and down.value.url == comfy_server.url
    assert isinstance(down.value.__cause__, requests.ConnectionError)


def test_a_server_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        silent = ComfyClient(f"http://127.0.0.1:{port}", read_timeout=0.2)
        with pytest.raises(TransientBackendError, match="did not answer in time"):
            silent.queue()
    finally:
        listener.close()


def test_proxy_errors_tokens_and_origin(comfy_server):
    comfy_server.require_token("sesame")
    anonymous = ComfyClient(comfy_server.url)
    with pytest.raises(PermanentBackendError, match="401.*access token"):
        anonymous.system_stats()
    trusted = ComfyClient(comfy_server.url + "/", token="sesame")
    trusted.poll_interval = 0.05
    assert trusted.url == comfy_server.url
    version = {"0.3.64": "0.3.64", "current": "0.38.1"}[comfy_server.profile]
    assert trusted.system_stats()["system"]["comfyui_version"] == version
    assert trusted.features().version == version
    result = trusted.run(basic_image())  # the token goes on the WebSocket too
    assert result.outputs[0].filename == "fx_basic_00001_.png"
    not_api = ComfyClient(
        comfy_server.url + "/view?type=input&filename=example.png&x=", token="sesame"
    )
    with pytest.raises(PermanentBackendError, match="did not answer with JSON"):
        not_api.queue()  # a URL that is not ComfyUI's API root
    trusted.session.headers["Origin"] = "http://elsewhere.example"
    with pytest.raises(PermanentBackendError, match="403.*Origin"):
        trusted.queue()
    wrong = ComfyClient(comfy_server.url + "/not-comfy", token="sesame")
    with pytest.raises(PermanentBackendError, match="answered 404"):
        wrong.queue()


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_answers_are_retried_in_place_then_transient(comfy_server, client, status):
    comfy_server.proxy_error(status)  # a proxy whose ComfyUI is down, or an overloaded server
    client.http.backoff_s = 0.01
    with pytest.raises(TransientBackendError) as failed:
        client.queue()
    message = str(failed.value)
    assert message.startswith(f"ComfyUI at {comfy_server.url} answered {status} to /queue: ")
    assert message.endswith("(tried 4 times)") and "not answering" not in message
    assert failed.value.status == status
    comfy_server.proxy_error(None)
    assert client.queue() == {"queue_running": [], "queue_pending": []}


# --- small endpoints, uploads, downloads ---------------------------------------------------


def test_queue_history_and_housekeeping_calls(comfy_server, client):
    assert client.system_stats()["devices"][0]["vram_total"] > 0
    assert client.object_info() is client.object_info()
    assert "KSampler" in client.object_info(refresh=True)
    client.run(basic_image(), prompt_id=KEPT_ID)
    assert client.history(KEPT_ID)["status"]["status_str"] == "success"
    client.delete_history(KEPT_ID)
    assert client.history(KEPT_ID) is None
    client.free()
    client.dequeue("nothing")
    client.interrupt("nothing")
    assert client.queue() == {"queue_running": [], "queue_pending": []}
    assert client.run(basic_image()).cached is False  # free emptied the cache


def test_upload_image_and_use_it(comfy_server, client, tmp_path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (32, 16), (9, 9, 9)).save(photo)
    assert client.upload_image(photo) == "photo.png"
    assert client.upload_image(photo) == "photo.png"  # same bytes: reused
    Image.new("RGB", (32, 16), (200, 9, 9)).save(photo)
    assert client.upload_image(photo) == "photo (1).png"
    assert client.upload_image(photo, subfolder="refs") == "refs/photo.png"
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "refs/photo.png"}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "up"}},
    }
    [output] = client.run(graph).outputs
    data = b"".join(client.stream(output))
    assert Image.open(io.BytesIO(data)).size == (32, 16)
    with pytest.raises(InputError, match="cannot read"):
        client.upload_image(tmp_path / "missing.png")


def test_download_errors_leave_nothing_behind(comfy_server, client, tmp_path):
    """Streamed downloads through storage.write_stream, as the executor does them."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    gone = OutputFile("9", "gone.png", "", "temp", "image")
    with pytest.raises(PermanentBackendError, match="no longer on fake"):
        write_stream(client.stream(gone), downloads / "gone.png")
    assert list(downloads.iterdir()) == []
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError):
        write_stream(client.stream(gone), blocker / "x.png")
    with pytest.raises(StorageError):
        write_stream(client.stream(OutputFile("8", "", "", "text", "text", text="x")), downloads)
    text = OutputFile("8", "", "", "text", "text", text="hello")
    assert write_stream(client.stream(text), downloads / "t.txt").path.read_text() == "hello"
    assert [p.name for p in downloads.iterdir()] == ["t.txt"]


def test_frames_from_older_servers_and_other_prompts_are_sorted_out():
    """Frames a server sends when it ignores feature_flags, or about other prompts."""
    binary, text = websocket.ABNF.OPCODE_BINARY, websocket.ABNF.OPCODE_TEXT
    tracker = Tracker(txt2img(), "mine")
    legacy = struct.pack(">II", 1, 2) + b"\x89PNG..."
    assert tracker.on_frame(binary, legacy) == [Preview(b"\x89PNG...", "image/png")]
    meta = json.dumps({"prompt_id": "other", "image_type": "image/png"}).encode()
    foreign = struct.pack(">II", 4, len(meta)) + meta + b"img"
    assert tracker.on_frame(binary, foreign) == []
    assert tracker.on_frame(binary, struct.pack(">II", 3, 1) + b"7text") == []
    assert tracker.on_frame(binary, struct.pack(">II", 4, 3) + b"{x}") == []
    assert tracker.on_frame(binary, b"\x00") == []
    other = {"type": "executing", "data": {"node": "3", "prompt_id": "other"}}
    for junk in ("not json", "[1]", json.dumps(other)):
        assert tracker.on_frame(text, junk) == []
    bare = {"type": "executing", "data": {"node": "3"}}  # after a reconnect: no prompt_id
    assert tracker.on_frame(text, json.dumps(bare))[0] == NodeStarted("3", "KSampler")
    assert tracker.on_frame(text, json.dumps({"type": "executing", "data": {"node": None}})) == []
    assert tracker.finished
