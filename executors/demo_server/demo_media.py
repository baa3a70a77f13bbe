"""Placeholder media worth looking at, for the demo backend (`python main.py --demo`, which
starts this server with `demo_media=True`): pictures drawn from the prompt (a seeded pattern and
the prompt's words, different per seed), short songs that follow the tempo and duration, short
moving videos — each clearly labelled "demo, no AI model". Without the switch the savers write
the recorded samples the protocol tests compare. Cheap on purpose: Pillow shapes at the graph's
size, songs of at most 10 s at 22 kHz in pure Python, videos of at most 2 s."""

from __future__ import annotations

import colorsys
import contextlib
import math
import random
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from core.json_types import JsonObject, JsonValue

from .media import pyav

LABEL = "demo, no AI model"
SONG_RATE = 22_050  # Opus takes 24 kHz (it has no 22.05 kHz mode)
SONG_MAX_S = 10.0
VIDEO_MAX_FRAMES = 32
VIDEO_MAX_WIDTH = 640
ANIMATION_FRAMES = 6
SCALE = (0, 2, 4, 7, 9, 12, 14, 16)  # a major pentatonic over two octaves (semitones)
VIDEO_CODECS = {
    "mp4": ("libx264", {"preset": "ultrafast"}),
    "webm": ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8"}),
}
ENCODERS = {"flac": "flac", "mp3": "libmp3lame", "opus": "libopus"}


@dataclass(frozen=True)
class Cue:
    """What the graph asks for, as far as a placeholder can follow it."""

    text: str = ""
    seed: int = 0
    tempo: int = 120
    seconds: float = 4.0
    fps: float = 8.0
    steps: int = 20  # more steps: more small detail shapes
    cfg: float = 7.0  # a higher cfg: more saturated shapes


def cue_of(graph: JsonValue) -> Cue:
    """The prompt's words, seed, steps, cfg, tempo, duration and frame rate, read from an API
    graph (so a grid over steps or cfg shows a difference, as a model would)."""
    nodes = graph if isinstance(graph, dict) else {}
    sampler = next((n for n in _nodes(nodes) if "seed" in n or "noise_seed" in n), {})
    text = _text(nodes, sampler.get("positive"), 0) or _first_text(nodes)
    seed = _number(nodes, sampler.get("seed", sampler.get("noise_seed")), 0)
    tempo = _number(nodes, _input(nodes, "bpm"), 120)
    seconds = _number(nodes, _input(nodes, "seconds") or _input(nodes, "duration"), 4.0)
    fps = _number(nodes, _input(nodes, "fps") or _input(nodes, "frame_rate"), 8.0)
    steps = _number(nodes, sampler.get("steps"), 20)
    cfg = _number(nodes, sampler.get("cfg"), 7.0)
    timing = (int(tempo) or 120, float(seconds), float(fps) or 8.0)
    return Cue(text.strip(), int(seed), *timing, int(steps), float(cfg))


def _nodes(nodes: JsonObject) -> Iterator[JsonObject]:
    for node in nodes.values():
        if isinstance(node, dict) and isinstance(node.get("inputs"), dict):
            yield node["inputs"]


def _input(nodes: JsonObject, name: str) -> JsonValue:
    return next((inputs[name] for inputs in _nodes(nodes) if name in inputs), None)


def _linked(nodes: JsonObject, ref: JsonValue) -> JsonObject | None:
    if isinstance(ref, list) and len(ref) == 2 and isinstance(nodes.get(str(ref[0])), dict):
        return nodes[str(ref[0])]
    return None


def _number(nodes: JsonObject, ref: JsonValue, default: float) -> float:
    node = _linked(nodes, ref)
    value = node.get("inputs", {}).get("value") if node else ref
    return value if isinstance(value, int | float) and not isinstance(value, bool) else default


def _text(nodes: JsonObject, ref: JsonValue, depth: int) -> str:
    """The text a link carries: through encoders, StringConcatenate and primitives."""
    if isinstance(ref, str) or depth > 8:
        return ref if isinstance(ref, str) else ""
    node = _linked(nodes, ref)
    if node is None:
        return ""
    inputs = node.get("inputs", {})
    if "string_a" in inputs:
        parts = [_text(nodes, inputs.get(k), depth + 1) for k in ("string_a", "string_b")]
        return str(inputs.get("delimiter", " ")).join(p for p in parts if p)
    for name in ("text", "tags", "value", "conditioning"):
        if name in inputs:
            return _text(nodes, inputs[name], depth + 1)
    return ""


