"""A small, real command-line generator for the command backend's tests.

It behaves like the programs users configure (a ComfyUI workflow script, Applio's
``core.py infer``, WanGP's ``wgp.py --process settings.json``): it reads its arguments (or a
JSON settings file), prints progress lines ``[i/N] Denoising`` to stdout, logs to stderr, and
writes a real PNG (stdlib zlib + struct) or WAV (stdlib ``wave``) into its output folder.

``--mode`` picks a behaviour:

* ``ok`` — write one output and exit 0;
* ``fail`` — log, then exit ``--exit-code`` (default 1) with a clear last stderr line;
* ``oom`` — print the tail of a torch CUDA out-of-memory traceback and exit 1;
* ``hang`` — start a child process that sleeps, write both pids to ``--pid-file``, sleep
  forever (both ignore SIGTERM with ``--ignore-term``, so only SIGKILL stops them);
* ``noisy`` — write more than 1 MB to stderr (and some to stdout), then succeed;
* ``nothing`` — print progress and exit 0 without writing anything.

``--tqdm`` prints the progress as a tqdm bar on stderr (``\\r`` between updates) instead.
``--junk`` also leaves a hidden file and a ``.part`` file in the output folder.

When the environment variable ``FAKE_GENERATOR_RECORD`` names a file, the program writes
there a JSON record of what it saw: argv, cwd, the settings file's content, and every
``FAKE_GENERATOR_*`` environment variable.

Run: ``python tests/tools/fake_generator.py --prompt "a cat" --output out --steps 3``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
import wave
import zlib
from pathlib import Path

MODES = ("ok", "fail", "oom", "hang", "noisy", "nothing")
RECORD_ENV = "FAKE_GENERATOR_RECORD"
OOM_TAIL = """Traceback (most recent call last):
  File "/opt/app/generate.py", line 212, in <module>
    latents = pipeline(prompt, num_inference_steps=steps).latents
  File "/opt/venv/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1532, in _call
    return forward_call(*args, **kwargs)
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total \
capacity of 23.65 GiB of which 1.02 GiB is free."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A fake image/audio generator for tests.")
    parser.add_argument("--prompt")
    parser.add_argument("--negative-prompt")
    parser.add_argument("--output", help="output folder (file name chosen by the program)")
    parser.add_argument("--output-path", help="exact output file")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--step-delay", type=float)
    parser.add_argument("--kind", choices=("image", "audio"))
    parser.add_argument("--settings", help="a JSON request file, like wgp.py --process")
    parser.add_argument("--mode", choices=MODES)
    parser.add_argument("--exit-code", type=int, default=1)
    parser.add_argument("--pid-file")
    parser.add_argument("--ignore-term", action="store_true")
    parser.add_argument("--tqdm", action="store_true")
    parser.add_argument("--junk", action="store_true")
    return parser.parse_args(argv)


def merged_settings(args: argparse.Namespace) -> dict:
    """Command-line values win over the settings file's; then the defaults."""
    settings = json.loads(Path(args.settings).read_text("utf-8")) if args.settings else {}
    defaults = {"prompt": "", "negative_prompt": None, "steps": 4, "step_delay": 0.0}
    defaults |= {"kind": "image", "mode": "ok"}
    merged = {}
    for key, default in defaults.items():
        given = getattr(args, key)
        merged[key] = given if given is not None else settings.get(key, default)
    merged["file"] = settings
    return merged


def write_record(argv: list[str], settings: dict) -> None:
    target = os.environ.get(RECORD_ENV)
    if not target:
        return
    env = {k: v for k, v in os.environ.items() if k.startswith("FAKE_GENERATOR_")}
    record = {"argv": argv, "cwd": os.getcwd(), "settings": settings["file"], "env": env}
    Path(target).write_text(json.dumps(record), "utf-8")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def show_progress(steps: int, delay: float, tqdm: bool) -> None:
    for i in range(1, steps + 1):
        time.sleep(delay)
        if tqdm:
            percent = round(100 * i / steps)
            bar = ("#" * (percent // 10)).ljust(10)
            sys.stderr.write(f"\rSampling: {percent:3d}%|{bar}| {i}/{steps} [00:00<00:00]")
            sys.stderr.flush()
        else:
            print(f"[{i}/{steps}] Denoising", flush=True)
    if tqdm:
        sys.stderr.write("\n")


def png_bytes(width: int, height: int, text: dict[str, str]) -> bytes:
    """An RGB gradient PNG with tEXt chunks, built with zlib and struct only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 96))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = [chunk(b"IHDR", header)]
    chunks += [chunk(b"tEXt", f"{k}\0{v}".encode("latin-1", "replace")) for k, v in text.items()]
    chunks += [chunk(b"IDAT", zlib.compress(rows)), chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def write_wav(path: Path, seconds: float = 0.25, rate: int = 16000) -> None:
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)


def output_file(args: argparse.Namespace, kind: str) -> Path:
    """The exact --output-path, or the next free take_NNNNN name in --output."""
    if args.output_path:
        path = Path(args.output_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    folder = Path(args.output or ".")
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".png" if kind == "image" else ".wav"
    n = 1
    while (folder / f"take_{n:05d}{suffix}").exists():
        n += 1
    return folder / f"take_{n:05d}{suffix}"


def write_output(args: argparse.Namespace, settings: dict) -> Path:
    """Writes to a .part file first, then renames, as careful programs do."""
    path = output_file(args, settings["kind"])
    partial = path.with_name(path.name + ".part")
    if settings["kind"] == "image":
        text = {"prompt": settings["prompt"] or "", "negative": settings["negative_prompt"] or ""}
        partial.write_bytes(png_bytes(16, 8, text))
    else:
        write_wav(partial)
    os.replace(partial, path)
    if args.junk:
        (path.parent / ".hidden_state").write_text("x")
        (path.parent / "leftover.png.part").write_bytes(b"half")
    log(f"saved {path}")
    return path


def hang(args: argparse.Namespace) -> None:
    """Starts a sleeping child in our process group, records both pids, sleeps forever."""
    code = "import signal, time\n"
    if args.ignore_term:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", code + "time.sleep(3600)"])
    if args.pid_file:
        pids = {"pid": os.getpid(), "child": child.pid}
        Path(args.pid_file).write_text(json.dumps(pids), "utf-8")
    print("[1/100] Denoising", flush=True)
    while True:
        time.sleep(3600)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    settings = merged_settings(args)
    write_record(argv, settings)
    mode = settings["mode"]
    log(f"fake generator: mode={mode} kind={settings['kind']} prompt={settings['prompt']!r}")
    if mode == "hang":
        hang(args)
    if mode == "noisy":
        for i in range(20_000):
            sys.stderr.write(f"noisy log line {i:05d} " + "x" * 48 + "\n")
            if i % 100 == 0:
                sys.stdout.write(f"stdout chatter {i}\n")
        sys.stderr.flush()
    show_progress(int(settings["steps"]), float(settings["step_delay"]), args.tqdm)
    if mode == "fail":
        log("loading model weights")
        log("error: model file not found: /models/missing.safetensors")
        return args.exit_code
    if mode == "oom":
        log(OOM_TAIL)
        return 1
    if mode != "nothing":
        write_output(args, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
