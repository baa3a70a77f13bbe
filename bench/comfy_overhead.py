"""Per-job overhead of Takeboard's generate path against an instant ComfyUI protocol server.

Both loops run in the same process against the same loopback server (started as a separate
process, `python -m executors.demo_server`), on the same rendered SDXL workflow with a fresh seed
per job:
- baseline: a minimal requests + websocket-client loop — POST /prompt, wait on the socket for
  execution_success, GET /history/{id}, GET /view each output into a file;
- takeboard: the job engine — job rows in SQLite, template resolve/render, object_info check,
  WebSocket progress, streamed download with sha256, media facts, preview, artifact records,
  history deletion.

Run: .venv/bin/python bench/comfy_overhead.py [--jobs 30] [--profile current|0.3.64]
[--breakdown]. Aim: takeboard within 1.5x of the baseline. `--breakdown` profiles one batch
and prints where its time goes (SQLite writes, fsyncs, file writes, previews). Results:
RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
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

from bench.servers import start_server, stop_servers  # noqa: E402
from core.config import load_config  # noqa: E402
from core.models import MediaKind, template_values, validate_data  # noqa: E402
from executors.templates import load_templates, render, template_dirs  # noqa: E402
from main import build_engine  # noqa: E402
from repositories.artifacts import ArtifactRepository  # noqa: E402
from repositories.database import Database  # noqa: E402
from repositories.jobs import JobRepository  # noqa: E402
from repositories.prompts import PromptRepository  # noqa: E402

PROMPT = {"prompt": "a lighthouse at dusk, volumetric fog", "aspect_ratio": "1:1"}


def baseline_job(url: str, graph: dict, out_dir: Path) -> None:
    client_id = uuid.uuid4().hex
    ws = websocket.create_connection(f"ws{url[4:]}/ws?clientId={client_id}", timeout=30)
    try:
        body = {"prompt": graph, "client_id": client_id, "prompt_id": str(uuid.uuid4())}
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


def takeboard_engine(url: str):
    home = Path(tempfile.mkdtemp(prefix="takeboard-overhead-"))
    config = load_config(home, env={"TAKEBOARD_COMFYUI_URL": url})
    database = Database(config.database_path)
    prompts, artifacts = PromptRepository(database), ArtifactRepository(database)
    jobs = JobRepository(database)
    engine = build_engine(config, prompts, jobs, artifacts, lambda event: None)
    return engine, jobs, prompts.add("image", "overhead", PROMPT)


def run_takeboard(url: str, count: int) -> list[float]:
    """Each job on its own: queue, run, harvest, preview — the latency of one take."""
    engine, jobs, prompt = takeboard_engine(url)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        (job,) = engine.queue([prompt.id])
        engine.run_until_done([job.id])
        times.append(time.perf_counter() - start)
        assert jobs.get(job.id).status.value == "done", jobs.get(job.id).error
    return times


def batch_takeboard(url: str, count: int) -> float:
    """A batch of takes in one run: previews are made while the next job runs."""
    engine, jobs, prompt = takeboard_engine(url)
    start = time.perf_counter()
    queued = engine.queue([prompt.id] * count)
    engine.run_until_done([job.id for job in queued])
    assert all(jobs.get(job.id).status.value == "done" for job in queued)
    return (time.perf_counter() - start) / count


def summary(label: str, times: list[float]) -> float:
    ms = [t * 1000 for t in times]
    median = statistics.median(ms)
    print(
        f"{label:<22} jobs {len(ms):3d}   p50 {median:7.1f} ms   mean "
        f"{statistics.mean(ms):7.1f} ms   max {max(ms):7.1f} ms"
    )
    return median


class Meter:
    """Wall time spent inside some functions, from every thread (wrapped while it runs)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self.lock = threading.Lock()
        self.undo: list[tuple[object, str, object]] = []

    def wrap(self, label: str, owner: object, name: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                with self.lock:
                    self.spent[label] = self.spent.get(label, 0.0) + time.perf_counter() - start

        setattr(owner, name, timed)
        self.undo.append((owner, name, original))

    def restore(self) -> None:
        for owner, name, original in reversed(self.undo):
            setattr(owner, name, original)


def breakdown(url: str, count: int) -> None:
    """Where a batch's time goes: wall time inside the parts named below, summed over threads
    (the job threads overlap, so the parts can add up to more than the batch)."""
    import os

    import peewee

    from executors import previews, storage
    from executors.backends.comfyui import ComfyClient

    meter = Meter()
    meter.wrap("SQLite statements (incl. commits)", peewee.SqliteDatabase, "execute_sql")
    meter.wrap("fsync (files and folders)", os, "fsync")
    meter.wrap("download + write + hash", storage, "write_stream")
    meter.wrap("previews (background thread)", previews, "make_preview")
    meter.wrap("ComfyUI run (submit → ended)", ComfyClient, "run")
    try:
        per_job = batch_takeboard(url, count)
    finally:
        meter.restore()
    print(f"batch of {count}: {per_job * 1000:.1f} ms a job (wall)")
    for label, spent in meter.spent.items():
        print(f"  {label:<36} {spent * 1000 / count:6.1f} ms a job")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--profile", default="current", help="the fake server's version")
    parser.add_argument("--breakdown", action="store_true", help="where a batch's time goes")
    args = parser.parse_args()
    server, url = start_server(step_delay=0.0, profile=args.profile)
    if args.breakdown:
        try:
            breakdown(url, args.jobs)
        finally:
            stop_servers([server])
        return
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
        stop_servers([server])
    base = summary("baseline loop", [t for r in rounds for t in r[0]])
    single = summary("takeboard, one by one", [t for r in rounds for t in r[1]])
    batch = statistics.mean(r[2] for r in rounds) * 1000
    print(f"takeboard, batch of {args.jobs}     per job {batch:7.1f} ms")
    print(f"ratio to baseline p50: one by one {single / base:.2f}x, batch {batch / base:.2f}x")


if __name__ == "__main__":
    main()
