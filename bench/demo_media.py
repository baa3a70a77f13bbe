"""How long the demo backend takes to draw its placeholder media (executors/demo_server/
demo_media.py, used by `main.py --demo`): a picture at SDXL's 1024×1024, a 10 s song in each
format the savers write, a 2 s clip as MP4 and WebM. Prints the median of 5 runs of each.

    .venv/bin/python bench/demo_media.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from executors.demo_server import demo_media  # noqa: E402

RUNS = 5
CUE = demo_media.Cue("a red fox in snow under the northern lights", 42, 100, 10.0, 16.0)


def median_ms(make) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        make()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        rows = [("picture 1024×1024 (draw + PNG)", lambda: demo_media.write_png(
            out / "a.png", CUE, (1024, 1024), None))]  # fmt: skip
        for kind in ("mp3", "flac", "opus"):
            path = out / f"song.{kind}"
            rows.append(
                (f"song 10 s {kind}", lambda p=path, k=kind: demo_media.write_song(p, CUE, k))
            )
        for kind in ("mp4", "webm"):
            path = out / f"clip.{kind}"
            rows.append((
                f"clip 832×480 asked (640×368 drawn), 32 frames, {kind}",
                lambda p=path, k=kind: demo_media.write_video(p, CUE, (832, 480), 81, k),
            ))  # fmt: skip
        for name, make in rows:
            print(f"{name:40} {median_ms(make):8.0f} ms")


if __name__ == "__main__":
    main()
