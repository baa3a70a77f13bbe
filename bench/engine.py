"""The job engine under load, against fake ComfyUI servers run as separate processes.

1. throughput: 200 image jobs (bundled create_image standard) over 2 servers with
   `--step-delay 0.01` (25 steps: ~0.25 s of server time a job) — wall time, jobs/s, jobs per
   server (job.backend), and nothing lost: every job done, one artifact each, no path twice;
2. concurrent submission: 8 threads add prompts and queue 100 jobs while the engine runs —
   errors ("database is locked" or any), time to enqueue, all 100 done;
3. overhead: the same N jobs through Engine.run_until_done and through a plain loop of
   executor.prepare + executor.execute on one ComfyClient, against one instant server.

Run: .venv/bin/python bench/engine.py [--jobs 200] [--overhead-jobs 60]. Results: RESULTS.md.
"""

from __future__ import annotations

import argparse
import collections
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.servers import start_server, stop_servers  # noqa: E402
from core.config import load_config  # noqa: E402
from core.jobs import JobFinished, JobRetrying, JobWaiting  # noqa: E402
from core.models import JobStatus  # noqa: E402
from executors.comfy_executor import new_remote_id  # noqa: E402
from main import build_engine, comfy_client  # noqa: E402
from repositories.artifacts import ArtifactRepository  # noqa: E402
from repositories.database import Database  # noqa: E402
from repositories.jobs import JobRepository  # noqa: E402
from repositories.prompts import PromptRepository  # noqa: E402

PROMPT = {"prompt": "a lighthouse at dusk, volumetric fog", "aspect_ratio": "1:1"}
PROBLEMS: list[str] = []  # what the sanity checks found wrong


