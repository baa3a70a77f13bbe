"""How long `discover()` takes: the full default scan with nothing answering, the same scan with
two servers up (the project's fake ComfyUI and LlmServer on free ports, added to the default
ports), and one port that accepts and never answers. Median (and min/max) of N runs each.

    .venv/bin/python bench/discovery.py [--runs 5] [--timeout 0.25]

Whatever already listens on this machine's default ports is probed too; it is listed first.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from executors.backends.discovery import DEFAULT_PORTS, Found, discover  # noqa: E402
from executors.demo_server.server import ComfyServer  # noqa: E402
from tests.llm_server import LlmServer  # noqa: E402


def timings(call: Callable[[], list[Found]], runs: int) -> tuple[list[float], list[Found]]:
    seconds, found = [], []
    for _ in range(runs):
        start = time.perf_counter()
        found = call()
        seconds.append(time.perf_counter() - start)
    return seconds, found


def report(label: str, seconds: list[float], found: list[Found]) -> None:
    median = statistics.median(seconds) * 1000
    print(
        f"{label:<44} median {median:7.1f} ms  "
        f"(min {min(seconds) * 1000:.1f}, max {max(seconds) * 1000:.1f}; {len(seconds)} runs)"
    )
    for item in found:
        print(f"    {item.kind:<18} {item.url:<32} {item.detail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=0.25, help="discover's timeout_s")
    args = parser.parse_args()
    timeout, runs = args.timeout, args.runs
    print(f"discover(): {len(DEFAULT_PORTS)} default ports on 127.0.0.1, timeout_s={timeout}")

    discover(timeout_s=timeout)  # warm-up: imports, first thread pool
    seconds, found = timings(lambda: discover(timeout_s=timeout), runs)
    report("default scan, nothing started by the bench", seconds, found)

    comfy = ComfyServer(tempfile.mkdtemp(prefix="bench-discovery-"))
    comfy.start()
    llm = LlmServer(models=["llama3", "qwen2.5"]).start()
    try:
        llm_port = int(llm.url.rsplit(":", 1)[1])
        ports = {**DEFAULT_PORTS, comfy.port: ("comfyui",), llm_port: DEFAULT_PORTS[11434]}
        discover(ports=ports, timeout_s=timeout)
        seconds, found = timings(lambda: discover(ports=ports, timeout_s=timeout), runs)
        report("default scan + fake ComfyUI + LlmServer", seconds, found)
    finally:
        llm.stop()
        comfy.stop()

    with socket.socket() as silent:  # the kernel accepts; nobody ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        ports = {**DEFAULT_PORTS, silent.getsockname()[1]: ("comfyui",)}
        seconds, found = timings(lambda: discover(ports=ports, timeout_s=timeout), runs)
        report("default scan + a port that never answers", seconds, found)


if __name__ == "__main__":
    main()
