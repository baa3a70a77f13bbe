"""The job claim and its lease under contention: 4 processes × 4 lanes on one library.

Run: .venv/bin/python -m bench.claims [--processes 4] [--lanes 4] [--jobs 4000]
Each lane does what the engine does for one job, as fast as it can: read the eligible jobs,
claim the first (one conditional UPDATE in a BEGIN IMMEDIATE transaction), renew its lease
once, write its end. Prints claims/s over all processes, the claims lost to another lane (the
job was taken between the read and the claim), the time per claim and how many jobs were
claimed more than once (must be 0). Results: RESULTS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import threading
import time
from pathlib import Path

from core.jobs import JobSpec, Owner
from core.models import JobStatus
from repositories.database import Database
from repositories.jobs import JobRepository
from repositories.prompts import PromptRepository

LEASE_S = 30.0


def fill(path: Path, count: int) -> None:
    database = Database(path)
    prompt = PromptRepository(database).add("image", "bench", {"prompt": "a lighthouse"})
    jobs = JobRepository(database)
    for _ in range(count):
        jobs.add(prompt_id=prompt.id, spec=JobSpec("create_image", "standard"))
    database.close()


def lane(jobs: JobRepository, owner: str, results: list[tuple[float, bool]]) -> None:
    """Claim, renew and end jobs until none is left; (seconds per claim, won) per try."""
    while True:
        eligible = jobs.eligible(time.time(), limit=8)
        if not eligible:
            break
        job = eligible[0]
        started = time.perf_counter()
        claimed = jobs.claim(job.id, owner, time.time() + LEASE_S, backend="bench")
        results.append((time.perf_counter() - started, claimed is not None))
        if claimed is not None:
            jobs.renew(owner, [job.id], time.time() + LEASE_S)
            jobs.update(job.id, status=JobStatus.DONE)
    jobs.db.close()


def process(path: str, lanes: int, start: multiprocessing.Event, out: multiprocessing.Queue):
    database = Database(Path(path))
    jobs, owner = JobRepository(database), str(Owner.new())
    results: list[tuple[float, bool]] = []
    threads = [threading.Thread(target=lane, args=(jobs, owner, results)) for _ in range(lanes)]
    start.wait()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--lanes", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=4000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "takeboard.db"
        fill(path, args.jobs)
        context = multiprocessing.get_context("spawn")
        start, out = context.Event(), context.Queue()
        workers = [
            context.Process(target=process, args=(str(path), args.lanes, start, out))
            for _ in range(args.processes)
        ]
        for worker in workers:
            worker.start()
        time.sleep(2.0)  # every process has opened the library
        began = time.perf_counter()
        start.set()
        results = [item for _ in workers for item in out.get()]
        elapsed = time.perf_counter() - began
        for worker in workers:
            worker.join()
        report(path, results, elapsed, args)


def report(path: Path, results: list, elapsed: float, args: argparse.Namespace) -> None:
    database = Database(path)
    done = JobRepository(database).list(status=JobStatus.DONE, limit=args.jobs + 1)
    twice = sum(1 for job in done if job.attempts != 1)
    won = [seconds for seconds, ok in results if ok]
    lost = len(results) - len(won)
    ms = sorted(seconds * 1000 for seconds, _ in results)
    print(f"{args.processes} processes x {args.lanes} lanes, {args.jobs} jobs")
    print(f"claims: {len(won)} in {elapsed:.2f} s = {len(won) / elapsed:.0f} claims/s")
    print(f"  (each with its lease renewal and end write: {3 * len(won) / elapsed:.0f} writes/s)")
    print(f"lost races: {lost} ({lost / len(results):.1%} of tries)")
    print(f"claim latency: p50 {statistics.median(ms):.2f} ms, p99 {ms[int(len(ms) * 0.99)]:.1f}")
    print(f"jobs done: {len(done)} of {args.jobs}; claimed more than once: {twice}")


if __name__ == "__main__":
    main()
