"""WanGPClient against a real MCP server on loopback (tests/wangp_server.py) that speaks
WanGP's tools and result shapes; nothing leaves 127.0.0.1."""

from __future__ import annotations

import hashlib
import socket
import threading
from pathlib import Path

import anyio
import av
import pytest
import requests
from mcp import Client

from core.config import UrlBackendConfig
from core.errors import JobCancelled, OutOfMemory, PermanentBackendError, TransientBackendError
from executors.backends.base import Event, Preview, Progress
from executors.backends.wangp import ToolFailed, WanGPClient
from executors.backends.wangp import errors as wangp_errors
from tests.wangp_server import (
    CUDA_OOM,
    WanGPServer,
    wangp_server_fixture,  # noqa: F401 (the wangp_server fixture)
)

SETTINGS = {
    "model_type": "t2v_1.3B",
    "prompt": "a red fox running through snow",
    "negative_prompt": "blurry",
    "resolution": "832x480",
    "video_length": 81,
    "num_inference_steps": 4,
    "seed": 7,
}


def client_for(server: WanGPServer, **config: str) -> WanGPClient:
    return WanGPClient(UrlBackendConfig("wangp", server.url, **config), poll_s=0.02, read_s=5)


def run(
    client: WanGPClient,
    workdir: Path,
    *,
    settings: dict | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float | None = 10,
    on_event=None,
) -> tuple[list[Path], list[Event]]:
    events: list[Event] = []

    def record(event: Event) -> None:
        events.append(event)
        if on_event:
            on_event(event)

    workdir.mkdir(exist_ok=True)
    paths = client.run(
        {"inputs": dict(settings or SETTINGS)},
        workdir=workdir,
        on_event=record,
        cancel=cancel or threading.Event(),
        timeout_s=timeout_s,
    )
    return paths, events


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_run_returns_a_real_mp4_and_reports_progress_and_a_preview(
    wangp_server: WanGPServer, tmp_path: Path
):
    paths, events = run(client_for(wangp_server), tmp_path / "work")

    assert len(paths) == 1 and paths[0].parent == tmp_path / "work"
    with av.open(str(paths[0])) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 8
    fractions = [e.fraction for e in events if isinstance(e, Progress)]
    assert fractions == sorted(fractions) and fractions[0] < fractions[-1]
    assert "Denoising 4/4" in [e.label for e in events if isinstance(e, Progress)]
    previews = [e for e in events if isinstance(e, Preview)]
    assert previews and previews[0].mime == "image/png"
    assert previews[0].data.startswith(b"\x89PNG")
    (generate,) = wangp_server.tool_calls("wangp_generate")
    assert generate["source"] == SETTINGS and generate["wait"] is False
    assert [status for _, status in wangp_server.downloads] == [200]


def test_each_event_is_reported_once_across_polls(wangp_server: WanGPServer, tmp_path: Path):
    wangp_server.steps, wangp_server.step_delay_s = 12, 0.02

    _, events = run(client_for(wangp_server), tmp_path / "work")

    labels = [e.label for e in events if isinstance(e, Progress)]
    assert labels.count("Denoising 1/12") == 1 and labels.count("Denoising 12/12") == 1
    assert len(wangp_server.tool_calls("wangp_get_job")) > 1


def test_health_online_lists_the_models_and_their_weights(wangp_server: WanGPServer):
    health = client_for(wangp_server).health()

    assert health.online and health.detail.startswith("WanGP")
    models = {m["model_type"]: m for m in health.extra["models"]}
    assert models["t2v_1.3B"] == {
        "model_type": "t2v_1.3B",
        "name": "Wan2.1 Text2video 1.3B",
        "available": True,
    }
    assert models["i2v_2_2"]["available"] is False


def test_models_pages_through_more_than_one_page(tmp_path: Path):
    catalogue = [(f"model_{n}", f"Model {n}", n % 2 == 0) for n in range(23)]
    server = WanGPServer(tmp_path, models=catalogue).start()
    try:
        models = client_for(server).models()
    finally:
        server.stop()

    assert [m["model_type"] for m in models] == [m[0] for m in catalogue]
    assert [m["available"] for m in models] == [m[2] for m in catalogue]


