"""The take viewer and the gallery under load, in the real window (issue 14 part B).

1. viewer open: in the real Application (no server answering), a double-click on a take's tile
   in the gallery, timed to the viewer's first picture painted (the take's 256 px preview, shown
   while the full picture decodes) and to the full picture painted, for a 1024² and a 4096² PNG;
   Escape between runs. Aim: first picture < 100 ms.
2. no stall: a 10 ms after() heartbeat on the Tk thread while the viewer opens a 6000×4000
   (24-megapixel) PNG; its lateness is the longest the window could not answer.
3. gallery scroll: 1,000 takes with previews; one wheel step every 16 ms (after()), 600 steps
   down (or to the bottom) and back up, while the thumbnails load; each step's time on the Tk
   thread (the scroll and the redraw it causes: update_idletasks) and the heartbeat's lateness.
   Aim: p99 < 16 ms.

Run: xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python bench/viewer.py [--runs 7]
Results: RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
import tkinter as tk
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

from app.application import Application  # noqa: E402
from app.views.viewer import TakeViewer  # noqa: E402
from core.config import load_config  # noqa: E402
from main import build_context  # noqa: E402
from repositories.database import Database  # noqa: E402

HEARTBEAT_MS = 10
CLOCK = itertools.count(10_000, 2000)  # event times: no click pairs with another run's
STEP_MS = 16


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def picture(path: Path, size: tuple[int, int], seed: int) -> Path:
    """A PNG that compresses like a photo rather than a flat colour: noise plus shapes."""
    noise = Image.effect_noise(size, 60 + seed % 40).convert("RGB")
    draw = ImageDraw.Draw(noise)
    for n in range(12):
        box = [(seed * 37 + n * 91) % size[0], (seed * 53 + n * 71) % size[1]]
        box += [box[0] + size[0] // 5, box[1] + size[1] // 5]
        draw.ellipse(box, fill=((n * 40) % 256, (seed * 20) % 256, 120))
    noise.save(path)
    return path


def take(ctx, home: Path, prompt_id: int, name: str, size: tuple[int, int], seed: int):
    """A take with its file and a 256 px preview, as the library keeps them."""
    path = picture(home / "takes" / f"{name}.png", size, seed)
    preview = home / "previews" / f"{name}.jpg"
    with Image.open(path) as image:
        image.thumbnail((256, 256))
        image.save(preview)
    return ctx.artifacts.add(
        prompt_id=prompt_id, kind="image", path=f"takes/{name}.png", sha256=name,
        size=path.stat().st_size, width=size[0], height=size[1],
        preview_path=f"previews/{name}.jpg", metadata={"seed": seed, "tier": "standard"},
    )  # fmt: skip


def window(home: Path) -> tuple[tk.Tk, Application, Database]:
    os.environ["TAKEBOARD_COMFYUI_URL"] = "http://127.0.0.1:9"  # nothing answers: offline
    config = load_config(home)
    database = Database(config.database_path)
    root = tk.Tk(className="Takeboard")
    root.geometry("1280x800+0+0")
    app = Application(root, build_context(config, database))
    pump(root, 0.5)
    return root, app, database


def pump(root: tk.Tk, seconds: float = 0.0, until=None, limit_s: float = 120) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or (until is not None and not until()):
        root.update()
        if until is not None and time.perf_counter() > deadline + limit_s:
            raise SystemExit(f"PROBLEM: waited {limit_s} s")


def double_click(app: Application, artifact_id: int) -> None:
    """Two clicks 100 ms apart (event times: each run's pair is its own double-click)."""
    canvas = app.gallery.canvas
    x0, y0, x1, y1 = canvas.bbox(f"a{artifact_id}")
    x, y = (x0 + x1) // 2, (y0 + y1) // 2 - int(canvas.canvasy(0))
    at = next(CLOCK)
    for t in (at, at + 100):
        canvas.event_generate("<ButtonPress-1>", x=x, y=y, time=t)
        canvas.event_generate("<ButtonRelease-1>", x=x, y=y, time=t + 30)


def open_viewer(root: tk.Tk, app: Application, artifact_id: int) -> tuple[float, float, float]:
    """(first picture, full picture) in ms after the double-click, paint included, and the
    Tk thread's CPU time until the first picture."""
    painted: dict[str, float] = {}
    start, cpu = time.perf_counter(), time.thread_time()
    double_click(app, artifact_id)
    viewer = next(c for c in root.winfo_children() if isinstance(c, TakeViewer))

    def on_paint(stage: str) -> None:
        root.update_idletasks()  # the picture is on the screen
        painted.setdefault(stage, (time.perf_counter() - start) * 1000)
        painted.setdefault("first", painted[stage])
        painted.setdefault("cpu", (time.thread_time() - cpu) * 1000)

    viewer.picture.painted.append(on_paint)
    pump(root, until=lambda: "full" in painted)
    viewer.close()
    pump(root, 0.05)
    return painted["first"], painted["full"], painted["cpu"]


def viewer_open(runs: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="takeboard-viewer-bench-"))
    (home / "takes").mkdir()
    (home / "previews").mkdir()
    root, app, database = window(home)
    ctx = app.ctx
    prompt = ctx.prompts.add("image", "bench", {"prompt": "a lighthouse"})
    sizes = {"1024²": (1024, 1024), "4096²": (4096, 4096), "24 MP": (6000, 4000)}
    takes = {label: take(ctx, home, prompt.id, label[:4], size, n)
             for n, (label, size) in enumerate(sizes.items())}  # fmt: skip
    app.tabs.select(app.gallery)
    app.gallery.show_prompt(prompt.id)
    pump(root, until=lambda: len(app.gallery.canvas.find_withtag("thumb")) == len(takes))
    print(f"1. viewer open, double-click → painted ({runs} runs each; median / max ms)")
    for label in ("1024²", "4096²"):
        times = [open_viewer(root, app, takes[label].id) for _ in range(runs)]
        first, full, cpu = ([t[i] for t in times] for i in range(3))
        print(
            f"   {label} PNG: first picture {statistics.median(first):.0f} / {max(first):.0f}"
            f" (Tk thread CPU {statistics.median(cpu):.0f} / {max(cpu):.0f})"
            f"   full picture {statistics.median(full):.0f} / {max(full):.0f}"
        )
    opened: list[tuple[float, float, float]] = []
    late = heartbeat_while(root, lambda: opened.append(open_viewer(root, app, takes["24 MP"].id)))
    print(
        f"2. 6000×4000 PNG: first picture {opened[0][0]:.0f} ms, full {opened[0][1]:.0f} ms;"
        f" heartbeat lateness meanwhile p50 {percentile(late, 0.5):.1f} ms"
        f"  p99 {percentile(late, 0.99):.1f} ms  max {max(late):.1f} ms  ({len(late)} beats)"
    )
    close(root, app, database)


