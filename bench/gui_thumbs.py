"""First paint of the window with 100,000 prompts and the prompt list's thumbnail column.

The library: bench/library.py's fill (100,000 prompts, 300,000 takes), then every prompt's
newest take circled and rated 1-5, with a real JPEG preview (a distinct file for each of the
newest VISIBLE_FILES prompts — the rows a first paint can show — one shared file for the rest).
Cached under /tmp.

1. first paint: `main.py --home H`, time from spawning the process to the window mapped and its
   first redraw done (the list's first page with its circled-take column), and when every shown
   row's picture is in (decoded on a worker). Aim: < 1 s. Median of 5 runs, interleaved with 5
   of the baseline: the same window without the column.
2. the reads behind it: a page of 100 with the circled take's preview, and the filters circled /
   rated >= 4 (median of 15).

Run: xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python bench/gui_thumbs.py
Results: RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from bench.library import fill, timed  # noqa: E402
from core.models import PromptQuery  # noqa: E402
from repositories.artifacts import ArtifactRepository  # noqa: E402
from repositories.database import Database  # noqa: E402
from repositories.prompts import PromptRepository  # noqa: E402

LIBRARY = Path("/tmp/takeboard-gui-thumbs-100k")
VISIBLE_FILES = 500

# Run in the child: main.py's window, timed from TAKEBOARD_BENCH_T0 (parent clock).
FIRST_PAINT = """
import os, sys, time
import app.application as application
import main

if os.environ.get("TAKEBOARD_BENCH_NO_THUMBS"):  # the baseline: the list without the column
    plain = application.PromptList
    application.PromptList = lambda *args, home=None, **kw: plain(*args, **kw)

class Timed(application.Application):
    def __init__(self, root, ctx, **kw):
        super().__init__(root, ctx, **kw)
        self._timed = False
        if root.winfo_ismapped():  # an update() in __init__ mapped it already
            self._start()
        else:
            root.bind("<Map>", self._mapped, add="+")

    def _mapped(self, event):
        if event.widget is self.root and not self._timed:
            self._start()

    def _start(self):
        self._timed = True
        self.root.update_idletasks()
        self.root.after_idle(self._painted)

    def _painted(self):
        self.root.update_idletasks()
        self.t0 = float(os.environ["TAKEBOARD_BENCH_T0"])
        cpu = time.process_time()  # the process's CPU time, all threads: load hardly moves it
        print(f"first-paint {time.time() - self.t0:.4f} {cpu:.4f}", flush=True)
        self._wait_for_pictures()

    def _wait_for_pictures(self):
        shown = [r for s, r in self.prompts._shown.items() if s not in self.prompts._detached]
        thumbs = self.prompts.thumbs
        if thumbs is None or all(r.circled_preview in thumbs.photos for r in shown):
            print(f"pictures-in {time.time() - self.t0:.4f} rows {len(shown)}", flush=True)
            os._exit(0)  # quitting would wait for the preview sweep of 200,000 missing files
        else:
            self.root.after(5, self._wait_for_pictures)

application.Application = Timed
sys.exit(main.main(sys.argv[1:]))
"""


def library(count: int) -> Path:
    """The 100k library with every prompt's newest take circled, rated and previewed."""
    LIBRARY.mkdir(parents=True, exist_ok=True)
    database = Database(LIBRARY / "takeboard.db")
    prompts, artifacts = PromptRepository(database), ArtifactRepository(database)
    if prompts.count() < count:
        fill(prompts, artifacts, count)
    if prompts.count(PromptQuery(circled=True)) < count:
        _choose_all(database, count)
    database.close()
    return LIBRARY


def _choose_all(database: Database, count: int) -> None:
    previews = LIBRARY / "thumbnails"
    previews.mkdir(exist_ok=True)
    for n in range(VISIBLE_FILES + 1):
        colour = (n * 37 % 256, n * 91 % 256, n * 53 % 256)
        Image.new("RGB", (256, 256), colour).save(previews / f"p{n}.jpg", quality=85)
    start = time.perf_counter()
    with database.write():
        database.peewee.execute_sql(
            "UPDATE artifact SET circled = 1, rating = 1 + prompt_id % 5, preview_path = "
            "CASE WHEN prompt_id > ? THEN 'thumbnails/p' || (? - prompt_id) || '.jpg' "
            "ELSE 'thumbnails/p' || ? || '.jpg' END "
            "WHERE id IN (SELECT max(id) FROM artifact GROUP BY prompt_id)",
            (count - VISIBLE_FILES, count, VISIBLE_FILES),
        )
    print(f"circled and rated {count} takes in {time.perf_counter() - start:.1f} s")


def first_paint(home: Path, runs: int) -> None:
    """Runs with the thumbnail column and without it (the baseline), interleaved."""
    results: dict[bool, list[tuple[float, float, float, str]]] = {True: [], False: []}
    for thumbs in [False, True] * runs:
        results[thumbs].append(_spawn(home, thumbs))
    for thumbs, label in ((True, "with the thumbnail column"), (False, "baseline, no column")):
        paints, cpus, pictures, rows = zip(*results[thumbs], strict=True)
        print(
            f"1. first paint {label}: median {statistics.median(paints):.0f} ms (runs "
            f"{', '.join(f'{t:.0f}' for t in paints)} ms), process CPU by then median "
            f"{statistics.median(cpus):.0f} ms; all {rows[0]} shown rows' pictures in at "
            f"median {statistics.median(pictures):.0f} ms"
        )


def _spawn(home: Path, thumbs: bool) -> tuple[float, float, float, str]:
    """(first paint ms, CPU ms by then, every shown row's picture in ms, shown rows) of one
    window start."""
    env = {k: v for k, v in os.environ.items() if k != "TAKEBOARD_COMFYUI_URL"}
    if not thumbs:
        env["TAKEBOARD_BENCH_NO_THUMBS"] = "1"
    env["TAKEBOARD_BENCH_T0"] = repr(time.time())
    out = subprocess.run(
        [sys.executable, "-c", FIRST_PAINT, "--home", str(home)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    found = {line.split()[0]: line.split() for line in out.stdout.splitlines()}
    if "first-paint" not in found or "pictures-in" not in found:
        raise SystemExit(f"no first paint: {out.stdout}{out.stderr}")
    paint, cpu = (float(value) * 1000 for value in found["first-paint"][1:3])
    pictures = float(found["pictures-in"][1]) * 1000
    return paint, cpu, pictures, found["pictures-in"][3]


def reads(home: Path) -> None:
    database = Database(home / "takeboard.db")
    prompts = PromptRepository(database)
    print("2. reads")
    timed("page of 100 with the circled take's preview", lambda: prompts.page(limit=100))
    for label, query in (
        ("circled filter: count", PromptQuery(circled=True)),
        ("rated >= 4 filter: count", PromptQuery(min_rating=4)),
    ):
        timed(label, lambda q=query: prompts.count(q))
        timed(label.replace("count", "page of 100"), lambda q=query: prompts.page(q, limit=100))
    database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = library(args.prompts)
    first_paint(home, args.runs)
    reads(home)


if __name__ == "__main__":
    main()
