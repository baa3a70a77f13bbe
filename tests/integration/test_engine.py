"""The job engine through its CLI and API, against real protocol test servers on loopback."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import pytest
import requests

from core.config import load_config
from core.models import JobStatus
from executors.demo_server.server import ComfyServer
from main import build_engine
from tests.waiting import wait_for

IMAGE = {"prompt": "a lighthouse at dusk"}
FAST_RETRY = {
    "retry": {"attempts": 4, "initial_s": 0.05, "max_s": 0.2, "jitter_s": 0.01},
    "timeouts": {"connect_s": 1.0, "read_s": 5.0},
}


@pytest.fixture
def fast_home(home: Path) -> Path:
    (home / "config.json").write_text(json.dumps(FAST_RETRY))
    return home


@pytest.fixture
def servers(tmp_path, monkeypatch):
    """Two protocol test servers forming one pool."""
    pool = [ComfyServer(tmp_path / f"s{n}", step_delay=0.01) for n in (1, 2)]
    urls = [server.start() for server in pool]
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", ",".join(urls))
    yield pool
    for server in pool:
        server.stop()


def add_prompts(ctx, count: int) -> list[int]:
    return [ctx.prompts.add("image", f"p{n}", IMAGE).id for n in range(count)]


def engine_for(ctx, events=None):
    return build_engine(
        load_config(ctx.config.home),
        ctx.prompts,
        ctx.jobs,
        ctx.artifacts,
        (events.append if events is not None else lambda event: None),
    )


def test_worker_runs_the_queue_over_both_servers(cli, ctx, servers, fast_home):
    ids = add_prompts(ctx, 8)
    code, out, err = cli("generate", *map(str, ids), "--json")
    assert code == 0, err
    assert len(json.loads(out)) == 8
    code, _, err = cli("worker", "--until-idle")
    assert code == 0, err
    jobs = cli.json("jobs", "list")
    assert [job["status"] for job in jobs] == ["done"] * 8
    assert {job["backend"] for job in jobs} == {s.url.split("//")[1] for s in servers}
    artifacts = cli.json("artifacts", "list")
    assert len(artifacts) == 8 and len({a["path"] for a in artifacts}) == 8
    assert all(Path(a["path"]).is_relative_to(fast_home / "artifacts") for a in artifacts)


def comfyui_rows(cli) -> list[dict]:
    return [row for row in cli.json("backends") if row["kind"] == "comfyui"]


def test_backends_lists_each_server(cli, servers):
    everything = cli.json("backends")
    assert [row["kind"] for row in everything] == ["comfyui", "comfyui", "llm"]
    assert everything[-1]["url"] == "http://127.0.0.1:11434"  # the configured screenwriter
    rows = comfyui_rows(cli)
    assert [row["url"] for row in rows] == [server.url for server in servers]
    keys = {
        "name",
        "kind",
        "url",
        "online",
        "vram_free_mb",
        "vram_total_mb",
        "queue_running",
        "queue_pending",
        "success_rate",
        "median_latency_ms",
    }
    assert all(keys <= set(row) and row["online"] is True for row in rows)
    servers[1].kill()
    rows = comfyui_rows(cli)
    assert [row["online"] for row in rows] == [True, False]
    assert "not answering" in rows[1]["last_error"]


def test_paused_queue_starts_nothing_until_resumed(cli, ctx, servers, fast_home):
    (prompt_id,) = add_prompts(ctx, 1)
    assert cli("queue", "pause")[0] == 0
    engine = engine_for(ctx)
    (job,) = engine.queue([prompt_id])
    engine.start()
    try:
        assert not wait_for(lambda: ctx.jobs.get(job.id).status is not JobStatus.QUEUED, 0.8)
        assert cli("queue", "resume")[0] == 0
        assert wait_for(lambda: ctx.jobs.get(job.id).status is JobStatus.DONE, 20)
    finally:
        engine.stop()


def test_front_jobs_run_first(ctx, servers, fast_home):
    servers[1].kill()
    ids = add_prompts(ctx, 4)
    events: list = []
    engine = engine_for(ctx, events)
    back = engine.queue(ids[:3])
    (front,) = engine.queue(ids[3:], front=True)
    engine.run_until_done([j.id for j in back] + [front.id])
    started = {j.id: ctx.jobs.get(j.id).started_at for j in [*back, front]}
    assert min(started, key=started.get) == front.id  # dispatched first
    assert all(ctx.jobs.get(j.id).status is JobStatus.DONE for j in back)


def test_cancel_and_retry_from_the_cli(cli, ctx, servers, fast_home):
    (prompt_id,) = add_prompts(ctx, 1)
    (job_id,) = json.loads(cli("generate", str(prompt_id), "--json")[1])
    assert cli("jobs", "cancel", str(job_id))[0] == 0
    assert cli.json("jobs", "list")[0]["status"] == "cancelled"
    code, _, err = cli("jobs", "retry", str(job_id))
    assert code == 0, err
    assert cli.json("jobs", "list")[0]["status"] == "queued"
    assert cli("worker", "--until-idle")[0] == 0
    assert cli.json("jobs", "list")[0]["status"] == "done"
    code, _, err = cli("jobs", "retry", str(job_id))
    assert code == 2 and "only failed, cancelled or suspect" in err
    assert cli("jobs", "retry")[0] == 2


def test_retry_failed_requeues_every_failed_job(cli, ctx, servers, fast_home):
    for server in servers:
        server.fail_node("VAEDecode", message="decoder exploded")
    ids = add_prompts(ctx, 2)
    code, results, _ = _generate_wait(cli, ids)
    assert code == 1 and {r["status"] for r in results} == {"failed"}
    for server in servers:
        server.clear_faults()
    assert cli("jobs", "retry", "--failed")[0] == 0
    assert cli("worker", "--until-idle")[0] == 0
    assert {job["status"] for job in cli.json("jobs", "list")} == {"done"}
    assert {p["status"] for p in cli.json("prompt", "list")} == {"ready"}


def test_a_short_outage_at_start_is_waited_out(cli, ctx, servers, fast_home):
    (fast_home / "config.json").write_text(
        json.dumps({**FAST_RETRY, "retry": {**FAST_RETRY["retry"], "max_s": 5.0}})
    )
    servers[1].kill()
    servers[0].proxy_error(503)
    threading.Timer(2.0, servers[0].proxy_error, args=(None,)).start()  # past in-place retries
    code, results, err = _generate_wait(cli, add_prompts(ctx, 1))
    assert code == 0, err
    assert results[0]["status"] == "done" and "waiting" in err


def test_finished_prompt_is_harvested_not_rerun(ctx, servers, fast_home):
    """A job whose stored submission already ran on its server is harvested from history."""
    servers[1].kill()
    (prompt_id,) = add_prompts(ctx, 1)
    engine = engine_for(ctx)
    (job,) = engine.queue([prompt_id])
    engine.run_until_done([job.id])
    first = ctx.jobs.get(job.id)
    submission = first.submission
    # Pretend the app crashed after submitting: the prompt ran, nothing was harvested.
    url = servers[0].url
    body = {"prompt": submission.workflow, "prompt_id": "again-1", "client_id": "x"}
    requests.post(f"{url}/prompt", json=body, timeout=5).raise_for_status()
    assert wait_for(lambda: requests.get(f"{url}/history/again-1", timeout=5).json(), 10)
    number_before = requests.get(f"{url}/prompt", timeout=5).json()
    ctx.jobs.update(
        job.id,
        status=JobStatus.RUNNING,
        remote_id="again-1",
        submission=dataclasses.replace(submission, remote_id="again-1"),
    )
    engine = engine_for(ctx)
    engine.run_until_done([job.id])  # reconcile → resume → harvest
    assert ctx.jobs.get(job.id).status is JobStatus.DONE
    assert len(ctx.artifacts.for_prompt(prompt_id)) == 2  # the first take and the harvested one
    assert requests.get(f"{url}/prompt", timeout=5).json() == number_before  # nothing re-ran


def test_jobs_left_running_by_a_crash_are_picked_up(ctx, servers, fast_home):
    servers[1].kill()
    (prompt_id,) = add_prompts(ctx, 1)
    engine = engine_for(ctx)
    (job,) = engine.queue([prompt_id])
    ctx.jobs.update(job.id, status=JobStatus.RUNNING)  # as a killed process leaves it
    engine.run_until_done([job.id])
    done = ctx.jobs.get(job.id)
    assert done.status is JobStatus.DONE and len(ctx.artifacts.for_prompt(prompt_id)) == 1


def test_generate_wait_fails_fast_when_no_server_answers(cli, ctx, servers, fast_home):
    for server in servers:
        server.kill()
    code, results, _ = _generate_wait(cli, add_prompts(ctx, 1))
    assert code == 1 and results[0]["status"] == "failed"
    assert "not answering" in results[0]["error"]


def _generate_wait(cli, ids):
    code, out, err = cli("generate", *map(str, ids), "--wait", "--json")
    return code, (json.loads(out) if out.strip() else None), err