def heartbeat_while(root: tk.Tk, work) -> list[float]:
    """Run `work()` (which pumps the loop) with a HEARTBEAT_MS heartbeat; its lateness."""
    late: list[float] = []
    pending = [""]

    def beat(expected: float) -> None:
        now = time.perf_counter()
        late.append((now - expected) * 1000)
        pending[0] = root.after(HEARTBEAT_MS, beat, now + HEARTBEAT_MS / 1000)

    pending[0] = root.after(HEARTBEAT_MS, beat, time.perf_counter() + HEARTBEAT_MS / 1000)
    work()
    root.after_cancel(pending[0])
    return late


def gallery_scroll(count: int, most: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="takeboard-gallery-bench-"))
    (home / "takes").mkdir()
    (home / "previews").mkdir()
    root, app, database = window(home)
    ctx = app.ctx
    prompt = ctx.prompts.add("image", "bench", {"prompt": "a lighthouse"})
    for n in range(count):
        preview = Image.effect_noise((256, 256), 30 + n % 60).convert("RGB")
        preview.save(home / "previews" / f"{n}.jpg")
        ctx.artifacts.add(
            prompt_id=prompt.id, kind="image", path=f"takes/{n}.png", sha256=str(n), size=1,
            preview_path=f"previews/{n}.jpg", metadata={"seed": n, "tier": "standard"},
        )  # fmt: skip
    app.tabs.select(app.gallery)
    app.gallery.show_prompt(prompt.id)
    pump(root, 0.5)
    steps: list[float] = []
    cpu: list[float] = []
    canvas = app.gallery.canvas
    direction = [1]

    def scroll() -> None:
        start, thread = time.perf_counter(), time.thread_time()
        app.gallery._scroll(direction[0])  # what one wheel notch does
        root.update_idletasks()  # and the redraw it causes
        steps.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - thread) * 1000)
        top, bottom = canvas.yview()
        if direction[0] == 1 and (bottom >= 1.0 or len(steps) >= most):
            direction[0] = -1
        elif direction[0] == -1 and top <= 0.0:
            direction[0] = 0
            return
        root.after(STEP_MS, scroll)

    def work() -> None:
        root.after(STEP_MS, scroll)
        pump(root, until=lambda: direction[0] == 0, limit_s=300)

    late = heartbeat_while(root, work)
    shown = len(canvas.find_withtag("thumb"))
    print(
        f"3. gallery, {count} takes: {len(steps)} wheel steps down and up, "
        f"{shown} thumbnails in memory at the end"
    )
    for name, values in (("wall", steps), ("Tk thread CPU", cpu)):
        print(
            f"   step (scroll + redraw), {name}: p50 {percentile(values, 0.5):.1f} ms  p99 "
            f"{percentile(values, 0.99):.1f} ms  max {max(values):.1f} ms"
        )
    print(
        f"   heartbeat lateness p50 {percentile(late, 0.5):.1f} ms  p99 "
        f"{percentile(late, 0.99):.1f} ms  max {max(late):.1f} ms  (> 16 ms: "
        f"{sum(v > 16 for v in late)} of {len(late)})"
    )
    close(root, app, database)


def close(root: tk.Tk, app: Application, database: Database) -> None:
    root.after_cancel(app._status_job)
    app.stop_engine()
    app.bridge.stop()
    root.destroy()
    database.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--takes", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=600, help="wheel steps down, at most")
    parser.add_argument("--only", choices=("viewer", "gallery"))
    args = parser.parse_args()
    print("load average at start: " + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    if args.only != "gallery":
        viewer_open(args.runs)
    if args.only != "viewer":
        gallery_scroll(args.takes, args.steps)
    print("load average at the end: " + " ".join(f"{v:.1f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