class Counter(logging.Handler):
    """Counts warnings and errors the engine logs (a failed dispatch round, a bad lease)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


LOGGED = Counter()


def check(ok: bool, problem: str) -> None:
    if not ok:
        PROBLEMS.append(problem)
        print(f"  PROBLEM: {problem}")


class Home:
    """A fresh data home, its library and an engine over `urls`."""

    def __init__(self, urls: list[str]):
        self.path = Path(tempfile.mkdtemp(prefix="takeboard-engine-"))
        self.config = load_config(self.path, env={"TAKEBOARD_COMFYUI_URL": ",".join(urls)})
        self.database = Database(self.config.database_path)
        self.prompts = PromptRepository(self.database)
        self.jobs = JobRepository(self.database)
        self.artifacts = ArtifactRepository(self.database)
        self.events: list = []  # list.append is atomic: safe from worker threads
        self.new_engine()

    def new_engine(self) -> None:
        """A fresh engine (a stopped one cannot start again) on the same library."""
        self.events.clear()
        self.engine = build_engine(
            self.config, self.prompts, self.jobs, self.artifacts, self.events.append
        )

    def add_prompts(self, count: int) -> list[int]:
        return [self.prompts.add("image", f"bench {n}", PROMPT).id for n in range(count)]

    def verify(self, job_ids: list[int]) -> collections.Counter:
        """Every job done, exactly one artifact each, no path twice, every file on disk;
        returns jobs per server."""
        jobs = [self.jobs.get(job_id) for job_id in job_ids]
        statuses = collections.Counter(job.status.value for job in jobs)
        check(statuses == {"done": len(jobs)}, f"job statuses {dict(statuses)}")
        for job in jobs:
            if job.status is not JobStatus.DONE:
                print(f"  job {job.id}: {job.status.value} {job.error_kind} {job.error!r}")
        artifacts = [a for a in self._all_artifacts() if a.job_id in set(job_ids)]
        per_job = collections.Counter(a.job_id for a in artifacts)
        wrong = {j: per_job.get(j, 0) for j in job_ids if per_job.get(j, 0) != 1}
        check(
            not wrong,
            f"{len(wrong)} jobs without exactly one artifact: {dict(list(wrong.items())[:10])}",
        )
        paths = collections.Counter(a.path for a in artifacts)
        check(all(n == 1 for n in paths.values()), "an artifact path recorded twice")
        missing = [a.path for a in artifacts if not (self.path / a.path).exists()]
        check(not missing, f"{len(missing)} artifact files missing, e.g. {missing[:3]}")
        attempts = collections.Counter(job.attempts for job in jobs)
        check(set(attempts) == {1}, f"attempts per job {dict(attempts)} (a retry happened)")
        odd = [e for e in self.events if isinstance(e, (JobRetrying, JobWaiting))]
        check(not odd, f"{len(odd)} retry/waiting events, e.g. {odd[:2]}")
        finished = collections.Counter(
            e.job_id for e in self.events if isinstance(e, JobFinished) and e.job_id in set(job_ids)
        )
        check(
            all(finished.get(j) == 1 for j in job_ids),
            "not exactly one JobFinished event per job",
        )
        print(f"  artifacts {len(artifacts)} for {len(jobs)} jobs, {len(paths)} distinct paths")
        return collections.Counter(job.backend for job in jobs)

    def plain_loop(self, prompt_id: int, count: int) -> tuple[list[float], float]:
        """Per-job times and wall time of prepare + execute on one client of the first server:
        no dispatcher, no pool, no job-row updates (the rows only give prepare its job; no
        engine runs, so they stay queued). Three warm-up jobs first (object_info, checks)."""
        executor = self.engine.executor
        client = comfy_client(self.config, self.config.comfyui_servers[0])
        prompt, cancel = self.prompts.get(prompt_id), threading.Event()
        times, start = [], 0.0
        for n, job in enumerate(self.engine.queue([prompt_id] * (count + 3))):
            if n == 3:
                start = time.perf_counter()
            begin = time.perf_counter()
            submission = executor.prepare(job, prompt, client, new_remote_id(job.id))
            executor.execute(job, prompt, client, submission, lambda event: None, cancel)
            times.append(time.perf_counter() - begin)
        executor.drain()
        return times[3:], time.perf_counter() - start

    def _all_artifacts(self) -> list:
        found, after = [], 0
        while page := self.artifacts.page(limit=1000, after_id=after):
            found += page
            after = page[-1].id
        return found

    def close(self) -> None:
        self.database.close()


def throughput(urls: list[str], count: int) -> None:
    print(f"\n1. throughput: {count} jobs over {len(urls)} servers (--step-delay 0.01)")
    home = Home(urls)
    jobs = home.engine.queue(home.add_prompts(count))
    ids = [job.id for job in jobs]
    start = time.perf_counter()
    home.engine.run_until_done(ids)
    wall = time.perf_counter() - start
    print(f"  wall {wall:.2f} s   {count / wall:.1f} jobs/s   {wall / count * 1000:.0f} ms a job")
    per_server = home.verify(ids)
    print(f"  jobs per server: {dict(per_server)}")
    check(len(per_server) == len(urls), f"only {len(per_server)} of {len(urls)} servers ran jobs")
    home.close()
    floor = Home(urls[:1])  # after the engine run, so it does not steal a server from it
    times, _ = floor.plain_loop(floor.add_prompts(1)[0], 8)
    busy = statistics.median(times) * max(per_server.values())
    print(
        f"  one job alone on one server (plain loop p50) {statistics.median(times) * 1000:.0f} ms"
        f" -> the busiest server's {max(per_server.values())} jobs back to back: {busy:.1f} s"
    )
    floor.close()


def concurrent_submission(urls: list[str], count: int, threads: int) -> None:
    print(f"\n2. {count} submissions from {threads} threads while the engine runs")
    home = Home(urls)
    home.engine.start()
    ids: list[int] = []
    errors: list[str] = []
    latencies: list[float] = []
    shares = [count // threads + (n < count % threads) for n in range(threads)]

    def submit(share: int) -> None:
        try:
            for n in range(share):
                begin = time.perf_counter()
                try:
                    prompt = home.prompts.add("image", f"thread {n}", PROMPT)
                    (job,) = home.engine.queue([prompt.id])
                    ids.append(job.id)
                except Exception as exc:  # noqa: BLE001 — counted, not raised
                    errors.append(repr(exc))
                latencies.append(time.perf_counter() - begin)
        finally:
            home.database.close()  # this thread's connection

    workers = [threading.Thread(target=submit, args=(share,)) for share in shares]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    enqueued = time.perf_counter() - start
    deadline = time.monotonic() + 120
    while not home.engine.idle(ids) and time.monotonic() < deadline:
        time.sleep(0.05)
    done = time.perf_counter() - start
    home.engine.stop()
    locked = sum("locked" in e for e in errors)
    ms = sorted(t * 1000 for t in latencies)
    print(
        f"  enqueued {len(ids)} in {enqueued * 1000:.0f} ms; one add+queue p50 "
        f"{statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms"
    )
    print(
        f"  errors {len(errors)} ('database is locked': {locked}); all finished after {done:.2f} s"
    )
    check(not errors, f"submission errors: {errors[:3]}")
    check(len(ids) == count, f"{len(ids)} of {count} jobs queued")
    print(f"  jobs per server: {dict(home.verify(ids))}")
    home.close()


def overhead(url: str, count: int) -> None:
    print(f"\n3. overhead: {count} jobs on one instant server (--step-delay 0)")
    home = Home([url])
    (prompt_id,) = home.add_prompts(1)

    # The engine: queue, dispatch, pool lease, job rows, worker threads.
    warm = home.engine.queue([prompt_id] * 3)
    home.engine.run_until_done([job.id for job in warm])
    home.new_engine()
    ids = [job.id for job in home.engine.queue([prompt_id] * count)]
    start = time.perf_counter()
    home.engine.run_until_done(ids)
    engine_wall = time.perf_counter() - start
    home.verify(ids)
    jobs = [home.jobs.get(job_id) for job_id in ids]
    in_job = [job.finished_at - job.started_at for job in jobs]
    starts = sorted(job.started_at for job in jobs)
    rounds = [b for a, b in zip(starts, starts[1:], strict=False) if b - a > 0.02]
    spacing = [b - a for a, b in zip(rounds, rounds[1:], strict=False)]

    loop_times, loop_wall = home.plain_loop(prompt_id, count)

    def row(label: str, times: list[float], wall: float) -> None:
        ms = [t * 1000 for t in times]
        print(
            f"  {label:<44} p50 {statistics.median(ms):6.1f} ms  mean {statistics.mean(ms):6.1f} ms"
            f"   wall/job {wall / count * 1000:6.1f} ms"
        )

    row("plain loop: one prepare+execute", loop_times, loop_wall)
    row("engine: one job, started -> finished", in_job, engine_wall)
    print(
        f"  engine launched the {count} jobs in {len(rounds) + 1} dispatch rounds, "
        f"median {statistics.median(spacing) * 1000:.0f} ms apart"
    )
    print(f"  engine wall / plain loop wall: {engine_wall / loop_wall:.2f}x")
    home.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--overhead-jobs", type=int, default=60)
    args = parser.parse_args()
    logging.getLogger().addHandler(LOGGED)
    servers = [start_server(0.01), start_server(0.01), start_server(0.0)]
    urls = [url for _, url in servers]
    started = time.perf_counter()
    try:
        throughput(urls[:2], args.jobs)
        concurrent_submission(urls[:2], args.submissions, args.threads)
        overhead(urls[2], args.overhead_jobs)
    finally:
        stop_servers([server for server, _ in servers])
    print(f"\nengine log warnings/errors: {len(LOGGED.messages)}")
    for message in LOGGED.messages[:10]:
        print(f"  {message}")
    check(not LOGGED.messages, "the engine logged warnings or errors")
    print(f"total {time.perf_counter() - started:.0f} s; problems: {len(PROBLEMS)}")
    sys.exit(1 if PROBLEMS else 0)


if __name__ == "__main__":
    main()