def _first_text(nodes: JsonObject) -> str:
    texts = (i.get("text", i.get("tags")) for i in _nodes(nodes))
    return next((t for t in texts if isinstance(t, str) and t.strip()), "")


# --- pictures ---------------------------------------------------------------------------------


def _rng(cue: Cue) -> random.Random:
    return random.Random(f"{cue.seed}\0{cue.text}")


def draw(cue: Cue, size: tuple[int, int], phase: float = 0.0) -> Image.Image:
    """A seeded picture: a two-colour gradient, soft shapes (moved by `phase`, 0..1), the
    prompt's words and the demo label."""
    rng = _rng(cue)
    width, height = size
    hue = rng.random()
    top, bottom = _colour(hue, 0.55, 0.9), _colour(hue + 0.35 + rng.random() * 0.3, 0.7, 0.35)
    mask = Image.linear_gradient("L").resize(size)
    image = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)
    overlay = Image.new("RGBA", size)
    pen = ImageDraw.Draw(overlay)
    vivid = min(1.0, 0.3 + cue.cfg / 10)
    for _ in range(rng.randint(5, 11)):
        _shape(pen, rng, size, hue, phase, vivid=vivid)
    detail = random.Random(f"{cue.seed}\0detail")  # the seed's layout stays as it was
    for _ in range(min(max(cue.steps, 0), 60) // 4):
        _shape(pen, detail, size, hue + 0.5, phase, vivid=vivid, scale=0.2)
    image = Image.alpha_composite(image.convert("RGBA"), overlay)
    _words(ImageDraw.Draw(image), cue.text, size)
    return image.convert("RGB")


def _colour(hue: float, saturation: float, value: float, alpha: int = 255) -> tuple[int, ...]:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(red * 255), round(green * 255), round(blue * 255), alpha


def _shape(
    pen: ImageDraw.ImageDraw,
    rng: random.Random,
    size: tuple[int, int],
    hue: float,
    phase: float,
    *,
    vivid: float = 1.0,
    scale: float = 1.0,
) -> None:
    width, height = size
    radius = rng.uniform(0.06, 0.3) * min(size) * scale
    turn = 2 * math.pi * (phase + rng.random())
    x = rng.random() * width + math.cos(turn) * radius * 0.5 * (phase > 0)
    y = rng.random() * height + math.sin(turn) * radius * 0.5 * (phase > 0)
    saturation = rng.uniform(0.3, 0.9) * vivid
    fill = _colour(hue + rng.uniform(-0.2, 0.2), saturation, rng.uniform(0.5, 1.0), 110)
    box = (x - radius, y - radius, x + radius, y + radius)
    if rng.random() < 0.6:
        pen.ellipse(box, fill=fill)
    else:
        pen.regular_polygon(
            (x, y, radius), rng.randint(3, 6), rotation=rng.random() * 360, fill=fill
        )


def _words(pen: ImageDraw.ImageDraw, text: str, size: tuple[int, int]) -> None:
    """Up to three lines of the prompt in the middle, the label at the bottom."""
    width, height = size
    big_px, small_px = max(10, min(width, height) // 14), max(8, min(width, height) // 28)
    big, small = ImageFont.load_default(size=big_px), ImageFont.load_default(size=small_px)
    lines = _wrapped(text or "(no prompt)", max(8, int(width / (big_px * 0.55))))[:3]
    y = height / 2 - len(lines) * big_px * 0.6
    for line in lines:
        pen.text(
            (width / 2, y),
            line,
            font=big,
            anchor="mt",
            fill="white",
            stroke_width=2,
            stroke_fill="black",
        )
        y += big_px * 1.2
    pen.text(
        (width / 2, height - small_px),
        LABEL,
        font=small,
        anchor="ms",
        fill="white",
        stroke_width=1,
        stroke_fill="black",
    )


def _wrapped(text: str, columns: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > columns:
            lines.append(line)
            line = word[:columns]
        else:
            line = f"{line} {word}".strip()[:columns]
    return [*lines, line] if line else lines


def write_png(path: Path, cue: Cue, size: tuple[int, int], info: PngInfo) -> None:
    draw(cue, size).save(path, pnginfo=info, compress_level=1)


# --- files the sample savers would copy --------------------------------------------------------


@contextlib.contextmanager
def drawn(
    kind: str, graph: JsonValue, size: tuple[int, int] = (512, 512), frames: int = 0
) -> Iterator[Path]:
    """A demo file of the sample `kind` ("webp", "apng", "mp4", "mp4+aac", "webm", "flac",
    "mp3", "opus") in a temporary folder, for media.copy_sample to embed the graph into."""
    cue = cue_of(graph)
    with tempfile.TemporaryDirectory(prefix="demo-media-") as folder:
        ext = {"apng": "png", "mp4+aac": "mp4"}.get(kind, kind)
        path = Path(folder) / f"demo.{ext}"
        if kind in ENCODERS:
            write_song(path, cue, kind)
        elif kind in ("webp", "apng"):
            _write_animation(path, cue, size)
        else:
            write_video(path, cue, size, frames or VIDEO_MAX_FRAMES, kind)
        yield path


def _write_animation(path: Path, cue: Cue, size: tuple[int, int]) -> None:
    frames = [draw(cue, size, (i + 1) / ANIMATION_FRAMES) for i in range(ANIMATION_FRAMES)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=150, loop=0)


def song_samples(cue: Cue, rate: int = SONG_RATE) -> bytes:
    """Mono s16: a seeded melody on the beat of `cue.tempo` with a bass note each bar, for
    `cue.seconds` (at most SONG_MAX_S)."""
    rng = _rng(cue)
    seconds = min(max(cue.seconds, 1.0), SONG_MAX_S)
    beat = 60.0 / min(max(cue.tempo, 40), 240)
    root = 220.0 * 2 ** (rng.randrange(12) / 12)
    samples = [0.0] * int(seconds * rate)
    for index in range(int(seconds / beat)):
        step = SCALE[rng.randrange(len(SCALE))]
        _note(samples, rate, index * beat, beat * 0.9, root * 2 ** (step / 12), 0.35)
        if index % 4 == 0:
            _note(samples, rate, index * beat, beat * 3.8, root / 2, 0.3)
    return b"".join(struct.pack("<h", int(max(-1.0, min(1.0, s)) * 32000)) for s in samples)


def _note(
    samples: list[float], rate: int, start_s: float, length_s: float, hz: float, gain: float
) -> None:
    first, count = int(start_s * rate), int(length_s * rate)
    step = 2 * math.pi * hz / rate
    for i in range(min(count, len(samples) - first)):
        envelope = min(1.0, i / 200) * (1 - i / count) ** 2
        phase = step * i
        samples[first + i] += gain * envelope * (math.sin(phase) + 0.3 * math.sin(2 * phase))


def write_song(path: Path, cue: Cue, kind: str) -> None:
    rate = 24_000 if kind == "opus" else SONG_RATE
    pcm = song_samples(cue, rate)
    av = pyav()
    with av.open(str(path), "w", "opus" if kind == "opus" else None) as out:
        stream = out.add_stream(ENCODERS[kind], rate=rate, layout="mono")
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        frame.planes[0].update(pcm)
        frame.sample_rate = rate
        resampler = av.AudioResampler(
            format=stream.codec_context.format.name, layout="mono", rate=rate
        )
        for converted in resampler.resample(frame):
            out.mux(stream.encode(converted))
        out.mux(stream.encode(None))


def write_video(path: Path, cue: Cue, size: tuple[int, int], frames: int, kind: str) -> None:
    """A short clip of the picture's shapes moving (H.264 in MP4, VP9 in WebM)."""
    width = min(size[0], VIDEO_MAX_WIDTH) // 2 * 2
    height = max(2, round(size[1] * width / max(size[0], 1)) // 2 * 2)
    count = max(2, min(frames, VIDEO_MAX_FRAMES))
    fps = round(min(max(cue.fps, 4.0), 30.0))
    codec, options = VIDEO_CODECS["webm" if kind == "webm" else "mp4"]
    av = pyav()
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(count):
            picture = draw(cue, (width, height), index / count)
            out.mux(stream.encode(av.VideoFrame.from_image(picture)))
        out.mux(stream.encode(None))
