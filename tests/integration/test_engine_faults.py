"""The job engine against a misbehaving ComfyUI: every job ends done or cleanly failed, nothing
is lost, nothing is taken twice, and nothing is written outside the data home."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time
from pathlib import Path

import pytest
import requests

from core.config import load_config
from executors.demo_server.server import ComfyServer
from main import build_engine
from tests.waiting import wait_for

IMAGE = {"prompt": "a lighthouse at dusk"}
SONG = {"lyrics": "[verse]\nheave away", "tags": ["folk"], "duration_s": 30}
GB = 1024**3
RUN_LIMIT_S = 40


def configure(home: Path, attempts: int = 8) -> None:
    config = {
        "retry": {"attempts": attempts, "initial_s": 0.05, "max_s": 0.2, "jitter_s": 0.01},
        "timeouts": {"connect_s": 1.0, "read_s": 5.0},
        "health": {"interval_s": 0.2},  # refresh the servers' health often, not every 30 s
    }
    (home / "config.json").write_text(json.dumps(config))


def make_engine(ctx, home: Path, *servers: ComfyServer, events: list | None = None):
    configure(home) if not (home / "config.json").exists() else None
    env = {"TAKEBOARD_COMFYUI_URL": ",".join(s.url for s in servers)}
    sink = events.append if events is not None else (lambda event: None)
    engine = build_engine(load_config(home, env=env), ctx.prompts, ctx.jobs, ctx.artifacts, sink)
    engine.pool.breaker_cooldown_s = 0.3  # a tripped breaker must not stall the test for 30 s
    engine.pool._gpu_probe = lambda: None  # the fake servers' VRAM numbers, not this machine's
    return engine


def add_prompts(ctx, count: int, data: dict = IMAGE, kind: str = "image") -> list[int]:
    return [ctx.prompts.add(kind, f"p{n}", dict(data)).id for n in range(count)]


def run(engine, job_ids=None, limit: float = RUN_LIMIT_S) -> None:
    """run_until_done on a thread, bounded in time (a hang fails instead of blocking)."""
    stop = threading.Event()
    runner = threading.Thread(target=engine.run_until_done, args=(job_ids, stop), daemon=True)
    runner.start()
    runner.join(limit)
    if runner.is_alive():
        stop.set()
        runner.join(3)
        pytest.fail(f"the engine did not finish in {limit} s: {describe(engine)}")


def start(engine, job_ids=None):
    stop = threading.Event()
    runner = threading.Thread(target=engine.run_until_done, args=(job_ids, stop), daemon=True)
    runner.start()
    return runner, stop


def finish(engine, runner, stop, limit: float = RUN_LIMIT_S) -> None:
    runner.join(limit)
    if runner.is_alive():
        stop.set()
        runner.join(3)
        pytest.fail(f"the engine did not finish in {limit} s: {describe(engine)}")


def describe(engine) -> str:
    return "; ".join(
        f"job {j.id} {j.status.value} attempts={j.attempts} note={j.note!r} error={j.error!r}"
        for j in engine.jobs.list()
    )


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def check_outcome(ctx, home: Path, tmp_path: Path, jobs, *, servers=()) -> dict[int, list]:
    """Every job done or cleanly failed; one artifact per done job, none for a failed one;
    the files are the artifacts, all under <home>/artifacts; nothing elsewhere in tmp_path."""
    by_job: dict[int, list] = {}
    for job in jobs:
        job = ctx.jobs.get(job.id)
        assert job.status.value in ("done", "failed"), (job.id, job.status, job.error)
        takes = [a for a in ctx.artifacts.for_prompt(job.prompt_id) if a.job_id == job.id]
        remote = [a.metadata["remote_prompt_id"] for a in takes]
        assert len(takes) == (1 if job.status.value == "done" else 0), (job.id, remote, job.note)
        by_job[job.id] = takes
    records = [a for takes in by_job.values() for a in takes]
    paths = [(home / a.path).resolve() for a in records]
    assert len({a.sha256 for a in records}) == len(records), "the same file taken twice"
    for artifact, path in zip(records, paths, strict=True):
        assert path.is_relative_to((home / "artifacts").resolve()) and path.is_file()
        assert not path.name.endswith(".part")
        assert hashlib.sha256(path.read_bytes()).hexdigest() == artifact.sha256
    on_disk = {p.resolve() for p in files_under(home / "artifacts") if ".part" not in p.name}
    assert on_disk == set(paths), "files in artifacts/ that no artifact records"
    allowed = [home.resolve(), *(Path(s.output_dir).parent.resolve() for s in servers)]
    strays = [
        p
        for p in files_under(tmp_path)
        if not any(p.resolve().is_relative_to(root) for root in allowed)
    ]
    assert strays == [], f"written outside the home: {strays}"
    return by_job


@pytest.fixture
def server(tmp_path):
    servers: list[ComfyServer] = []

    def make(name: str = "comfyui", **kwargs) -> ComfyServer:
        fake = ComfyServer(tmp_path / name, **kwargs)
        fake.start()
        servers.append(fake)
        return fake

    yield make
    for fake in servers:
        fake.stop()


# --- 1. flaky HTTP ---------------------------------------------------------------------------


@pytest.mark.parametrize("statuses", [(502, 503), (500, 502, 503)])
def test_flaky_http_every_job_done_after_retries(ctx, home, tmp_path, server, statuses, caplog):
    caplog.set_level(logging.INFO, logger="executors.backends.comfyui")
    fake = server()
    configure(home, attempts=15)
    engine = make_engine(ctx, home, fake)
    jobs = engine.queue(add_prompts(ctx, 10))
    runner, stop = start(engine, [j.id for j in jobs])
    assert wait_for(lambda: fake.state.number > 0, 10), describe(engine)  # past the first refresh
    fake.flaky_http(0.2, statuses, seed=7)
    finish(engine, runner, stop)
    fake.clear_faults()
    by_job = check_outcome(ctx, home, tmp_path, jobs, servers=[fake])
    finished = [ctx.jobs.get(j.id) for j in jobs]
    assert [j.status.value for j in finished] == ["done"] * 10, describe(engine)
    assert all(len(takes) == 1 for takes in by_job.values())
    retried = [r.message for r in caplog.records if "— retrying (" in r.message]
    assert retried  # the faults fired; requests were retried in place (or jobs again)


# --- 2. WebSocket dropped again and again ----------------------------------------------------


def test_websocket_dropped_repeatedly_jobs_finish_by_polling(ctx, home, tmp_path, server):
    fake = server(step_delay=0.01)
    engine = make_engine(ctx, home, fake)
    jobs = engine.queue(add_prompts(ctx, 6))
    done = threading.Event()

    def saboteur():
        while not done.wait(0.15):
            try:
                fake.drop_websocket_on("progress")
                fake.drop_websockets()
            except RuntimeError:
                return

    thread = threading.Thread(target=saboteur, daemon=True)
    thread.start()
    try:
        run(engine, [j.id for j in jobs])
    finally:
        done.set()
        thread.join(5)
    check_outcome(ctx, home, tmp_path, jobs, servers=[fake])
    assert all(ctx.jobs.get(j.id).status.value == "done" for j in jobs), describe(engine)


# --- 3. the server killed mid-batch ----------------------------------------------------------


def test_server_killed_mid_batch_lost_prompts_are_resubmitted(ctx, home, tmp_path, server):
    fake = server(step_delay=0.02)
    engine = make_engine(ctx, home, fake)
    jobs = engine.queue(add_prompts(ctx, 6))
    runner, stop = start(engine, [j.id for j in jobs])
    assert wait_for(lambda: fake.state.executor.queue.running, 15), describe(engine)
    port = fake.port
    fake.kill()
    time.sleep(0.4)
    fake.start(port)
    finish(engine, runner, stop)
    check_outcome(ctx, home, tmp_path, jobs, servers=[fake])
    assert all(ctx.jobs.get(j.id).status.value == "done" for j in jobs), describe(engine)


def test_server_down_when_the_worker_starts_jobs_run_once_it_is_back(ctx, home, tmp_path, server):
    fake = server()
    engine = make_engine(ctx, home, fake)
    jobs = engine.queue(add_prompts(ctx, 2))
    port = fake.port
    fake.kill()
    runner, stop = start(engine, [j.id for j in jobs])
    time.sleep(1.0)
    fake.start(port)
    finish(engine, runner, stop, limit=30)
    check_outcome(ctx, home, tmp_path, jobs, servers=[fake])
    assert all(ctx.jobs.get(j.id).status.value == "done" for j in jobs), describe(engine)


def test_prompt_vanishing_twice_parks_the_job_as_suspect(ctx, home, tmp_path, server):
    fake = server(step_delay=0.1)
    engine = make_engine(ctx, home, fake)
    (job,) = engine.queue(add_prompts(ctx, 1))
    runner, stop = start(engine, [job.id])
    for _ in range(2):
        assert wait_for(lambda: fake.state.executor.queue.running, 15), describe(engine)
        fake.restart()
    finish(engine, runner, stop)
    job = ctx.jobs.get(job.id)
    assert job.status.value == "suspect", describe(engine)
    assert "vanished" in job.error and "2 times" in job.error
    assert ctx.artifacts.for_prompt(job.prompt_id) == []


# --- 4. a hostile server's file names --------------------------------------------------------


def test_hostile_output_names_land_only_under_artifacts(ctx, home, tmp_path, server):
    fake = server()
    hostile = [
        ("../../../../../../x.png", ""),
        (str(tmp_path / "absolute.png"), ""),
        ("y.png", "../../../../../.."),
        ("z.png", str(tmp_path)),
        ("..", "../.."),
    ]
    jobs = []
    for name in hostile:
        fake.hostile_outputs(name)
        engine = make_engine(ctx, home, fake)
        batch = engine.queue(add_prompts(ctx, 1))
        run(engine, [j.id for j in batch])
        jobs += batch
    fake.clear_faults()
    check_outcome(ctx, home, tmp_path, jobs, servers=[fake])
    assert all(ctx.jobs.get(j.id).status.value == "done" for j in jobs), describe(engine)
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "absolute.png").exists()


def test_engine_runs_again_after_run_until_done(ctx, home, tmp_path, server):
    """The worker loop (and the window) call run_until_done again on the same engine."""
    fake = server()
    engine = make_engine(ctx, home, fake)
    jobs = []
    for _ in range(2):
        batch = engine.queue(add_prompts(ctx, 1))
        run(engine, [j.id for j in batch], limit=8)
        jobs += batch
    check_outcome(ctx, home, tmp_path, jobs, servers=[fake])
    assert all(ctx.jobs.get(j.id).status.value == "done" for j in jobs), describe(engine)


# --- 5. history that vanishes ----------------------------------------------------------------


def test_history_vanishing_after_success_is_harvested_once(ctx, home, tmp_path, server):
    fake = server()
    engine = make_engine(ctx, home, fake)
    jobs = engine.queue(add_prompts(ctx, 1))
    fake.vanish_history(1)
    run(engine, [j.id for j in jobs])
    check_outcome(ctx, home, tmp_path, jobs, servers=[fake])
    assert ctx.jobs.get(jobs[0].id).status.value == "done", describe(engine)


def test_history_vanishing_while_polling_resubmits_once(ctx, home, tmp_path, server):
    fake = server()
    fake.refuse_websockets(502)
    engine = make_engine(ctx, home, fake)
    jobs = engine.queue(add_prompts(ctx, 1))
    fake.vanish_history(1)
    run(engine, [j.id for j in jobs])
    check_outcome(ctx, home, tmp_path, jobs, servers=[fake])
    assert ctx.jobs.get(jobs[0].id).status.value == "done", describe(engine)


# --- 6. out of GPU memory --------------------------------------------------------------------


def test_out_of_memory_retries_once_a_tier_lower(ctx, home, tmp_path, server):
    fake = server()
    fake.fail_node(
        "KSampler", exception_type="torch.OutOfMemoryError", message="out of memory", times=1
    )
    engine = make_engine(ctx, home, fake)
    (job,) = engine.queue(add_prompts(ctx, 1), quality="high")
    run(engine, [job.id])
    (take,) = check_outcome(ctx, home, tmp_path, [job], servers=[fake])[job.id]
    job = ctx.jobs.get(job.id)
    assert job.status.value == "done", describe(engine)
    assert take.metadata["tier"] == "standard"
    assert "high" in job.note and "standard" in job.note and "memory" in job.note


def test_out_of_memory_at_the_lowest_tier_fails_and_the_batch_goes_on(ctx, home, tmp_path, server):
    fake = server(profile="current")  # the song template needs ACE-Step 1.5
    fake.fail_node("VAEDecodeAudio", exception_type="torch.OutOfMemoryError", message="oom")
    engine = make_engine(ctx, home, fake)
    (song,) = engine.queue(add_prompts(ctx, 1, SONG, "audio"), quality="low")
    images = engine.queue(add_prompts(ctx, 3))
    run(engine, [song.id, *(j.id for j in images)])
    check_outcome(ctx, home, tmp_path, [song, *images], servers=[fake])
    song = ctx.jobs.get(song.id)
    assert song.status.value == "failed" and song.error_kind == "out_of_memory"
    assert "not enough GPU memory" in song.error
    assert all(ctx.jobs.get(j.id).status.value == "done" for j in images), describe(engine)


# --- 7. VRAM admission -----------------------------------------------------------------------


def test_too_small_gpu_fails_with_the_too_big_message(ctx, home, tmp_path, server):
    fake = server(vram_total=4 * GB, vram_free=4 * GB)
    engine = make_engine(ctx, home, fake)
    (job,) = engine.queue(add_prompts(ctx, 1))
    run(engine, [job.id])
    check_outcome(ctx, home, tmp_path, [job], servers=[fake])
    job = ctx.jobs.get(job.id)
    assert job.status.value == "failed" and job.error_kind == "out_of_memory"
    assert "needs 8 GB" in job.error and "largest GPU in the pool has 4 GB" in job.error
    assert fake.state.number == 0  # nothing was submitted


def test_too_small_gpu_for_the_tier_drops_a_tier(ctx, home, tmp_path, server):
    fake = server(vram_total=16 * GB, vram_free=16 * GB)
    engine = make_engine(ctx, home, fake)
    (job,) = engine.queue(add_prompts(ctx, 1), function="create_image_flux", quality="standard")
    run(engine, [job.id])
    (take,) = check_outcome(ctx, home, tmp_path, [job], servers=[fake])[job.id]
    assert ctx.jobs.get(job.id).status.value == "done", describe(engine)
    assert take.metadata["tier"] == "low"


def test_job_lands_on_the_server_it_fits(ctx, home, tmp_path, server):
    small = server("small", vram_total=4 * GB, vram_free=4 * GB)
    big = server("big", vram_total=24 * GB, vram_free=24 * GB)
    engine = make_engine(ctx, home, small, big)
    jobs = engine.queue(add_prompts(ctx, 3))
    run(engine, [j.id for j in jobs])
    by_job = check_outcome(ctx, home, tmp_path, jobs, servers=[small, big])
    assert all(t.metadata["server"]["url"] == big.url for ts in by_job.values() for t in ts)
    assert small.state.number == 0


# --- 8. cancel and pause ---------------------------------------------------------------------


def test_cancel_a_queued_job_from_the_cli(ctx, cli, home, tmp_path, server):
    fake = server()
    engine = make_engine(ctx, home, fake)
    (job,) = engine.queue(add_prompts(ctx, 1))
    code, _, err = cli("jobs", "cancel", str(job.id))
    assert code == 0 and "cancelled" in err
    run(make_engine(ctx, home, fake), None, limit=10)
    job = ctx.jobs.get(job.id)
    assert job.status.value == "cancelled" and job.attempts == 0
    assert fake.state.number == 0 and files_under(home / "artifacts") == set()


def test_cancel_a_running_job_interrupts_the_server(ctx, home, tmp_path, server):
    fake = server(step_delay=0.2)
    engine = make_engine(ctx, home, fake)
    (job,) = engine.queue(add_prompts(ctx, 1))
    runner, stop = start(engine, [job.id])
    assert wait_for(lambda: fake.state.executor.queue.running, 15), describe(engine)
    engine.cancel(job.id)
    finish(engine, runner, stop)
    assert ctx.jobs.get(job.id).status.value == "cancelled", describe(engine)
    assert wait_for(lambda: not fake.state.executor.queue.running, 10), "still running"
    assert files_under(home / "artifacts") == set()


def test_paused_queue_starts_nothing_until_resumed(ctx, cli, home, tmp_path, server):
    fake = server()
    engine = make_engine(ctx, home, fake)
    jobs = engine.queue(add_prompts(ctx, 2))
    assert cli("queue", "pause")[0] == 0
    runner, stop = start(engine, [j.id for j in jobs])
    time.sleep(1.0)
    assert all(ctx.jobs.get(j.id).status.value == "queued" for j in jobs)
    assert fake.state.number == 0
    assert cli("queue", "resume")[0] == 0
    finish(engine, runner, stop)
    check_outcome(ctx, home, tmp_path, jobs, servers=[fake])
    assert all(ctx.jobs.get(j.id).status.value == "done" for j in jobs), describe(engine)


# --- 9. the watchdog -------------------------------------------------------------------------


def test_stalled_prompt_fails_and_is_interrupted(ctx, home, tmp_path, server):
    source = Path(__file__).resolve().parents[2] / "workflows" / "create_image" / "standard"
    target = home / "workflows" / "create_image_quick" / "standard"
    shutil.copytree(source, target)
    template = json.loads((target / "template.json").read_text())
    template.update(function="create_image_quick", timeout_s=1)
    (target / "template.json").write_text(json.dumps(template))
    fake = server(step_delay=3.0)
    engine = make_engine(ctx, home, fake)
    (job,) = engine.queue(add_prompts(ctx, 1), function="create_image_quick")
    run(engine, [job.id])
    job = ctx.jobs.get(job.id)
    assert job.status.value == "failed" and "no progress for" in job.error, describe(engine)
    assert wait_for(lambda: not fake.state.executor.queue.running, 10), "not interrupted"
    history = requests.get(f"{fake.url}/history", timeout=5).json()
    statuses = [e["status"]["messages"][-1][0] for e in history.values()]
    assert statuses == ["execution_interrupted"]
    check_outcome(ctx, home, tmp_path, [job], servers=[fake])
