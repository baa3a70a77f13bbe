"""The audio panel while it plays: the cost of one frame on the Tk thread (issue 14: < 5 ms).

A 3-minute song (a WAV written here, 44.1 kHz mono, so decoding converts it to the player's
48 kHz stereo) is shown in an AudioPanel 1,000 px wide and played on miniaudio's null device
(real time, no sound card needed) for SECONDS; every after() frame (`AudioPanel.tick`: the
playhead line, the clock, the play button, then the canvas repaint they cause) is timed with
perf_counter on the Tk thread, and so is the whole-waveform redraw a resize causes (its picture
made on a worker, then shown on the Tk thread). Also: decoding + peaks on the worker.

Run: xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python bench/audio_panel.py
Results: RESULTS.md.
"""

from __future__ import annotations

import math
import os
import statistics
import struct
import sys
import tempfile
import time
import tkinter as tk
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["TAKEBOARD_AUDIO"] = "null"

from app.audio_player import load_take  # noqa: E402
from app.views.audio_panel import AudioPanel  # noqa: E402
from core.models import ArtifactRecord, MediaKind  # noqa: E402

SONG_S = 180
SECONDS = 5.0
RATE = 44_100


def write_song(path: Path) -> Path:
    frames = SONG_S * RATE
    beat = RATE // 2
    values = (
        round(30000 * ((i % beat) / beat) * math.sin(2 * math.pi * 220 * i / RATE))
        for i in range(frames)
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(struct.pack(f"<{frames}h", *values))
    return path


def pump_until(root: tk.Tk, condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        root.update()
        time.sleep(0.001)


def timed_frames(root: tk.Tk, panel: AudioPanel) -> tuple[list[float], list[float]]:
    """Each frame's wall time and the Tk thread's CPU time in it (the second does not count
    the time other processes on these 2 cores took the CPU away)."""
    costs: list[float] = []
    cpu: list[float] = []
    tick = panel.tick

    def timed_tick() -> None:
        start, start_cpu = time.perf_counter(), time.thread_time()
        tick()
        root.update_idletasks()  # the canvas repaint the frame causes
        costs.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)

    panel.tick = timed_tick
    panel.play_from(0)
    end = time.monotonic() + SECONDS
    pump_until(root, lambda: time.monotonic() >= end, SECONDS + 1)
    panel.tick = tick
    return costs, cpu


def redraw_ms(root: tk.Tk, panel: AudioPanel, runs: int = 10) -> tuple[list[float], list[float]]:
    """A resize's redraw: the picture made on the worker, then shown on the Tk thread."""
    worker, shown = [], []
    for _ in range(runs):
        start = time.perf_counter()
        panel._draw_wave()
        panel._wave_future.result()
        worker.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        panel._show_wave()
        root.update_idletasks()
        shown.append((time.perf_counter() - start) * 1000)
    return worker, shown


def report(name: str, costs: list[float]) -> None:
    ordered = sorted(costs)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{name}: n={len(costs)} median {statistics.median(costs):.3f} ms, "
        f"p99 {p99:.3f} ms, max {ordered[-1]:.3f} ms"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        song = write_song(Path(folder) / "song.wav")
        start = time.perf_counter()
        take = load_take(song)
        print(
            f"decode + peaks of a {SONG_S} s song: {time.perf_counter() - start:.2f} s "
            f"({take.audio.frames} frames, {len(take.peaks.highs)} peaks)"
        )
        root = tk.Tk()
        root.geometry("1000x200+0+0")
        record = ArtifactRecord(1, 1, MediaKind.AUDIO, song.name, None, "", 0)
        panel = AudioPanel(root, record, song, None, height=160)
        panel.pack(fill="both", expand=True)
        pump_until(root, lambda: panel.take is not None, 30)
        root.update()
        frames, cpu = timed_frames(root, panel)
        report(f"playing frame (tick + repaint) over {SECONDS:.0f} s, wall", frames)
        report("  the same frames, Tk thread CPU", cpu)
        print(f"load average: {os.getloadavg()[0]:.2f}")
        print(f"playhead reached {panel.player.position_s:.2f} s on {panel.player.device_name}")
        worker, shown = redraw_ms(root, panel)
        width = panel.canvas.winfo_width()
        report(f"waveform picture at {width} px on the worker", worker)
        report("showing it on the Tk thread (PhotoImage, item, repaint)", shown)
        panel.destroy()
        root.destroy()


if __name__ == "__main__":
    main()
