"""Run the fake ComfyUI server standalone: `python -m tests.comfyui_server --port 8188`."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from .server import ComfyServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake ComfyUI 0.3.64 server (no models).")
    parser.add_argument("--port", type=int, default=8188)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--step-delay", type=float, default=0.05, help="seconds per sampler step")
    parser.add_argument("--root", type=Path, help="folder for output/, input/, temp/")
    args = parser.parse_args(argv)
    server = ComfyServer(args.root, host=args.host, step_delay=args.step_delay)
    url = server.start(args.port)
    print(f"fake ComfyUI listening on {url} (files under {server.output_dir.parent})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
