"""The fake ComfyUI's fault modes, on both profiles: a flaky proxy before or after the route,
sockets dropped every n messages, and the hostile answers of issue 15 (items 4 and 7).
Plain requests + websocket-client only: no Takeboard code."""

from __future__ import annotations

import json
import struct
import uuid

import pytest
import requests
import urllib3
import websocket

from executors.demo_server import ComfyServer
from executors.demo_server.faults import nested_json
from executors.demo_server.profiles import PROFILES
from tests.comfyui_server.examples import basic_image, txt2img
from tests.comfyui_server.probe import Probe
from tests.waiting import wait_for


@pytest.fixture(params=PROFILES)
def comfy_profile(request: pytest.FixtureRequest) -> str:
    return request.param


def post_prompt(server: ComfyServer, workflow: dict, client_id: str | None = None) -> int:
    body = {"prompt": workflow, "prompt_id": str(uuid.uuid4())}
    if client_id:
        body["client_id"] = client_id
    return requests.post(server.url + "/prompt", json=body, timeout=5).status_code


def ran(server: ComfyServer) -> int:
    """Prompts in the history once the queue is empty."""

    def idle() -> bool:
        info = requests.get(server.url + "/prompt", timeout=5).json()
        return info["exec_info"]["queue_remaining"] == 0

    assert wait_for(idle, 10)
    return len(requests.get(server.url + "/history", timeout=5).json())


# --- flaky_http (issue 11: 500/502/503 before or after the server acted) ---------------------


def test_flaky_before_the_route_changes_nothing(comfy_server):
    comfy_server.flaky_http(rate=1.0, statuses=(502,), when="before")
    assert post_prompt(comfy_server, basic_image()) == 502
    comfy_server.flaky_http(rate=0)
    assert ran(comfy_server) == 0


def test_flaky_after_the_route_loses_the_answer_not_the_prompt(comfy_server):
    comfy_server.flaky_http(rate=1.0, statuses=(503,), when="after")
    assert post_prompt(comfy_server, basic_image()) == 503
    comfy_server.flaky_http(rate=0)
    assert ran(comfy_server) == 1


def test_flaky_both_mixes_the_two_and_spares_the_websocket(comfy_server):
    comfy_server.flaky_http(rate=1.0, statuses=(500, 502, 503), seed=7, when="both")
    probe = Probe(comfy_server.url, "flaky-ws")  # the handshake is never failed
    statuses = {post_prompt(comfy_server, basic_image(prefix=f"p{i}")) for i in range(20)}
    comfy_server.flaky_http(rate=0)
    assert statuses <= {500, 502, 503} and len(statuses) > 1
    assert 0 < ran(comfy_server) < 20
    probe.close()
    with pytest.raises(ValueError, match="when must be"):
        comfy_server.flaky_http(when="during")


# --- drop_websocket_every ------------------------------------------------------------------------


def test_drop_websocket_every_n_messages(comfy_server):
    comfy_server.drop_websocket_every(3)
    probe = Probe(comfy_server.url, "dropped")  # message 1: the first status
    post_prompt(comfy_server, basic_image(), "dropped")
    received = [probe.hello]
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        while True:
            received.append(probe.recv())
    assert len(received) == 3
    again = Probe(comfy_server.url, "dropped")  # a new socket counts afresh
    assert again.hello["type"] == "status"
    again.close()


# --- hostile JSON (issue 15 item 7) ------------------------------------------------------------


def test_hostile_json_shapes(comfy_server):
    comfy_server.hostile_json("/history", [{"not": "a dict"}])
    comfy_server.hostile_json("/history/*", {"x": {"outputs": "nope", "status": 5}})
    comfy_server.hostile_json("/queue", [])
    comfy_server.hostile_json("/system_stats", nested_json(100_000, "system"))
    get = requests.get
    assert get(comfy_server.url + "/history", timeout=5).json() == [{"not": "a dict"}]
    assert get(comfy_server.url + "/api/history/x", timeout=5).json()["x"]["status"] == 5
    assert get(comfy_server.url + "/queue", timeout=5).json() == []
    stats = get(comfy_server.url + "/system_stats", timeout=5)
    assert stats.headers["Content-Type"].startswith("application/json")
    assert stats.text.startswith('{"system": [[[') and stats.text.count("[") == 100_000
    with pytest.raises(RecursionError):
        json.loads(stats.text)
    assert get(comfy_server.url + "/object_info/EmptyImage", timeout=5).status_code == 200


# --- hostile /view bodies (issue 15 item 4) ------------------------------------------------------


def saved_png(server: ComfyServer) -> dict:
    post_prompt(server, basic_image(prefix="v"))
    assert ran(server) == 1
    return {"filename": "v_00001_.png", "type": "output"}


@pytest.mark.parametrize("declared", [True, False])
def test_oversized_view_bodies(comfy_server, declared):
    params = saved_png(comfy_server)
    comfy_server.oversized_view(3 * 1024 * 1024 + 5, declared=declared)
    with requests.get(comfy_server.url + "/view", params=params, stream=True, timeout=5) as r:
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
        assert ("Content-Length" in r.headers) is declared
        body = b"".join(r.iter_content(64 * 1024))
    assert len(body) == 3 * 1024 * 1024 + 5 and body[:8] == b"\x89PNG\r\n\x1a\n"


def test_slow_view_trickles_one_byte_at_a_time(comfy_server):
    params = saved_png(comfy_server)
    size = (comfy_server.output_dir / "v_00001_.png").stat().st_size
    comfy_server.slow_view(interval=30)
    with requests.get(comfy_server.url + "/view", params=params, stream=True, timeout=(5, 1)) as r:
        assert int(r.headers["Content-Length"]) == size
        assert r.raw.read(1) == b"\x89"
        with pytest.raises(urllib3.exceptions.ReadTimeoutError):
            r.raw.read(1)


def test_html_view_is_a_login_page(comfy_server):
    params = saved_png(comfy_server)
    comfy_server.html_view()
    r = requests.get(comfy_server.url + "/view", params=params, timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "<form" in r.text


# --- garbage WebSocket frames (issue 15 item 7) --------------------------------------------------


def test_garbage_progress_values(comfy_server):
    comfy_server.garbage_progress("abc")
    probe = Probe(comfy_server.url, "garbage")
    post_prompt(comfy_server, txt2img(steps=2), "garbage")
    messages = probe.until(lambda m: m["type"] == "execution_success")
    values = [m["data"]["value"] for m in messages if m["type"] == "progress"]
    assert values == ["abc", "abc"]
    probe.close()


def test_crafted_preview_metadata_length(comfy_server):
    comfy_server.crafted_previews(metadata_length=0xFFFFFFF0)
    probe = Probe(comfy_server.url, "crafted", feature_flags=True)
    post_prompt(comfy_server, txt2img(steps=1), "crafted")
    frame = probe.until(lambda m: m["type"] == "binary")[-1]["data"]
    assert struct.unpack(">II", frame[:8]) == (4, 0xFFFFFFF0)
    assert frame[8:17] == b"{not json" and len(frame) < 0xFFFFFFF0
    probe.close()


def test_clear_faults_ends_every_hostile_mode(comfy_server):
    comfy_server.hostile_json("/queue", [])
    comfy_server.html_view()
    comfy_server.drop_websocket_every(1)
    comfy_server.clear_faults()
    queue = requests.get(comfy_server.url + "/queue", timeout=5).json()
    assert queue == {"queue_running": [], "queue_pending": []}
    probe = Probe(comfy_server.url, "calm")
    assert probe.silent_for(0.1)  # still open: no drop after the first message
    probe.close()
