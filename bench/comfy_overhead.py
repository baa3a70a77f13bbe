"""Per-job overhead of Takeboard's generate path against an instant ComfyUI protocol server.

Both loops run in the same process against the same loopback server (started as a separate
process, `python -m tests.comfyui_server`), on the same rendered SDXL workflow with a fresh seed
per job:
- baseline: a minimal requests + websocket-client loop — POST /prompt, wait on the socket for
  execution_success, GET /history/{id}, GET /view each output into a file;
- takeboard: JobRunner.run — job rows in SQLite, template resolve/render, object_info check,
  WebSocket progress, streamed download with sha256, media facts, preview, artifact records,
  history deletion.

Run: .venv/bin/python bench/comfy_overhead.py [--jobs 30]. Aim: takeboard within 1.5x of the
baseline. Results: RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
import websocket

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import load_config  # noqa: E402
from core.models import MediaKind, template_values, validate_data  # noqa: E402
from executors.templates import load_templates, render, template_dirs  # noqa: E402
from main import build_runner  # noqa: E402
from repositories.artifacts import ArtifactRepository  # noqa: E402
from repositories.database import Database  # noqa: E402
from repositories.jobs import JobRepository  # noqa: E402
from repositories.prompts import PromptRepository  # noqa: E402

PROMPT = {"prompt": "a lighthouse at dusk, volumetric fog", "aspect_ratio": "1:1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.comfyui_server", "--port", str(port), "--step-delay", "0"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/system_stats", timeout=1)
            return server
        except requests.ConnectionError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the protocol test server did not start")


def baseline_job(url: str, graph: dict, out_dir: Path) -> None:
    client_id = uuid.uuid4().hex
    ws = websocket.create_connection(f"ws{url[4:]}/ws?clientId={client_id}", timeout=30)
    try:
        body = {"prompt": graph, "client_id": client_id, "prompt_id": uuid.uuid4().hex}
        prompt_id = requests.post(f"{url}/prompt", json=body, timeout=30).json()["prompt_id"]
        while True:
            message = ws.recv()
            if isinstance(message, str):
                event = json.loads(message)
                if event["type"] == "execution_success" and event["data"]["prompt_id"] == prompt_id:
                    break
    finally:
        ws.close()
    history = requests.get(f"{url}/history/{prompt_id}", timeout=30).json()[prompt_id]
    for output in history["outputs"].values():
        for item in output.get("images", []) + output.get("audio", []):
            data = requests.get(f"{url}/view", params=item, timeout=30).content
            (out_dir / item["filename"]).write_bytes(data)


def run_baseline(url: str, jobs: int) -> list[float]:
    templates = load_templates(template_dirs(Path(tempfile.mkdtemp())))
    template = templates.resolve("create_image", "standard").template
    values = template_values(MediaKind.IMAGE, validate_data("image", PROMPT))
    out_dir = Path(tempfile.mkdtemp(prefix="baseline-"))
    times = []
    for _ in range(jobs):
        graph = render(template, values, {"seed": random.randrange(2**32)}).graph
        start = time.perf_counter()
        baseline_job(url, graph, out_dir)
        times.append(time.perf_counter() - start)
    return times


def takeboard_runner(url: str):
    home = Path(tempfile.mkdtemp(prefix="takeboard-overhead-"))
    config = load_config(home, env={"TAKEBOARD_COMFYUI_URL": url})
    database = Database(config.database_path)
    prompts, artifacts = PromptRepository(database), ArtifactRepository(database)
    runner = build_runner(config, prompts, JobRepository(database), artifacts)
    return runner, prompts.add("image", "overhead", PROMPT)


def run_takeboard(url: str, jobs: int) -> list[float]:
    """Each job on its own: queue, run, harvest, preview — the latency of one take."""
    runner, prompt = takeboard_runner(url)
    times = []
    for _ in range(jobs):
        start = time.perf_counter()
        (job,) = runner.queue([prompt.id])
        (finished,) = runner.run([job.id], lambda event: None, threading.Event())
        times.append(time.perf_counter() - start)
        assert finished.status.value == "done", finished.error
    return times


def batch_takeboard(url: str, jobs: int) -> float:
    """A batch of takes in one run: previews are made while the next job runs."""
    runner, prompt = takeboard_runner(url)
    start = time.perf_counter()
    queued = runner.queue([prompt.id] * jobs)
    finished = runner.run([job.id for job in queued], lambda event: None, threading.Event())
    assert all(job.status.value == "done" for job in finished)
    return (time.perf_counter() - start) / jobs


def summary(label: str, times: list[float]) -> float:
    ms = [t * 1000 for t in times]
    median = statistics.median(ms)
    print(
        f"{label:<22} jobs {len(ms):3d}   p50 {median:7.1f} ms   mean "
        f"{statistics.mean(ms):7.1f} ms   max {max(ms):7.1f} ms"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=30)
    args = parser.parse_args()
    port = free_port()
    server = start_server(port)
    url = f"http://127.0.0.1:{port}"
    try:
        run_baseline(url, 3)  # warm both paths (imports, server caches) before measuring
        run_takeboard(url, 3)
        rounds = [
            (
                run_baseline(url, args.jobs),
                run_takeboard(url, args.jobs),
                batch_takeboard(url, args.jobs),
            )
            for _ in range(2)
        ]
    finally:
        server.terminate()
        server.wait(10)
    base = summary("baseline loop", [t for r in rounds for t in r[0]])
    single = summary("takeboard, one by one", [t for r in rounds for t in r[1]])
    batch = statistics.mean(r[2] for r in rounds) * 1000
    print(f"takeboard, batch of {args.jobs}     per job {batch:7.1f} ms")
    print(f"ratio to baseline p50: one by one {single / base:.2f}x, batch {batch / base:.2f}x")


if __name__ == "__main__":
    main()
