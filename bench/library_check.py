"""What checking the library costs: the open with and without PRAGMA quick_check, the full
integrity_check (`library check`), one backup (daily), the take-file scan of `recover` (daily)
and the search for unmade previews (every engine start), on a library
of 100,000 prompts and 300,000 artifacts (filled as bench/library.py does; reused when --home
already holds one).

Run: .venv/bin/python bench/library_check.py [--prompts N] [--home DIR]
Results: RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.library import fill
from executors.storage import ArtifactStore
from executors.takes import TakeRecorder
from repositories import library
from repositories.artifacts import ArtifactRepository
from repositories.database import Database
from repositories.prompts import PromptRepository


def timed(label: str, call, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    median = statistics.median(times)
    print(f"{label:<48} p50 {median:8.1f} ms   max {max(times):8.1f} ms")
    return median


def open_close(path: Path, check: bool) -> None:
    Database(path, check=check).close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--home", type=Path)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="takeboard-bench-check-"))
    home.mkdir(parents=True, exist_ok=True)
    path = home / "takeboard.db"
    database = Database(path)
    prompts, artifacts = PromptRepository(database), ArtifactRepository(database)
    if prompts.count() == 0:
        fill(prompts, artifacts, args.prompts)
    print(
        f"library: {prompts.count()} prompts, {artifacts.count()} artifacts, "
        f"{path.stat().st_size / 1e6:.0f} MB at {home}"
    )
    connection = database.peewee.connection()
    timed("PRAGMA quick_check (on open)", lambda: library.quick_check(connection))
    timed("PRAGMA integrity_check (library check)", lambda: library.integrity_check(connection), 3)
    timed("one backup (SQLite backup API)", lambda: _backup(connection, path), 3)
    takes = TakeRecorder(ArtifactStore(home), artifacts, home / "thumbnails")
    timed("take-file scan of recover (daily; 300k stats)", takes.scan, 3)
    unpreviewed = lambda: list(takes._all_files(without_preview=True))  # noqa: E731
    timed("records without a preview (every start)", unpreviewed, 3)
    database.close()
    timed("open + close, no check", lambda: open_close(path, check=False))
    timed("open + close with the check (what users get)", lambda: open_close(path, check=True))


def _backup(connection, path: Path) -> None:
    done = library.backup(connection, path, "bench")
    if done is not None:
        done.unlink()


if __name__ == "__main__":
    main()