def test_health_offline_on_a_closed_port_says_how_to_start_wangp():
    url = f"http://127.0.0.1:{closed_port()}/mcp"
    health = WanGPClient(UrlBackendConfig("wangp", url), connect_s=1).health()

    assert not health.online
    assert "not answering" in health.detail and url in health.detail
    assert "python wgp.py --mcp --mcp-transport streamable-http" in health.detail


def test_run_on_a_closed_port_is_transient(tmp_path: Path):
    url = f"http://127.0.0.1:{closed_port()}/mcp"
    client = WanGPClient(UrlBackendConfig("wangp", url), connect_s=1)

    with pytest.raises(TransientBackendError, match="not answering"):
        run(client, tmp_path / "work")


def test_an_app_error_is_permanent_with_wangps_message(wangp_server: WanGPServer, tmp_path: Path):
    wangp_server.fail_next("Sliding window size must be smaller than the video length", at_step=2)

    with pytest.raises(PermanentBackendError, match="Sliding window size must be") as caught:
        run(client_for(wangp_server), tmp_path / "work")

    assert not isinstance(caught.value, OutOfMemory)
    assert caught.value.backend == "wangp" and caught.value.url == wangp_server.url


def test_cuda_out_of_memory_raises_out_of_memory(wangp_server: WanGPServer, tmp_path: Path):
    wangp_server.fail_next(CUDA_OOM)

    with pytest.raises(OutOfMemory, match="CUDA out of memory"):
        run(client_for(wangp_server), tmp_path / "work")


def test_a_busy_wangp_is_transient(wangp_server: WanGPServer, tmp_path: Path):
    wangp_server.stall_next()
    other = wangp_server.submit({"model_type": "t2v_2_2", "prompt": "someone else's job"})

    with pytest.raises(TransientBackendError, match="busy"):
        run(client_for(wangp_server), tmp_path / "work")

    assert len(wangp_server.jobs) == 1 and not wangp_server.job(other).cancel_requested


def test_cancel_mid_run_cancels_the_wangp_job(wangp_server: WanGPServer, tmp_path: Path):
    wangp_server.steps, wangp_server.step_delay_s = 200, 0.02
    cancel = threading.Event()

    def cancel_once_denoising(event: Event) -> None:
        if isinstance(event, Progress) and event.label.startswith("Denoising"):
            cancel.set()

    with pytest.raises(JobCancelled):
        run(
            client_for(wangp_server),
            tmp_path / "work",
            cancel=cancel,
            on_event=cancel_once_denoising,
        )

    (job,) = wangp_server.jobs
    assert [c["job_id"] for c in wangp_server.tool_calls("wangp_cancel_job")] == [job.job_id]
    assert job.cancel_requested and job.done.wait(5)
    assert job.result["cancelled"] and not list((tmp_path / "work").iterdir())


def test_silence_past_the_time_limit_cancels_the_job(wangp_server: WanGPServer, tmp_path: Path):
    wangp_server.stall_next(at_step=2)

    with pytest.raises(PermanentBackendError, match=r"0\.3 s") as caught:
        run(client_for(wangp_server), tmp_path / "work", timeout_s=0.3)

    assert "cancelled" in str(caught.value)
    (job,) = wangp_server.jobs
    assert job.cancel_requested and job.done.wait(5)


def test_a_model_without_weights_is_refused_before_generating(
    wangp_server: WanGPServer, tmp_path: Path
):
    settings = {**SETTINGS, "model_type": "i2v_2_2"}

    with pytest.raises(PermanentBackendError, match="i2v_2_2") as caught:
        run(client_for(wangp_server), tmp_path / "work", settings=settings)

    assert "first time it is used" in str(caught.value) and "another model" in str(caught.value)
    assert wangp_server.tool_calls("wangp_generate") == []


