"""The window under load, its start-up with a big library, and the README screenshot.

1. stall: the real Application (in-process, Tk root) with 2 fake ComfyUI servers (subprocesses,
   `--step-delay`) runs 8 image jobs that stream progress and preview frames; a 10 ms after()
   heartbeat on the Tk thread records its lateness (actual - expected) until all 8 are done
   (tk-notes §4). Aim: p99 < 50 ms.
2. first paint: `main.py --home H` on a library of 100,000 prompts / 300,000 takes (filled once by
   bench/library.py's fill, cached under /tmp), time from spawning the process to the window
   being mapped and its first redraw done. Median of 3 runs. Aim: < 1 s.
3. screenshots: a small library with takes of each kind made on the demo server (the one
   `main.py --demo` runs), one job running with its live preview, in the light theme
   (app/assets/screenshot.png) and the dark one (app/assets/screenshot-dark.png).

Run: xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python bench/gui.py [--skip-screenshot]
Results: RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tkinter as tk
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.application import Application  # noqa: E402
from app.cli import Context  # noqa: E402
from bench.library import fill  # noqa: E402
from bench.servers import start_server, stop_servers  # noqa: E402
from core.config import load_config  # noqa: E402
from core.jobs import JobFinished  # noqa: E402
from main import DEMO_BANNER, build_context  # noqa: E402
from repositories.artifacts import ArtifactRepository  # noqa: E402
from repositories.database import Database  # noqa: E402
from repositories.prompts import PromptRepository  # noqa: E402

LIBRARY = Path("/tmp/takeboard-gui-bench-100k")
SCREENSHOTS = {
    "light": ROOT / "app" / "assets" / "screenshot.png",
    "dark": ROOT / "app" / "assets" / "screenshot-dark.png",
}
HEARTBEAT_MS = 10

# Run in the child for part 2: main.py's window, timed from TAKEBOARD_BENCH_T0 (parent clock).
FIRST_PAINT = """
import os, sys, time
import app.application as application
import main

class Timed(application.Application):
    def __init__(self, root, ctx, **kw):
        # Bound first: registering the drop target (tkdnd) maps the window during __init__.
        self.root, self._timed = root, False
        root.bind("<Map>", self._mapped, add="+")
        super().__init__(root, ctx, **kw)

    def _mapped(self, event):
        if event.widget is self.root and not self._timed:
            self._timed = True
            self.root.update_idletasks()  # the first redraw of every widget
            self.root.after_idle(self._painted)

    def _painted(self):
        self.root.update_idletasks()
        t0 = float(os.environ["TAKEBOARD_BENCH_T0"])
        print(f"first-paint {time.time() - t0:.4f}", flush=True)
        os._exit(0)  # measured; quitting would wait for the engine's start-up sweep of 300k takes

