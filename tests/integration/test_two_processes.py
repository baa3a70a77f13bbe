"""Two processes on one library never run a job twice: real `worker` and `generate --wait`
processes share one home and one protocol test server, which counts what each prompt was
submitted. Also: which running jobs a starting engine takes over (only those whose owner is
gone), and the claim itself."""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from core.config import load_config
from core.jobs import JobSpec, Owner
from core.models import JobStatus
from main import build_engine
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {
    "retry": {"attempts": 4, "initial_s": 0.05, "max_s": 2.0, "jitter_s": 0.01},
    "timeouts": {"connect_s": 1.0, "read_s": 5.0},
}
LIMIT_S = 60


@pytest.fixture
def server(comfy_server):
    comfy_server.set_step_delay(0.02)  # 25 steps: about half a second a job
    return comfy_server


def spawn(home: Path, url: str, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAKEBOARD_")}
    env["TAKEBOARD_COMFYUI_URL"] = url
    return subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "--home", str(home), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ended(process: subprocess.Popen, limit: float = LIMIT_S) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"{process.args[4:]} did not end in {limit} s: {err}")
    return process.returncode, out, err


def add_prompts(cli, home: Path, first: int, count: int) -> list[str]:
    """Prompts whose text names them ("take 7"), so the server side can tell them apart."""
    (home / "config.json").write_text(json.dumps(CONFIG))
    return [
        cli.add_prompt("image", {"prompt": f"a lighthouse, take {n}"}, title=f"p{n}")
        for n in range(first, first + count)
    ]


def submissions(server) -> collections.Counter:
    """How often the server was sent each take's prompt (history and queue together)."""
    entries = list(requests.get(f"{server.url}/history", timeout=5).json().values())
    queue = requests.get(f"{server.url}/queue", timeout=5).json()
    graphs = [entry["prompt"][2] for entry in entries]
    graphs += [item[2] for item in queue["queue_running"] + queue["queue_pending"]]
    texts = [
        value
        for graph in graphs
        for node in graph.values()
        for value in node["inputs"].values()
        if isinstance(value, str) and "a lighthouse, take" in value
    ]
    return collections.Counter(t.split("take ")[1].split(",")[0].strip() for t in texts)


def owners(home: Path) -> dict[int, int]:
    """Job id → the pid of the process that ran it last."""
    with sqlite3.connect(home / "takeboard.db") as db:
        rows = db.execute("SELECT id, owner FROM job").fetchall()
    return {job_id: Owner.parse(owner).pid for job_id, owner in rows if owner}


def check_each_ran_once(cli, server, count: int) -> None:
    jobs = cli.json("jobs", "list")
    assert len(jobs) == count and {j["status"] for j in jobs} == {"done"}, jobs
    assert server.state.number == count, "POST /prompt more often than there are jobs"
    assert submissions(server) == {str(n): 1 for n in range(count)}
    artifacts = cli.json("artifacts", "list")
    assert sorted(a["job_id"] for a in artifacts) == sorted(j["id"] for j in jobs)


def some_job_runs(server) -> bool:
    return bool(server.state.executor.queue.running)


def test_a_second_worker_never_runs_what_the_first_one_runs(cli, home, server):
    ids = add_prompts(cli, home, 0, 10)
    assert cli("generate", *ids)[0] == 0
    first = spawn(home, server.url, "worker", "--until-idle")
    assert wait_for(lambda: some_job_runs(server), 30), "the first worker started nothing"
    second = spawn(home, server.url, "worker", "--until-idle")  # its start must not steal
    for process in (first, second):
        code, _, err = ended(process)
        assert code == 0, err
    check_each_ran_once(cli, server, 10)
    assert set(owners(home).values()) <= {first.pid, second.pid}


def test_generate_wait_runs_only_its_own_jobs_beside_a_worker(cli, home, server):
    queued = add_prompts(cli, home, 0, 4)
    mine = add_prompts(cli, home, 4, 2)
    assert cli("generate", *queued)[0] == 0
    worker = spawn(home, server.url, "worker")
    try:
        assert wait_for(lambda: some_job_runs(server), 30), "the worker started nothing"
        waiting = spawn(home, server.url, "generate", *mine, "--wait", "--json")
        code, out, err = ended(waiting)
        assert code == 0, err
        results = json.loads(out)
        assert [r["prompt_id"] for r in results] == [int(p) for p in mine]
        assert {r["status"] for r in results} == {"done"}
        own = {r["job_id"] for r in results}
        ran_by_wait = {j for j, pid in owners(home).items() if pid == waiting.pid}
        assert ran_by_wait <= own, "generate --wait ran jobs that were not its own"
        assert wait_for(lambda: {j["status"] for j in cli.json("jobs", "list")} == {"done"}, 30)
    finally:
        worker.send_signal(signal.SIGINT)
        code, _, err = ended(worker, 20)
    assert code == 0, err
    check_each_ran_once(cli, server, 6)