def test_an_unknown_model_is_permanent(wangp_server: WanGPServer, tmp_path: Path):
    settings = {**SETTINGS, "model_type": "no_such_model"}

    with pytest.raises(PermanentBackendError, match="does not know the model 'no_such_model'"):
        run(client_for(wangp_server), tmp_path / "work", settings=settings)


def test_a_download_url_works_only_once(wangp_server: WanGPServer, tmp_path: Path):
    run(client_for(wangp_server), tmp_path / "work")
    (job,) = wangp_server.jobs
    key = wangp_server.id_key
    path = job.result["generated_files"][0]
    gallery_id = "visual:" + hashlib.sha1(path.casefold().encode()).hexdigest()[:12]

    async def ticket() -> dict:
        async with Client(wangp_server.url, mode="legacy", cache=None) as mcp:
            result = await mcp.call_tool("wangp_create_gallery_download", {key: gallery_id})
            return result.structured_content

    answer = anyio.run(ticket)
    assert answer["download_url"].startswith("/wangp_api/gallery/download/")
    url = wangp_server.base_url + answer["download_url"]
    first, second = requests.get(url, timeout=5), requests.get(url, timeout=5)

    assert first.status_code == 200 and len(first.content) == answer["size"]
    assert second.status_code == 404
    assert [status for _, status in wangp_server.downloads] == [200, 200, 404]


def test_the_token_is_sent_and_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    server = WanGPServer(tmp_path, token="right-token").start()
    try:
        monkeypatch.setenv("WANGP_TOKEN", "right-token")
        good = client_for(server, token_env="WANGP_TOKEN").health()
        monkeypatch.setenv("WANGP_TOKEN", "wrong-token")
        bad = client_for(server, token_env="WANGP_TOKEN").health()
        with pytest.raises(PermanentBackendError) as caught:
            run(client_for(server, token_env="WANGP_TOKEN"), tmp_path / "work")
    finally:
        server.stop()

    assert good.online
    assert not bad.online and "WANGP_TOKEN" in bad.detail and "401" in bad.detail
    assert "wrong-token" not in bad.detail and "wrong-token" not in str(caught.value)


def test_a_bad_request_is_refused_without_calling_wangp(wangp_server: WanGPServer, tmp_path: Path):
    client = client_for(wangp_server)

    with pytest.raises(PermanentBackendError, match="inputs"):
        client.run(
            {"prompt": "no inputs"},
            workdir=tmp_path,
            on_event=lambda _e: None,
            cancel=threading.Event(),
            timeout_s=None,
        )
    assert wangp_server.calls == []


def test_a_wrong_path_says_it_is_not_wangps_mcp_endpoint(wangp_server: WanGPServer):
    url = wangp_server.base_url + "/gradio_api"
    health = WanGPClient(UrlBackendConfig("wangp", url)).health()

    assert not health.online
    assert "not a WanGP MCP endpoint (HTTP 404)" in health.detail and "/mcp" in health.detail


def test_an_on_event_error_propagates_and_stops_the_job(wangp_server: WanGPServer, tmp_path: Path):
    wangp_server.steps, wangp_server.step_delay_s = 200, 0.02

    def broken(event: Event) -> None:
        raise ValueError("the UI broke")

    with pytest.raises(ValueError, match="the UI broke"):
        run(client_for(wangp_server), tmp_path / "work", on_event=broken)

    (job,) = wangp_server.jobs
    assert job.cancel_requested and job.done.wait(5)


# --- WanGP of either generation (gallery_id in 12.60, media_id later) ------------------------


def test_the_download_argument_is_named_as_the_servers_tool_list_says(
    wangp_server: WanGPServer, tmp_path: Path
):
    paths, _ = run(client_for(wangp_server), tmp_path / "work")

    (call,) = wangp_server.tool_calls("wangp_create_gallery_download")
    assert list(call) == [wangp_server.id_key]
    assert call[wangp_server.id_key].startswith("visual:")
    assert paths[0].name == Path(wangp_server.jobs[0].result["generated_files"][0]).name


