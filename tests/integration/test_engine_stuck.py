"""The engine never sticks silently: writes that fail while jobs start and end give every slot
back and the jobs still end; one server answering nonsense cannot stop the others; when
nothing can make progress, `worker --until-idle` and `generate --wait` say so and exit 1; Ctrl+C
never turns a take into a failure; a job out of retries does not say "retrying"."""

from __future__ import annotations

import http.server
import json
import signal
import sqlite3
import threading

import pytest

from core.models import JobStatus
from tests.integration.test_engine_faults import (
    add_prompts,
    check_outcome,
    describe,
    finish,
    make_engine,
    run,
    start,
)
from tests.integration.test_two_processes import ended, spawn
from tests.waiting import wait_for

FAST = {
    "retry": {"attempts": 2, "initial_s": 0.05, "max_s": 0.5, "jitter_s": 0.01},
    "timeouts": {"connect_s": 1.0, "read_s": 5.0},
}


@pytest.fixture
def server(tmp_path):
    from executors.demo_server.server import ComfyServer

    started: list[ComfyServer] = []

    def make(step_delay: float = 0.01) -> ComfyServer:
        fake = ComfyServer(tmp_path / f"comfyui{len(started)}", step_delay=step_delay)
        fake.start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


def lock_library(home, seconds: float) -> threading.Thread:
    """Another connection holds the library's write lock for `seconds` (longer than the 5 s
    busy timeout: every write meanwhile fails with "database is locked")."""
    held = threading.Event()

    def hold() -> None:
        db = sqlite3.connect(home / "takeboard.db", isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        held.set()
        threading.Event().wait(seconds)
        db.execute("ROLLBACK")
        db.close()

    locker = threading.Thread(target=hold, daemon=True)
    locker.start()
    assert held.wait(5)
    return locker


def test_writes_failing_while_jobs_start_and_end_lose_no_slot_and_no_job(
    ctx, home, tmp_path, server
):
    fake = server(step_delay=0.04)  # 25 steps: about a second a job
    engine = make_engine(ctx, home, fake)
    jobs = engine.queue(add_prompts(ctx, 4))
    runner, stop = start(engine, [j.id for j in jobs])
    assert wait_for(lambda: fake.state.executor.queue.running, 15), describe(engine)
    locker = lock_library(home, 6.5)  # the running job ends and the next ones start meanwhile
    finish(engine, runner, stop, limit=60)
    locker.join()
    check_outcome(ctx, home, tmp_path, jobs, servers=[fake])
    assert [ctx.jobs.get(j.id).status for j in jobs] == [JobStatus.DONE] * 4, describe(engine)
    assert [s.slots_used for s in engine.pool.states()] == [0] * len(engine.pool.states())
    assert fake.state.number == 4  # nothing submitted twice


class Nonsense(http.server.BaseHTTPRequestHandler):
    """A "server" whose /system_stats is JSON nested 100,000 deep and whose /queue is a list."""

    def do_GET(self) -> None:  # noqa: N802 — http.server's name
        bodies = {"/system_stats": "[" * 100_000 + "]" * 100_000, "/queue": "[]"}
        body = bodies.get(self.path.split("?")[0], "{}").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def nonsense():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Nonsense)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_a_server_answering_nonsense_does_not_stop_the_others(
    ctx, home, tmp_path, server, nonsense
):
    fake = server()
    url = f"http://127.0.0.1:{nonsense.server_address[1]}"
    bad = type("Bad", (), {"url": url})()
    engine = make_engine(ctx, home, bad, fake)
    jobs = engine.queue(add_prompts(ctx, 3))
    run(engine, [j.id for j in jobs])
    check_outcome(ctx, home, tmp_path, jobs, servers=[fake])
    assert {ctx.jobs.get(j.id).status for j in jobs} == {JobStatus.DONE}, describe(engine)
    (odd,) = [s for s in engine.pool.states() if s.url == url]
    assert odd.online is False and odd.last_error


def test_worker_until_idle_says_why_it_cannot_make_progress(cli, home, server):
    (home / "config.json").write_text(json.dumps(FAST))
    fake = server()
    prompt = cli.add_prompt("image", {"prompt": "a lighthouse"})
    assert cli("generate", prompt)[0] == 0
    fake.kill()  # nothing answers: the queued job can never start
    code, out, err = ended(spawn(home, fake.url, "worker", "--until-idle"), 30)
    assert code == 1 and out == ""
    *progress, line = err.strip().splitlines()
    assert all(p.startswith("job 1: waiting") for p in progress)
    assert line.startswith("error: no progress for 1 s: no job could start (no ComfyUI")
    assert line.endswith("they stay queued")
    assert [j["status"] for j in cli.json("jobs", "list")] == ["waiting"]  # for a server


def test_generate_wait_on_a_paused_queue_says_so(cli, home, server):
    (home / "config.json").write_text(json.dumps(FAST))
    fake = server()
    prompt = cli.add_prompt("image", {"prompt": "a lighthouse"})
    assert cli("queue", "pause")[0] == 0
    code, _, err = ended(spawn(home, fake.url, "generate", prompt, "--wait"), 30)
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "error: no progress for 1 s: the queue is paused — run 'queue resume' (or Resume "
        "queue in the window)"
    )
    assert fake.state.number == 0
    assert [j["status"] for j in cli.json("jobs", "list")] == ["queued"]


def test_ctrl_c_during_generate_wait_cancels_cleanly(cli, home, server):
    (home / "config.json").write_text(json.dumps(FAST))
    fake = server(step_delay=0.2)  # 25 steps: five seconds
    prompt = cli.add_prompt("image", {"prompt": "a lighthouse"})
    waiting = spawn(home, fake.url, "generate", prompt, "--wait", "--json")
    assert wait_for(lambda: fake.state.executor.queue.running, 20), "nothing started"
    waiting.send_signal(signal.SIGINT)
    code, out, err = ended(waiting, 30)
    assert "Traceback" not in err
    (result,) = json.loads(out)
    assert result["status"] == "cancelled" and code == 1, (result, err)
    assert "internal error" not in result["error"]
    assert result["artifacts"] == [] and cli.json("artifacts", "list") == []
    assert wait_for(lambda: not fake.state.executor.queue.running, 10), "not interrupted"


def test_a_job_out_of_retries_does_not_say_retrying(ctx, home, tmp_path, server):
    (home / "config.json").write_text(json.dumps(FAST))  # health every 30 s: stays "online"
    fake = server(step_delay=0.05)
    engine = make_engine(ctx, home, fake)
    (job,) = engine.queue(add_prompts(ctx, 1))
    runner, stop = start(engine, [job.id])
    assert wait_for(lambda: fake.state.executor.queue.running, 15), describe(engine)
    fake.proxy_error(502)  # from now on every HTTP answer is a 502
    finish(engine, runner, stop, limit=60)
    job = ctx.jobs.get(job.id)
    assert job.status is JobStatus.FAILED and job.attempts == 2, describe(engine)
    assert job.error.startswith("gave up after 2 attempts: ")
    assert "retrying" not in job.error, job.error
