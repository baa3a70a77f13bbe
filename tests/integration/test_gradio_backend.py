"""GradioClient against a real Gradio app on loopback (tests/gradio_app.py), a closed port, a
fake Gradio 3.14 app and a recording server that checks which headers the client sends."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from core.config import UrlBackendConfig
from core.errors import (
    InputError,
    JobCancelled,
    OutOfMemory,
    PermanentBackendError,
    TransientBackendError,
)
from executors.backends.base import Event, Progress
from executors.backends.gradio import QUIET_HUB_ENV, GradioClient, quiet_hub_env
from tests.gradio_app import (
    BOOM_TEXT,
    OOM_TEXT,
    SAMPLE_RATE,
    SLOW_FINISHED,
    GradioApp,
    dominant_hz,
    free_port,
    gradio_app,  # noqa: F401  (the session fixture)
    launch_app,
    read_samples,
    write_tone,
)

POLL_S = 0.05
# gradio 6.31's queue statistics use pandas options that pandas 3 deprecates (server side)
pytestmark = [
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


@pytest.fixture(scope="module")
def client(gradio_app: GradioApp) -> Iterator[GradioClient]:  # noqa: F811
    """One client for the module: its gradio_client Client is made once and reused."""
    gradio = GradioClient(UrlBackendConfig("test-app", gradio_app.url), poll_s=POLL_S)
    yield gradio
    gradio.close()


class Recorder(list):
    """on_event that keeps what it is given."""

    def __call__(self, event: Event) -> None:
        self.append(event)


def call(
    client: GradioClient,
    api_name: str,
    inputs: dict[str, Any],
    workdir: Path,
    *,
    output: int | None = None,
    files: list[str] | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float | None = 30,
    on_event: Recorder | None = None,
) -> list[Path]:
    request = {"inputs": inputs, "api_name": api_name, "output": output, "files": files or []}
    return client.run(
        request,
        workdir=workdir,
        on_event=on_event if on_event is not None else Recorder(),
        cancel=cancel or threading.Event(),
        timeout_s=timeout_s,
    )


# --- the happy paths ----------------------------------------------------------------------------


def test_voice_convert_returns_a_real_wav_in_the_workdir(client: GradioClient, tmp_path: Path):
    source = write_tone(tmp_path / "voice.wav", seconds=0.5, freq=440)
    workdir = tmp_path / "job"

    paths = call(
        client,
        "/voice_convert",
        {"input_audio": str(source), "semitones": 12},
        workdir,
        files=["input_audio"],
    )

    assert len(paths) == 1 and paths[0].parent == workdir and paths[0].suffix == ".wav"
    rate, samples = read_samples(paths[0])
    assert (rate, len(samples)) == (SAMPLE_RATE, SAMPLE_RATE // 2)
    assert dominant_hz(paths[0]) == pytest.approx(880, rel=0.03)  # an octave up: the app ran
    assert not list(client._download_dir().rglob("*.wav"))  # moved, not left in the temp folder


def test_sound_effect_reports_progress_and_returns_its_length(client: GradioClient, tmp_path: Path):
    events = Recorder()

    [path] = call(
        client,
        "/sound_effect",
        {"prompt": "rain on a tin roof", "duration": 0.25, "steps": 4},
        tmp_path,
        on_event=events,
    )

    labels = [e.label for e in events if isinstance(e, Progress)]
    assert {"denoising 1/4", "denoising 2/4", "denoising 3/4"} <= set(labels)
    fractions = [e.fraction for e in events if e.fraction is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 0.75
    assert len(read_samples(path)[1]) == SAMPLE_RATE // 4


def test_a_job_that_waits_in_the_apps_queue_says_so(client: GradioClient, tmp_path: Path):
    """/sound_effect runs one call at a time: of two at once, one is queued."""
    events = [Recorder(), Recorder()]
    results: list[Any] = [None, None]

    def one(i: int) -> None:
        inputs = {"prompt": f"wind {i}", "duration": 0.1, "steps": 3}
        results[i] = call(client, "/sound_effect", inputs, tmp_path / str(i), on_event=events[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert all(r and r[0].is_file() for r in results)
    labels = {e.label for recorder in events for e in recorder}
    assert "queued, position 1" in labels


def test_health_of_a_running_app_names_its_version_and_endpoints(client: GradioClient):
    health = client.health()

    assert health.online and health.detail.startswith("Gradio ")
    assert {"/voice_convert", "/sound_effect", "/slow"} <= set(health.extra["endpoints"])


# --- the app says no ----------------------------------------------------------------------------


def test_wrong_api_name_lists_the_apps_endpoints(client: GradioClient, tmp_path: Path):
    with pytest.raises(PermanentBackendError) as err:
        call(client, "/infer_convert", {}, tmp_path)

    message = str(err.value)
    assert "/infer_convert" in message
    assert all(name in message for name in ("/voice_convert", "/sound_effect", "/boom", "/oom"))
    assert err.value.backend == "test-app"


def test_unknown_keyword_lists_the_endpoints_parameters(client: GradioClient, tmp_path: Path):
    with pytest.raises(PermanentBackendError) as err:
        call(client, "/boom", {"text": "x"}, tmp_path)

    assert "`text`" in str(err.value) and "prompt (Textbox, required)" in str(err.value)


def test_an_output_that_is_not_a_file_names_the_outputs(client: GradioClient, tmp_path: Path):
    source = write_tone(tmp_path / "voice.wav", seconds=0.1, freq=300)

    with pytest.raises(PermanentBackendError) as err:
        call(
            client,
            "/voice_convert",
            {"input_audio": str(source), "semitones": 0},
            tmp_path / "job",
            output=0,
            files=["input_audio"],
        )

    assert "output 0" in str(err.value)
    assert "0: Textbox output information; 1: Audio converted audio" in str(err.value)


def test_gr_error_keeps_the_apps_message(client: GradioClient, tmp_path: Path):
    with pytest.raises(PermanentBackendError) as err:
        call(client, "/boom", {"prompt": "hello"}, tmp_path)

    assert BOOM_TEXT in str(err.value)
    assert not isinstance(err.value, OutOfMemory)


def test_cuda_out_of_memory_is_out_of_memory(client: GradioClient, tmp_path: Path):
    with pytest.raises(OutOfMemory) as err:
        call(client, "/oom", {"prompt": "hello"}, tmp_path)

    assert OOM_TEXT in str(err.value)


def test_missing_local_input_file_is_an_input_error(client: GradioClient, tmp_path: Path):
    missing = tmp_path / "nowhere.wav"

    with pytest.raises(InputError) as err:
        call(
            client,
            "/voice_convert",
            {"input_audio": str(missing), "semitones": 0},
            tmp_path,
            files=["input_audio"],
        )

    assert "input_audio" in str(err.value) and str(missing) in str(err.value)


# --- deadline and cancel ------------------------------------------------------------------------


def test_deadline_is_a_permanent_error_naming_the_limit(client: GradioClient, tmp_path: Path):
    tag = uuid.uuid4().hex

    with pytest.raises(PermanentBackendError) as err:
        inputs = {"steps": 40, "step_s": 0.1, "tag": tag}
        call(client, "/slow", inputs, tmp_path, timeout_s=0.5)

    assert "0.5 s" in str(err.value) and "timeout_s" in str(err.value)
    assert tag not in SLOW_FINISHED  # it returned while the app was still working


def test_cancel_mid_run_raises_job_cancelled(client: GradioClient, tmp_path: Path):
    tag = uuid.uuid4().hex
    cancel = threading.Event()
    events = Recorder()

    def on_event(event: Event) -> None:
        events(event)
        if isinstance(event, Progress) and event.fraction is not None:
            cancel.set()  # the app is running the job: cancel it now

    with pytest.raises(JobCancelled):
        inputs = {"steps": 40, "step_s": 0.1, "tag": tag}
        call(client, "/slow", inputs, tmp_path, cancel=cancel, timeout_s=None, on_event=on_event)

    assert any(e.label.startswith("waiting ") for e in events)
    assert tag not in SLOW_FINISHED


def test_cancel_before_the_start_contacts_nobody(tmp_path: Path):
    down = GradioClient(UrlBackendConfig("down", f"http://127.0.0.1:{free_port()}"))
    cancel = threading.Event()
    cancel.set()

    with pytest.raises(JobCancelled):
        call(down, "/slow", {}, tmp_path, cancel=cancel)  # down: would be Transient otherwise


# --- app down, old app --------------------------------------------------------------------------


def test_app_down_is_transient_and_offline(tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}"
    down = GradioClient(UrlBackendConfig("down", url), connect_s=1.0)

    with pytest.raises(TransientBackendError) as err:
        call(down, "/voice_convert", {}, tmp_path)
    health = down.health()

    assert url in str(err.value) and "not answering" in str(err.value)
    assert not health.online
    assert health.detail == (
        f"the Gradio app at {url} is not answering — start it or fix the URL in Settings"
    )


def test_an_app_that_went_away_is_transient_and_the_next_job_reconnects(
    gradio_app: GradioApp,  # noqa: F811  (gradio imported and quiet already)
    tmp_path: Path,
):
    first = launch_app(tmp_path / "first")
    port = int(first.url.rsplit(":", 1)[1])
    gradio = GradioClient(UrlBackendConfig("restarts", first.url), poll_s=POLL_S)
    inputs = {"prompt": "click", "duration": 0.05, "steps": 1}
    call(gradio, "/sound_effect", inputs, tmp_path / "1")
    old_client = gradio._connected()
    first.demo.close()

    with pytest.raises(TransientBackendError, match="not answering"):
        call(gradio, "/sound_effect", inputs, tmp_path / "2")
    second = launch_app(tmp_path / "second", port=port)
    try:
        assert call(gradio, "/sound_effect", inputs, tmp_path / "3")  # works again, new session
        assert gradio._connected() is not old_client
    finally:
        gradio.close()
        second.demo.close()


class FakeApp:
    """A loopback HTTP server with fixed JSON answers that records every request."""

    def __init__(self, answers: dict[str, Any]):
        self.answers = answers
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                fake.requests.append(("GET", path, {k.lower(): v for k, v in self.headers.items()}))
                body = fake.answers.get(path)
                data = json.dumps(body).encode() if body is not None else b'{"detail":"Not Found"}'
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def paths(self) -> list[str]:
        return [path for _, path, _ in self.requests]


def gradio_314_config() -> dict[str, Any]:
    """What RVC's webui (gradio 3.14) answers at /config, trimmed to the fields clients read.
    Gradio 3 sends no "protocol" key; gradio_client then assumes "ws" (the fixture also tries
    an explicit "ws")."""
    components = [
        {"id": 1, "type": "audio", "props": {"label": "input audio", "source": "upload"}},
        {"id": 2, "type": "number", "props": {"label": "transpose", "value": 0}},
        {"id": 3, "type": "textbox", "props": {"label": "output information"}},
        {"id": 4, "type": "audio", "props": {"label": "converted audio"}},
        {"id": 5, "type": "button", "props": {"value": "Convert"}},
    ]
    dependency = {
        "targets": [5],
        "trigger": "click",
        "inputs": [1, 2],
        "outputs": [3, 4],
        "backend_fn": True,
        "js": None,
        "queue": None,
        "api_name": "infer_convert",
        "scroll_to_output": False,
        "show_progress": True,
        "batch": False,
        "max_batch_size": 4,
        "cancels": [],
        "every": None,
    }
    return {
        "version": "3.14.0",
        "mode": "blocks",
        "dev_mode": False,
        "components": components,
        "css": None,
        "title": "Gradio",
        "is_space": False,
        "enable_queue": True,
        "show_error": False,
        "show_api": True,
        "is_colab": False,
        "layout": {"id": 0, "children": [{"id": i} for i in range(1, 6)]},
        "dependencies": [dependency],
    }


@pytest.fixture(params=["no protocol key", "protocol ws"])
def gradio3_app(request: pytest.FixtureRequest) -> Iterator[FakeApp]:
    config = gradio_314_config()
    if request.param == "protocol ws":
        config["protocol"] = "ws"
    app = FakeApp({"/config": config})
    yield app
    app.close()


def test_gradio_3_app_gets_a_clear_permanent_error(gradio3_app: FakeApp, tmp_path: Path):
    old = GradioClient(UrlBackendConfig("rvc", gradio3_app.url))

    with pytest.raises(PermanentBackendError) as err:
        call(old, "/infer_convert", {"semitones": 0}, tmp_path)

    message = str(err.value)
    assert "Gradio 3.14.0" in message and "gradio_client cannot call" in message
    assert "command backend" in message and "Gradio ≥4" in message
    assert gradio3_app.paths == ["/config"]  # stopped before gradio_client's internet lookup


def test_gradio_3_app_is_online_but_not_callable(gradio3_app: FakeApp):
    health = GradioClient(UrlBackendConfig("rvc", gradio3_app.url)).health()

    assert health.online
    assert "3.14.0" in health.detail and "cannot call" in health.detail
    assert health.extra["endpoints"] == ["/infer_convert"]


# --- no telemetry, no token ---------------------------------------------------------------------


def test_quiet_hub_env_sets_the_four_variables(monkeypatch: pytest.MonkeyPatch):
    for name in QUIET_HUB_ENV:
        monkeypatch.delenv(name, raising=False)

    quiet_hub_env()

    assert {name: os.environ.get(name) for name in QUIET_HUB_ENV} == {
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    }


@pytest.fixture
def mirror(gradio_app: GradioApp) -> Iterator[FakeApp]:  # noqa: F811
    """A recording server answering /config and /info as the real app does (enough for a
    gradio_client Client to be made), 404 for everything else."""
    config = requests.get(gradio_app.url + "/config", timeout=5).json()
    prefix = config.get("api_prefix", "/gradio_api")
    info = requests.get(gradio_app.url + prefix + "/info?serialize=False", timeout=5).json()
    app = FakeApp({"/config": config, prefix + "/info": info})
    yield app
    app.close()


def test_no_saved_hf_token_is_sent_but_a_named_one_is(
    mirror: FakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from gradio_client import Client
    from huggingface_hub import constants

    monkeypatch.setenv("HF_TOKEN", "hf_saved_on_this_machine")
    monkeypatch.setenv("APP_TOKEN", "app-token")
    plain = GradioClient(UrlBackendConfig("plain", mirror.url))
    named = GradioClient(UrlBackendConfig("named", mirror.url, token_env="APP_TOKEN"))

    for gradio in (plain, named):  # both get as far as the endpoint lookup
        with pytest.raises(PermanentBackendError, match="no endpoint /nope"):
            call(gradio, "/nope", {}, tmp_path)
        gradio.close()
    sent = [(path, headers) for _, path, headers in mirror.requests]
    # the control: a Client left to its defaults would send the saved token
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", False)
    Client(mirror.url, verbose=False, download_files=str(tmp_path)).close()
    control = mirror.requests[len(sent)][2]

    plain_requests = [h for _, h in sent if h.get("x-hf-authorization") != "Bearer app-token"]
    assert len(plain_requests) >= 3  # its /config probe, Client's /config and /info
    assert not [h for h in plain_requests if {"authorization", "x-hf-authorization"} & set(h)]
    assert {p for p, h in sent if h.get("x-hf-authorization") == "Bearer app-token"} >= {
        "/config",
        "/gradio_api/info",
    }
    assert control.get("x-hf-authorization") == "Bearer hf_saved_on_this_machine"