# --- which running jobs a starting engine takes over ---------------------------------------


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_starting_engine_takes_over_only_jobs_whose_owner_is_gone(ctx, home):
    here, now = socket.gethostname(), time.time()
    stopped = build_engine(load_config(home), ctx.prompts, ctx.jobs, ctx.artifacts, print)
    claims = {
        "another host, lease running": (f"elsewhere/{os.getpid()}/a1", now + 60, False),
        "another host, lease over": (f"elsewhere/{os.getpid()}/a2", now - 1, True),
        "this host, process alive": (f"{here}/{os.getppid()}/b1", now + 60, False),
        "this host, process dead": (f"{here}/{dead_pid()}/b2", now + 60, True),
        "this process, engine stopped": (str(stopped.leases.owner), now + 60, True),
        "before owners were recorded": ("", None, True),
    }
    prompt = ctx.prompts.add("image", "p", {"prompt": "a lighthouse"})
    jobs = {}
    for case, (owner, lease_until, _) in claims.items():
        job = ctx.jobs.add(prompt_id=prompt.id, spec=JobSpec("create_image", "standard"))
        assert ctx.jobs.claim(job.id, owner, lease_until or 0.0) is not None
        jobs[case] = job.id
    ctx.jobs.update(jobs["before owners were recorded"], owner="", lease_until=None)
    cancelled = ctx.jobs.add(prompt_id=prompt.id, spec=JobSpec("create_image", "standard"))
    ctx.jobs.claim(cancelled.id, f"{here}/{dead_pid()}/c1", now + 60)
    ctx.jobs.request_cancel(cancelled.id)  # asked while its process was already gone
    build_engine(load_config(home), ctx.prompts, ctx.jobs, ctx.artifacts, print).reconcile()
    taken = {case: ctx.jobs.get(job_id).status is JobStatus.QUEUED for case, job_id in jobs.items()}
    assert taken == {case: gone for case, (_, _, gone) in claims.items()}
    assert ctx.jobs.get(cancelled.id).status is JobStatus.CANCELLED


def test_a_job_is_claimed_once(ctx):
    prompt = ctx.prompts.add("image", "p", {"prompt": "a lighthouse"})
    job = ctx.jobs.add(prompt_id=prompt.id, spec=JobSpec("create_image", "standard"))
    first = ctx.jobs.claim(job.id, "host/1/a", time.time() + 30, backend="s1")
    assert first is not None and first.status is JobStatus.RUNNING and first.attempts == 1
    assert ctx.jobs.claim(job.id, "host/2/b", time.time() + 30, backend="s2") is None
    assert ctx.jobs.get(job.id).backend == "s1"
    assert ctx.jobs.renew("host/2/b", [job.id], time.time() + 30) == {job.id}  # not its job
    assert ctx.jobs.renew("host/1/a", [job.id], time.time() + 30) == set()


def test_the_end_of_a_job_taken_over_elsewhere_is_not_recorded_here(ctx, home, server):
    """After a stall longer than its lease (a suspended laptop), another host took the job
    over: the renewal notices, and the end of the run here is left to the new owner (the
    prompt on the server is not interrupted: the new owner tracks it)."""
    server.set_step_delay(0.08)  # 25 steps: two seconds
    (home / "config.json").write_text(json.dumps(CONFIG))
    config = load_config(home, env={"TAKEBOARD_COMFYUI_URL": server.url})
    engine = build_engine(config, ctx.prompts, ctx.jobs, ctx.artifacts, print)
    engine.leases.lease_s = 0.6  # renewed every 0.2 s
    (job,) = engine.queue([ctx.prompts.add("image", "p", {"prompt": "a lighthouse"}).id])
    engine.start()
    try:
        assert wait_for(lambda: some_job_runs(server), 20), "nothing started"
        (claim,) = ctx.jobs.claims()
        assert ctx.jobs.take_over(claim, "taken over")  # what the other host's engine does
        assert ctx.jobs.claim(job.id, "elsewhere/1/x", time.time() + 60) is not None
        assert wait_for(lambda: engine.idle([]), 20), "the run here did not end"
    finally:
        engine.stop()
    after = ctx.jobs.get(job.id)
    assert after.status is JobStatus.RUNNING and after.error == "" and after.finished_at is None
    assert owners(home) == {job.id: 1}
    assert server.state.executor.queue.history  # the prompt ran to its end on the server
