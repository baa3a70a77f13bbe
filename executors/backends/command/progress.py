"""A command's output lines as Progress events: the line parser and the two reader threads.

Threads: `parse_progress` is pure (any thread). `OutputReader` reads a process's stdout and
stderr on two daemon threads and hands events over through a queue; `deliver` drains that queue
on the supervising thread, which alone calls `on_event`.
"""

from __future__ import annotations

import queue
import re
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import IO

from executors.backends.base import Event, Progress

STEP_LINE = re.compile(r"^\s*\[\s*(\d+)\s*/\s*(\d+)\s*\]\s*(.*)$")
TQDM_LINE = re.compile(r"^(?P<desc>.*?):?\s*(?P<pct>\d{1,3})%\|[^|]*\|\s*(?P<n>\d+)/(?P<total>\d+)")
PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s?%")
TAIL_LINES = 20  # stderr/stdout lines kept for error messages
MAX_LINE = 64 * 1024  # a longer run without a line end is cut into pieces
LABEL_MAX = 120


def parse_progress(line: str) -> Progress | None:
    """A progress event from one output line, or None. Pure; called on the reader threads.

    ``[12/30] Prompt 1/3 - Denoising`` → Progress(0.4, "Prompt 1/3 - Denoising 12/30");
    a tqdm bar ``Sampling:  40%|████  | 12/30 [..]`` → Progress(0.4, "Sampling 12/30");
    any other line with ``NN%`` → Progress(NN/100, the line).
    """
    text = line.strip()
    if not text:
        return None
    step = STEP_LINE.match(text)
    if step:
        done, total, words = int(step[1]), int(step[2]), step[3].strip()
        if total > 0:
            label = f"{words} {done}/{total}" if words else f"{done}/{total}"
            return Progress(_clamp(done / total), _short(label))
    bar = TQDM_LINE.match(text)
    if bar and int(bar["pct"]) <= 100:
        label = f"{bar['desc'].strip()} {bar['n']}/{bar['total']}".strip()
        return Progress(_clamp(int(bar["pct"]) / 100), _short(label))
    percent = PERCENT.search(text)
    if percent and float(percent[1]) <= 100:
        return Progress(_clamp(float(percent[1]) / 100), _short(text))
    return None


def _clamp(fraction: float) -> float:
    return min(1.0, max(0.0, fraction))


def _short(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


class OutputReader:
    """Reads a process's stdout and stderr on two daemon threads until both pipes close.

    Reader threads split the bytes into lines (``\\n``, ``\\r\\n`` and tqdm's bare ``\\r`` all
    end a line), keep the last lines of each stream (``\\r`` updates are progress redraws and
    are not kept), and put parsed Progress events on `events`, which the supervising thread
    drains. Nothing here calls back into the caller.
    """

    def __init__(self, proc: subprocess.Popen[bytes]):
        self.events: queue.Queue[Event] = queue.Queue()
        self.stdout_tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.stderr_tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._threads = [
            threading.Thread(
                target=self._read, args=(stream, tail), name=f"command-{label}", daemon=True
            )
            for stream, tail, label in (
                (proc.stdout, self.stdout_tail, "stdout"),
                (proc.stderr, self.stderr_tail, "stderr"),
            )
        ]
        for thread in self._threads:
            thread.start()

    def join(self, timeout_s: float) -> bool:
        """Supervising thread: waits for both pipes to close; False if one is still open
        (something outside the process group still holds it)."""
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def _read(self, stream: IO[bytes] | None, tail: deque[str]) -> None:
        """Reader thread: one stream until end of file."""
        if stream is None:
            return
        pending = b""
        try:
            while chunk := stream.read1(65536):  # type: ignore[attr-defined]
                pending = self._split(pending + chunk, tail)
            if pending:
                self._line(pending, tail, redraw=False)
        except (OSError, ValueError):  # the pipe was closed under us: the job is over
            pass
        finally:
            stream.close()

    def _split(self, data: bytes, tail: deque[str]) -> bytes:
        """Handles every complete line in `data`; returns the unfinished rest."""
        start = 0
        for match in re.finditer(rb"\r\n|\n|\r", data):
            self._line(data[start : match.start()], tail, redraw=match[0] == b"\r")
            start = match.end()
        rest = data[start:]
        if len(rest) > MAX_LINE:
            self._line(rest, tail, redraw=False)
            return b""
        return rest

    def _line(self, raw: bytes, tail: deque[str], *, redraw: bool) -> None:
        text = raw.decode("utf-8", "replace").rstrip()
        if not text.strip():
            return
        if not redraw:
            tail.append(text)
        event = parse_progress(text)
        if event is not None:
            self.events.put(event)


def deliver(
    events: queue.Queue[Event],
    on_event: Callable[[Event], None],
    last: Progress | None,
    *,
    wait_s: float = 0.0,
) -> Progress | None:
    """Supervising thread: passes queued events to `on_event`, skipping a repeat of the last
    progress (tqdm redraws); waits up to `wait_s` for the first. Returns the last progress."""
    try:
        event = events.get(timeout=wait_s) if wait_s > 0 else events.get_nowait()
    except queue.Empty:
        return last
    while True:
        if event != last:
            on_event(event)
            if isinstance(event, Progress):
                last = event
        try:
            event = events.get_nowait()
        except queue.Empty:
            return last
