"""Fill a library with 100,000 prompts and 300,000 artifacts, then time the reads the window does.

Run: .venv/bin/python bench/library.py [--prompts N] [--home DIR]
Prints insert rates and median (p50) / worst times over repeated queries. Results: RESULTS.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from core.models import MediaKind, PromptQuery, PromptStatus
from repositories.artifacts import ArtifactRepository
from repositories.database import Database
from repositories.prompts import PromptRepository

WORDS = """
neon city dragon forest ocean robot portrait castle desert storm galaxy violin
sunset mountain river winter cyberpunk watercolor cinematic ancient temple fox lighthouse jazz
ballad synth orchestra rain night garden tiger samurai
""".split()
RARE = "zanzibar"


LESS_COMMON = [
    f"{a}{b}"
    for a in (
        "bel",
        "cor",
        "dun",
        "fa",
        "gil",
        "har",
        "lum",
        "mor",
        "nix",
        "pel",
        "quor",
        "ras",
        "sil",
        "tov",
        "ul",
        "vey",
        "wen",
        "yar",
    )
    for b in (
        "a",
        "en",
        "ix",
        "o",
        "ur",
        "eth",
        "is",
        "an",
        "ome",
        "ry",
        "ux",
        "ia",
        "el",
        "ok",
        "ade",
        "ist",
        "orn",
        "ump",
        "ale",
        "ey",
    )
]


def fake_prompt(n: int, rng: random.Random) -> dict:
    """8 words from 30 common ones (each in ~24 % of prompts) + 12–50 from 360 less common."""
    words = " ".join(rng.choices(WORDS, k=8) + rng.choices(LESS_COMMON, k=rng.randint(12, 50)))
    if n % 997 == 0:
        words += f" {RARE}"
    kind = ("image", "audio", "video")[n % 3]
    data = (
        {"lyrics": f"[verse]\n{words}", "tags": rng.sample(WORDS, 3)}
        if kind == "audio"
        else {"prompt": words}
    )
    return {
        "kind": kind,
        "title": " ".join(rng.sample(WORDS, 3)),
        "data": data,
        "tags": rng.sample(WORDS, 2),
    }


def timed(label: str, call, repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    median = statistics.median(times)
    print(f"{label:<44} p50 {median:7.2f} ms   max {max(times):7.2f} ms")
    return median


def fill(prompts: PromptRepository, artifacts: ArtifactRepository, count: int) -> None:
    rng = random.Random(1)
    start = time.perf_counter()
    for first in range(0, count, 1000):
        prompts.add_many(fake_prompt(n, rng) for n in range(first, min(first + 1000, count)))
    seconds = time.perf_counter() - start
    print(
        f"insert {count} prompts (validated, FTS + tags)   {count / seconds:9.0f} /s  "
        f"({seconds:.1f} s)"
    )
    start = time.perf_counter()
    for first in range(1, count + 1, 1000):
        artifacts.add_many(
            [
                {
                    "prompt_id": pid,
                    "kind": "image",
                    "sha256": "0" * 64,
                    "size": 1,
                    "path": f"artifacts/image/{pid}_{take}.png",
                    "width": 1024,
                    "height": 1024,
                    "metadata": {"seed": take},
                }
                for pid in range(first, min(first + 1000, count + 1))
                for take in range(3)
            ]
        )
    seconds = time.perf_counter() - start
    print(
        f"insert {3 * count} artifacts                     {3 * count / seconds:9.0f} /s  "
        f"({seconds:.1f} s)"
    )


def queries(prompts: PromptRepository) -> None:
    timed("first page (100, newest first, take counts)", lambda: prompts.page(limit=100))
    last = prompts.page(limit=100, offset=50_000)[-1]
    timed(
        "keyset page deep in the list",
        lambda: prompts.page(limit=100, after=(last.updated_at, last.id)),
    )
    timed(
        "first page, kind=video", lambda: prompts.page(PromptQuery(kind=MediaKind.VIDEO), limit=100)
    )
    timed("first page, tag filter", lambda: prompts.page(PromptQuery(tag="fox"), limit=100))
    timed(f"FTS search rare word ({RARE})", lambda: prompts.page(PromptQuery(search=RARE)))
    timed("FTS search common word (dragon)", lambda: prompts.page(PromptQuery(search="dragon")))
    timed("FTS search two words (neon city)", lambda: prompts.page(PromptQuery(search="neon city")))
    timed("FTS count common word", lambda: prompts.count(PromptQuery(search="dragon")))
    timed("count by status", prompts.count_by_status)
    timed("count all", prompts.count)
    timed("count status=ready", lambda: prompts.count(PromptQuery(status=PromptStatus.READY)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--home", type=Path)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="takeboard-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    database = Database(home / "takeboard.db")
    prompts, artifacts = PromptRepository(database), ArtifactRepository(database)
    if prompts.count() == 0:
        fill(prompts, artifacts, args.prompts)
    print(
        f"library: {prompts.count()} prompts, {artifacts.count()} artifacts, "
        f"{(home / 'takeboard.db').stat().st_size / 1e6:.0f} MB at {home}"
    )
    queries(prompts)
    database.close()


if __name__ == "__main__":
    main()
