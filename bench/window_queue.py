"""The Tk thread's time to queue from the window: the editor's Save (the prompt added) plus
Generate (the job queued), while the engine runs jobs on a demo server (its workers write
progress, claims and takes into the same library meanwhile).

The real Application in-process (Tk root under Xvfb), the context main.py builds, one demo
ComfyUI server as a subprocess (`--step-delay`, so jobs keep running). N rounds, one every
`--gap-ms`: fill the editor with a new image prompt and Save it; once it is saved, Generate it.
Timed on the Tk thread with perf_counter, each outermost call: `editor.save()`, the saved
callback (the list refreshed, the prompt selected), `app.generate([id])` and, where the jobs
are written on a worker, the queued callback (the rows updated). "add + queue" is their sum
per round. A 5 ms after() heartbeat's lateness shows any other stall. Prints n, p50, p99 and
max of each; the jobs are all in the library at the end (checked).

`--tree DIR` runs another checkout's app (e.g. a `git worktree` of an older commit, for a
before/after figure); the demo server always comes from this one.

Run: xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python bench/window_queue.py [--rounds 200]
Results: RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
HEARTBEAT_MS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--gap-ms", type=int, default=40)
    parser.add_argument("--step-delay", type=float, default=0.01)
    parser.add_argument("--tree", type=Path, default=HERE, help="the checkout whose app runs")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from bench.servers import start_server, stop_servers

    server, url = start_server(args.step_delay)
    try:
        times = run(args.tree.resolve(), url, args.rounds, args.gap_ms)
    finally:
        stop_servers([server])
    report(times, args)


def run(tree: Path, url: str, rounds: int, gap_ms: int) -> dict[str, list[float]]:
    if tree != HERE:  # the app under test, not this checkout's
        sys.path.insert(0, str(tree))
        for name in [m for m in sys.modules if m.split(".")[0] in ("bench", "app", "core", "main")]:
            del sys.modules[name]
    from app.application import Application
    from core.config import load_config
    from main import build_context
    from repositories.database import Database

    os.environ["TAKEBOARD_COMFYUI_URL"] = url
    home = Path(tempfile.mkdtemp(prefix="takeboard-window-queue-"))
    config = load_config(home)
    database = Database(config.database_path)
    ctx = build_context(config, database)
    root = tk.Tk(className="Takeboard")
    app = Application(root, ctx)
    timer = Timer()
    editor = app.editor
    editor.save = timer.wrap("save", editor.save)  # the Save button's command
    on_saved = timer.wrap("saved", editor.on_saved)  # the prompt is written: list, selection
    app.generate = timer.wrap("generate", app.generate)
    if hasattr(app, "_queued"):  # the jobs are written (the window's worker queued them)
        app._queued = timer.wrap("queued", app._queued)
    beats: list[float] = []

    def saved(prompt_id: int) -> None:
        on_saved(prompt_id)
        root.after_idle(app.generate, [prompt_id])  # then Generate, as the user would

    editor.on_saved = saved

    def round_(n: int) -> None:
        if n == rounds:
            root.quit()
            return
        editor.new("image")
        editor.fill(f"queue {n}", {"prompt": f"a lighthouse at dusk, take {n}"})
        editor.save()
        root.after(gap_ms, round_, n + 1)

    def heartbeat(expected: float) -> None:
        now = time.perf_counter()
        beats.append((now - expected) * 1000)
        root.after(HEARTBEAT_MS, heartbeat, now + HEARTBEAT_MS / 1000)

    root.after(2000, round_, 0)  # the engine started and its first health check done
    root.after(2000, heartbeat, time.perf_counter() + 2.0)
    root.mainloop()
    deadline = time.monotonic() + 60
    while len(ctx.jobs.list(limit=rounds * 2)) < rounds and time.monotonic() < deadline:
        root.update()
        time.sleep(0.02)
    queued = len(ctx.jobs.list(limit=rounds * 2))
    app.stop_engine()
    app.bridge.stop()
    root.destroy()
    database.close()
    assert queued == rounds, f"{queued} of {rounds} jobs in the library"
    return {**timer.rounds(rounds), "heartbeat lateness": beats}


class Timer:
    """Tk-thread time of each wrapped call (an outermost call only: a call made inside another
    counts in the outer one), in call order per name."""

    def __init__(self) -> None:
        self.calls: dict[str, list[float]] = {}
        self.depth = 0

    def wrap(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        self.calls[name] = []

        def timed(*args: Any) -> Any:
            self.depth += 1
            t0 = time.perf_counter()
            try:
                return call(*args)
            finally:
                self.depth -= 1
                if self.depth == 0:
                    self.calls[name].append((time.perf_counter() - t0) * 1000)

        return timed

    def rounds(self, count: int) -> dict[str, list[float]]:
        """Each name's times, and per round (the i-th call of each) their sum."""
        named = {name: times for name, times in self.calls.items() if times}
        total = [sum(times[i] for times in named.values() if i < len(times)) for i in range(count)]
        return {**named, "add + queue": total}


def report(times: dict[str, list[float]], args: argparse.Namespace) -> None:
    print(f"tree {args.tree}, {args.rounds} rounds, one every {args.gap_ms} ms")
    print(f"{'Tk thread ms':>20} {'n':>5} {'p50':>7} {'p99':>7} {'max':>7}")
    for key, values in times.items():
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        median = statistics.median(values)
        print(f"{key:>20} {len(values):5d} {median:7.2f} {p99:7.2f} {max(values):7.2f}")


if __name__ == "__main__":
    main()