def test_a_client_that_read_an_older_tool_list_reads_it_again_when_refused(tmp_path: Path):
    old = WanGPServer(tmp_path / "old", version="12.60").start()
    port = int(old.base_url.rsplit(":", 1)[1])
    client = client_for(old)
    run(client, tmp_path / "one")  # the client now knows gallery_id
    old.stop()
    new = WanGPServer(tmp_path / "new", version="12.641").start(port)  # WanGP was updated
    try:
        paths, _ = run(client, tmp_path / "two")
    finally:
        new.stop()

    assert len(paths) == 1 and paths[0].stat().st_size > 0
    assert [list(args) for args in download_requests(new)] == [
        ["gallery_id"],  # the cached name, refused by the updated WanGP ...
        ["media_id"],  # ... then asked as its tool list, read again, now says
    ]


def download_requests(server: WanGPServer) -> list[dict]:
    """The arguments of every wangp_create_gallery_download request, refused ones too."""
    return [
        params["arguments"]
        for method, params in server.requests
        if method == "tools/call" and params.get("name") == "wangp_create_gallery_download"
    ]


def test_a_wangp_without_gallery_downloads_is_refused_before_any_gpu_time(tmp_path: Path):
    server = WanGPServer(tmp_path, http_media_transfer=False).start()
    try:
        with pytest.raises(PermanentBackendError) as caught:
            run(client_for(server), tmp_path / "work")
    finally:
        server.stop()

    message = str(caught.value)
    assert "\n" not in message and server.url in message
    assert "wangp_create_gallery_download" in message and "streamable-http" in message
    assert server.tool_calls("wangp_generate") == []


def test_a_failed_download_is_tried_again_with_a_fresh_link(
    wangp_server: WanGPServer, tmp_path: Path
):
    wangp_server.fail_downloads(2)

    paths, _ = run(client_for(wangp_server), tmp_path / "work")

    assert [status for _, status in wangp_server.downloads] == [503, 503, 200]
    assert len({token for token, _ in wangp_server.downloads}) == 3  # each link used once
    with av.open(str(paths[0])) as container:
        assert container.streams.video[0].frames > 0
    assert [p.name for p in (tmp_path / "work").iterdir()] == [paths[0].name]  # no .part left


def test_a_video_that_cannot_be_downloaded_fails_in_one_line_saying_it_was_made(
    wangp_server: WanGPServer, tmp_path: Path
):
    wangp_server.fail_downloads(10)

    with pytest.raises(TransientBackendError) as caught:
        run(client_for(wangp_server), tmp_path / "work")

    message = str(caught.value)
    (job,) = wangp_server.jobs
    assert "\n" not in message and message.startswith("WanGP made ")
    assert job.job_id in message and "3 tries" in message and "HTTP 503" in message
    assert [status for _, status in wangp_server.downloads] == [503, 503, 503]
    assert list((tmp_path / "work").iterdir()) == []


def test_a_refused_tool_call_reads_as_one_line_naming_server_tool_and_fix(
    wangp_server: WanGPServer,
):
    """The four-line pydantic text WanGP's FastMCP sends for a wrong argument (as Takeboard
    got from 12.60 before it read the tool list) becomes one line."""
    wrong = "media_id" if wangp_server.id_key == "gallery_id" else "gallery_id"

    async def refused() -> str:
        async with Client(wangp_server.url, mode="legacy", cache=None) as mcp:
            answer = await mcp.call_tool("wangp_create_gallery_download", {wrong: "None"})
            return answer.content[0].text

    text = anyio.run(refused)
    failure = ToolFailed("wangp_create_gallery_download", text)
    error = wangp_errors.refused(client_for(wangp_server).server, failure)

    assert len(text.splitlines()) == 4  # what users saw
    assert failure.bad_arguments
    assert failure.summary == f"argument {wangp_server.id_key}: Field required"
    assert str(error) == (
        f"WanGP at {wangp_server.url} refused wangp_create_gallery_download (argument "
        f"{wangp_server.id_key}: Field required). Takeboard and this WanGP version disagree on "
        "the tool's arguments: update Takeboard or WanGP."
    )
