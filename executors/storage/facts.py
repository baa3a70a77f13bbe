"""Media facts of a stored file: size in pixels, frames, duration, fps, audio. Images via Pillow
(headers only where possible); audio and video via PyAV, which is optional and imported lazily
(`load_av`): without it, audio/video facts are what the file name tells."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from core.json_types import JsonObject
from executors.storage.media import guess_media

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.stream import Stream
    from av.video.stream import VideoStream
    from PIL.Image import Image


def load_av() -> ModuleType | None:
    """PyAV if installed, else None. Imported lazily: it is heavy and optional."""
    try:
        import av
    except ImportError:
        return None
    return av


def media_facts(path: Path) -> JsonObject:
    """What the file is: media, mime, width, height, frames, duration_s, fps, has_audio.

    Images via Pillow (headers only where possible), audio/video via PyAV when installed.
    Never raises: on a broken file the known facts come back with an "error" message.
    """
    path = Path(path)
    media, mime = guess_media(path)
    facts: JsonObject = {
        "media": media,
        "mime": mime,
        "width": None,
        "height": None,
        "frames": None,
        "duration_s": None,
        "fps": None,
        "has_audio": media == "audio",
        "animated": False,
    }
    if not path.is_file():
        return {**facts, "error": f"{path} does not exist or is not a file"}
    try:
        if media == "image":
            facts.update(_image_facts(path))
        elif media in ("video", "audio"):
            facts.update(_av_facts(path))
    except Exception as exc:  # noqa: BLE001 - a corrupt file must never break a caller
        facts["error"] = f"could not read {path.name}: {type(exc).__name__}: {exc}"
    return facts


def _image_facts(path: Path) -> JsonObject:
    from PIL import Image

    with Image.open(path) as im:
        frames = getattr(im, "n_frames", 1)
        facts = {"width": im.width, "height": im.height, "frames": frames, "animated": frames > 1}
        if frames > 1:
            webp = im.format == "WEBP"
            total_ms = _webp_duration_ms(path) if webp else _seek_duration_ms(im, frames)
            facts["duration_s"] = total_ms / 1000 if total_ms else None
            facts["fps"] = round(frames * 1000 / total_ms, 3) if total_ms else None
        return facts


def _seek_duration_ms(im: Image, frames: int) -> float:
    total = 0.0
    for index in range(frames):
        im.seek(index)
        total += float(im.info.get("duration") or 0)
    return total


def _webp_duration_ms(path: Path) -> float:
    """Sum of ANMF frame durations read from the RIFF chunks (no pixel decoding)."""
    total = 0
    with path.open("rb") as fh:
        fh.seek(12)
        while len(header := fh.read(8)) == 8:
            size = int.from_bytes(header[4:], "little")
            payload = fh.read(16) if header[:4] == b"ANMF" else b""
            total += int.from_bytes(payload[12:15], "little") if len(payload) == 16 else 0
            fh.seek(fh.tell() - len(payload) + size + (size & 1))
    return float(total)


def _av_facts(path: Path) -> JsonObject:
    av = load_av()
    if av is None:
        return {}
    with av.open(str(path)) as container:
        video = next((s for s in container.streams.video if not is_cover_stream(s)), None)
        facts: JsonObject = {
            "has_audio": bool(container.streams.audio),
            "duration_s": av_duration(container),
        }
        if video is not None:
            facts.update(_video_stream_facts(video, facts["duration_s"]))
        else:
            facts.update(media="audio" if container.streams.audio else "other")
        return facts


def _video_stream_facts(stream: VideoStream, duration_s: float | None) -> JsonObject:
    rate = stream.average_rate or stream.guessed_rate
    fps = round(float(rate), 3) if rate else None
    frames = stream.frames or (round(duration_s * fps) if duration_s and fps else None)
    ctx = stream.codec_context
    return {
        "media": "video",
        "width": ctx.width or None,
        "height": ctx.height or None,
        "fps": fps,
        "frames": frames,
    }


def av_duration(container: InputContainer) -> float | None:
    """Seconds, from the container or else the first stream that knows; None if unknown."""
    if container.duration:
        return container.duration / 1_000_000  # AV_TIME_BASE
    for stream in container.streams:
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
    return None


def is_cover_stream(stream: Stream) -> bool:
    """An mp3/flac cover picture shows up as a one-frame video stream."""
    return bool(int(getattr(stream, "disposition", 0) or 0) & 0x400)  # ATTACHED_PIC
