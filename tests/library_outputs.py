"""A folder of real ComfyUI outputs for library import: the project's ComfyUI server (current
profile) runs image, animation, video, song and audio graphs and saves PNG, APNG, WEBP, MP4,
WEBM, FLAC, MP3 and Opus files carrying the graph as ComfyUI embeds it; plus files that are
broken in the ways files in the wild are."""

from __future__ import annotations

import copy
import json
import struct
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from PIL import Image

from executors.demo_server.server import ComfyServer
from executors.templates import BUNDLED_DIR
from tests.comfyui_server.examples import audio_outputs, txt2img, video_and_animation
from tests.comfyui_server.probe import Probe


@dataclass(frozen=True)
class Run:
    """One graph run on the server and the UI workflow sent with it."""

    name: str
    graph: dict[str, Any]
    workflow: dict[str, Any]


def ui_workflow(name: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "nodes": [], "links": [], "version": 0.4, "extra": {"n": name}}


def song(tags: str, lyrics: str, seed: int) -> dict[str, Any]:
    graph = _bundled("create_audio")
    graph["94"]["inputs"].update(tags=tags, lyrics=lyrics)
    graph["111"]["inputs"]["value"] = seed  # PrimitiveInt "Seed", linked into the encoder
    graph["3"]["inputs"]["seed"] = seed
    return graph


def wan_video(text: str, seed: int) -> dict[str, Any]:
    graph = _bundled("create_video")
    graph["6"]["inputs"]["text"] = text
    graph["57"]["inputs"]["noise_seed"] = seed
    graph["59"]["inputs"].update(width=64, height=48, length=9)
    return graph


def _bundled(function: str) -> dict[str, Any]:
    return json.loads((BUNDLED_DIR / function / "standard" / "workflow.json").read_text())


RUNS = (
    Run("fox 1", txt2img(seed=1, text="a red fox in snow", prefix="sd/fox"), ui_workflow("fox")),
    Run("fox 2", txt2img(seed=2, text="a red fox in snow", prefix="sd/fox"), ui_workflow("fox")),
    Run("lighthouse", txt2img(seed=3, width=96, prefix="sd/house"), ui_workflow("house")),
    Run("animation", video_and_animation(), ui_workflow("animation")),
    Run("song", song("pop, upbeat", "[verse]\nhello GPUs", 7), ui_workflow("song")),
    Run("wan", wan_video("a fox runs through snow", 5), ui_workflow("wan")),
    Run("audio", audio_outputs(), ui_workflow("audio")),
)


def make_outputs(root: Path, runs: tuple[Run, ...] = RUNS) -> Path:
    """Run each graph on a fresh current-profile server under `root`; its output folder."""
    server = ComfyServer(root, profile="current")
    server.start()
    try:
        for run in runs:
            _run(server, run)
    finally:
        server.stop()
    return server.output_dir


def _run(server: ComfyServer, run: Run) -> None:
    probe = Probe(server.url, uuid.uuid4().hex)
    try:
        prompt_id = str(uuid.uuid4())
        body = {
            "prompt": run.graph,
            "client_id": probe.client_id,
            "prompt_id": prompt_id,
            "extra_data": {"extra_pnginfo": {"workflow": run.workflow}},
        }
        answer = requests.post(f"{server.url}/prompt", json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        probe.until_done(prompt_id, timeout=60)
    finally:
        probe.close()


# --------------------------------------------------------------------------- broken files


def png_with_chunks(path: Path, chunks: list[tuple[bytes, bytes]], *, crc_ok: bool = True) -> Path:
    """A real 8×8 PNG with these chunks inserted after IHDR (a bad checksum if not crc_ok)."""
    Image.new("RGB", (8, 8), (200, 30, 30)).save(path)
    data = path.read_bytes()
    ihdr_end = 8 + 8 + 13 + 4
    extra = b"".join(_chunk(kind, body, crc_ok) for kind, body in chunks)
    path.write_bytes(data[:ihdr_end] + extra + data[ihdr_end:])
    return path


def _chunk(kind: bytes, body: bytes, crc_ok: bool) -> bytes:
    crc = zlib.crc32(kind + body) ^ (0 if crc_ok else 0xFFFF)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def cut(source: Path, dest: Path, fraction: float = 0.5) -> Path:
    """The first `fraction` of `source` (a file cut short by a failed copy or download)."""
    data = source.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


def graph_chunks(graph: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    return [(b"tEXt", b"prompt\0" + json.dumps(graph).encode())]


def altered(graph: dict[str, Any], **inputs: Any) -> dict[str, Any]:
    """A copy of a txt2img graph with other KSampler inputs."""
    graph = copy.deepcopy(graph)
    graph["3"]["inputs"].update(inputs)
    return graph