application.Application = Timed
sys.exit(main.main(sys.argv[1:]))
"""


def open_home(home: Path, urls: list[str]) -> tuple[Context, Database]:
    """The context main.py builds, with TAKEBOARD_COMFYUI_URL=url1,url2."""
    os.environ["TAKEBOARD_COMFYUI_URL"] = ",".join(urls)
    config = load_config(home)
    database = Database(config.database_path)
    ctx = build_context(config, database)
    return ctx, database


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- 1. main-thread stall -----------------------------------------------------------------------


def stall(jobs: int, step_delay: float) -> None:
    servers, urls = zip(*(start_server(step_delay) for _ in range(2)), strict=True)
    home = Path(tempfile.mkdtemp(prefix="takeboard-gui-stall-"))
    ctx, database = open_home(home, list(urls))
    ids = [
        ctx.prompts.add("image", f"stall {n}", {"prompt": f"a lighthouse at dusk, take {n}"}).id
        for n in range(jobs)
    ]
    root = tk.Tk(className="Takeboard")
    app = Application(root, ctx)
    counts = {"received": 0, "handled": 0, "finished": 0}
    take, handle = app.bridge._take, app.bridge.handle

    def counted_take():
        taken = take()
        counts["received"] += len(taken)
        return taken

    def counted_handle(event):
        counts["handled"] += 1
        counts["finished"] += isinstance(event, JobFinished)
        handle(event)

    app.bridge._take, app.bridge.handle = counted_take, counted_handle
    late: list[float] = []
    start = time.perf_counter()

    def beat(expected: float) -> None:
        now = time.perf_counter()
        late.append((now - expected) * 1000)
        if counts["finished"] >= jobs:
            app.quit()
            return
        if now - start > 120:
            print("  PROBLEM: jobs not done after 120 s")
            app.quit()
            return
        root.after(HEARTBEAT_MS, beat, now + HEARTBEAT_MS / 1000)

    def begin() -> None:
        nonlocal start
        app.generate(ids)
        start = time.perf_counter()
        root.after(HEARTBEAT_MS, beat, start + HEARTBEAT_MS / 1000)

    root.after(500, begin)  # the window is up and the engine started
    root.mainloop()
    wall = time.perf_counter() - start
    stop_servers(list(servers))
    done = sum(job.status.value == "done" for job in ctx.jobs.list(limit=1000))
    database.close()
    print(
        f"1. stall: {jobs} jobs ({done} done) on 2 servers, step delay {step_delay} s, "
        f"{wall:.1f} s; {len(late)} beats"
    )
    print(
        f"   heartbeat lateness p50 {percentile(late, 0.5):.1f} ms  p99 "
        f"{percentile(late, 0.99):.1f} ms  max {max(late):.1f} ms  "
        f"(> 16 ms: {sum(v > 16 for v in late)})"
    )
    print(f"   events received {counts['received']}, handled {counts['handled']}")


# --- 2. first paint with 100,000 prompts ----------------------------------------------------------


def library(count: int) -> Path:
    LIBRARY.mkdir(parents=True, exist_ok=True)
    database = Database(LIBRARY / "takeboard.db")
    prompts, artifacts = PromptRepository(database), ArtifactRepository(database)
    if prompts.count() < count:
        fill(prompts, artifacts, count)
    database.close()
    return LIBRARY


def first_paint(count: int, runs: int) -> None:
    home = library(count)
    env = {k: v for k, v in os.environ.items() if k != "TAKEBOARD_COMFYUI_URL"}
    times = []
    for _ in range(runs):
        env["TAKEBOARD_BENCH_T0"] = repr(time.time())
        out = subprocess.run(
            [sys.executable, "-c", FIRST_PAINT, "--home", str(home)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        line = [x for x in out.stdout.splitlines() if x.startswith("first-paint")]
        if not line:
            raise SystemExit(f"no first paint: {out.stdout}{out.stderr}")
        times.append(float(line[0].split()[1]) * 1000)
    runs_ms = ", ".join(f"{t:.0f}" for t in times)
    print(
        f"2. first paint, {count} prompts: median {statistics.median(times):.0f} ms "
        f"(runs {runs_ms} ms)"
    )


# --- 3. screenshot ------------------------------------------------------------------------------

PROMPTS = [
    ("image", "Lighthouse at dusk", {"prompt": "a lighthouse at dusk, volumetric fog"}),
    ("image", "Neon alley", {"prompt": "rain-soaked neon alley, cinematic, 35mm"}),
    ("image", "Fox in the snow", {"prompt": "a red fox in fresh snow, watercolor"}),
    (
        "audio",
        "Night drive",
        {"lyrics": "[verse]\nheadlights on the empty road", "tags": ["synth"]},
    ),
    (
        "audio",
        "Harbour ballad",
        {"lyrics": "[verse]\nropes and gulls and morning", "tags": ["folk"]},
    ),
    ("video", "Waves", {"prompt": "slow waves on black sand, drone shot"}),
    ("video", "Temple steps", {"prompt": "ancient temple steps in morning mist"}),
]


def pump(root: tk.Tk, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        root.update()
        time.sleep(0.01)


def pump_until(root: tk.Tk, condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pump(root, 0.05)
        if condition():
            return True
    return False


def screenshot() -> None:
    """Against the demo server main.py --demo runs (in-process), sped up for the takes, then
    slowed down so the last job is still running, with its preview, at the grab."""
    from PIL import ImageGrab

    from executors.demo_server.server import ComfyServer

    home = Path(tempfile.mkdtemp(prefix="takeboard-gui-shot-"))
    server = ComfyServer(home / "demo-comfyui", step_delay=0.002, profile="current")  # as --demo
    server.start()
    ctx, database = open_home(home, [server.url])
    ids = [ctx.prompts.add(kind, title, data).id for kind, title, data in PROMPTS]
    (home / "window.json").write_text(json.dumps({"geometry": "1280x800+0+0", "theme": "light"}))
    root = tk.Tk(className="Takeboard")
    app = Application(root, ctx, banner=DEMO_BANNER)
    try:
        lighthouse = ids[0]
        pump(root, 0.5)
        app.generate(ids)
        for _ in range(5):  # a fresh seed each: a different tint each on the demo server
            app.generate([lighthouse])
        done = pump_until(root, lambda: not ctx.jobs.unfinished(), 120)
        takes = ctx.artifacts.count()
        menu = root.winfo_rooty()  # the menubar sits above the root's client area
        root.geometry(f"1280x{800 - menu}+0+0")  # the whole window, menu included, 1280x800
        app.prompts.refresh()
        app.prompts.select(lighthouse)
        app.tabs.select(app.gallery)
        app.gallery.show_prompt(lighthouse)
        thumbs = pump_until(root, lambda: len(app.gallery.canvas.find_withtag("thumb")) >= 6, 20)
        server.set_step_delay(1.0)
        app.generate([ids[1]])
        live = pump_until(root, lambda: app.queue.preview_count >= 2, 30)
        for mode, path in SCREENSHOTS.items():
            started = time.perf_counter()
            app.set_theme(mode)  # restyles every widget of the window, on the Tk thread
            root.update_idletasks()
            switch_ms = (time.perf_counter() - started) * 1000
            pump(root, 0.5)
            image = ImageGrab.grab(bbox=(0, 0, 1280, 800)).convert("RGB")
            image.quantize(256).save(path, optimize=True)
            print(
                f"3. screenshot ({mode}, switch {switch_ms:.0f} ms): {takes} takes (all done: "
                f"{done}), thumbnails shown: "
                f"{thumbs}, live preview: {live}; saved {path.relative_to(ROOT)} "
                f"{path.stat().st_size // 1024} KB"
            )
    finally:
        app.stop_engine()
        app.bridge.stop()
        root.destroy()
        server.stop()
        database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--step-delay", type=float, default=0.12)
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("stall", "paint", "shot"))
    args = parser.parse_args()
    if args.only in (None, "stall"):
        stall(args.jobs, args.step_delay)
    if args.only in (None, "paint"):
        first_paint(args.prompts, args.runs)
    if args.only in (None, "shot"):
        screenshot()


if __name__ == "__main__":
    main()
