"""Bounded take files: the most bytes one may have, and how long it may take or stall.

A chunk source (an HTTP body, a file being copied) is read on a helper thread, so a source that
blocks mid-read (a server sending one byte every 20 s) cannot hold the job: the writer stops
waiting when the stall limit or the deadline passes, tells the helper to stop, and fails with
one line. The helper closes the source as soon as its blocked read returns.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from core.errors import StorageError

STALL_BYTES = 16 * 1024  # fewer than this in a whole stall_s window is a stalled download
_END = object()


@dataclass(frozen=True)
class Limits:
    """Bounds on one take file (config: downloads.max_bytes, downloads.stall_s; total_s is
    timeouts.job_s): its size, the longest window in which fewer than STALL_BYTES may
    arrive, and the most time it may take in all."""

    max_bytes: int = 4 * 1024**3
    stall_s: float = 60.0
    total_s: float = 600.0


def bounded(chunks: Iterable[bytes], limits: Limits, deadline: float, name: str) -> Iterator[bytes]:
    """The chunks of `chunks`, or StorageError once the file passes max_bytes, stalls, or
    `deadline` (time.time() seconds) passes. Errors of the source propagate unchanged."""
    inbox: queue.Queue = queue.Queue(maxsize=8)
    stop = threading.Event()
    threading.Thread(target=_pump, args=(chunks, inbox, stop), daemon=True).start()
    try:
        yield from _received(inbox, limits, deadline, name)
    finally:
        stop.set()


def _received(inbox: queue.Queue, limits: Limits, deadline: float, name: str) -> Iterator[bytes]:
    size, window_end, window_bytes = 0, time.monotonic() + limits.stall_s, 0
    while True:
        wait = min(window_end - time.monotonic(), deadline - time.time())
        try:
            item = inbox.get(timeout=max(wait, 0.0))
        except queue.Empty:
            item = None
        if isinstance(item, BaseException):
            raise item
        if item is _END:
            return
        if time.time() >= deadline:
            raise StorageError(
                f"{name}: the download took longer than the job's time limit "
                f"({limits.total_s:g} s, timeouts.job_s) — nothing was stored; raise "
                "timeouts.job_s in config.json if files this slow are expected"
            )
        if item is not None:
            size += len(item)
            window_bytes += len(item)
            if size > limits.max_bytes:
                raise StorageError(
                    f"{name}: the download is larger than {limits.max_bytes} bytes "
                    "(downloads.max_bytes) — nothing was stored; raise downloads.max_bytes in "
                    "config.json if the file is meant to be this large"
                )
            yield item
        if time.monotonic() >= window_end:
            if window_bytes < STALL_BYTES:
                raise StorageError(
                    f"{name}: the download stalled (under {STALL_BYTES // 1024} KiB in "
                    f"{limits.stall_s:g} s, downloads.stall_s) — nothing was stored; check the "
                    "server and the network, then retry the job"
                )
            window_end, window_bytes = time.monotonic() + limits.stall_s, 0


def _pump(chunks: Iterable[bytes], inbox: queue.Queue, stop: threading.Event) -> None:
    """Move chunks into inbox until the source ends, fails, or the reader gives up."""
    source = iter(chunks)
    try:
        for chunk in source:
            if not _put(inbox, stop, chunk):
                return
        _put(inbox, stop, _END)
    except BaseException as exc:  # noqa: BLE001 - handed to the writer, which raises it
        _put(inbox, stop, exc)
    finally:
        with contextlib.suppress(Exception):
            getattr(source, "close", lambda: None)()


def _put(inbox: queue.Queue, stop: threading.Event, item: object) -> bool:
    while not stop.is_set():
        with contextlib.suppress(queue.Full):
            inbox.put(item, timeout=0.2)
            return True
    return False
