"""Run the fake ComfyUI server standalone: `python -m executors.demo_server --port 8188`
(`--profile current` for the newest ComfyUI, 0.3.64 by default)."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from .profiles import PROFILES
from .server import ComfyServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake ComfyUI server (no models).")
    parser.add_argument("--port", type=int, default=8188)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--step-delay", type=float, default=0.05, help="seconds per sampler step")
    parser.add_argument("--root", type=Path, help="folder for output/, input/, temp/")
    parser.add_argument("--profile", choices=PROFILES, default="0.3.64", help="server version")
    args = parser.parse_args(argv)
    server = ComfyServer(
        args.root, host=args.host, step_delay=args.step_delay, profile=args.profile
    )
    url = server.start(args.port)
    where = f"files under {server.output_dir.parent}"
    print(f"fake ComfyUI {args.profile} listening on {url} ({where})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
