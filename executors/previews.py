"""Gallery previews: a small WEBP (or JPEG) per artifact, longest side ``size`` pixels.

Images are scaled (first frame of animations), videos get a poster frame and audio a
waveform, both via PyAV when installed; anything else, or anything broken, gets a drawn
fallback icon. PyAV is imported lazily on the worker thread that needs it.
"""

from __future__ import annotations

import array
import io
import logging
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont, ImageOps, features

from core.errors import StorageError
from executors import storage

if TYPE_CHECKING:  # PyAV is optional and imported lazily
    from av.audio.stream import AudioStream
    from av.container import InputContainer
    from av.video.stream import VideoStream

log = logging.getLogger(__name__)

NO_AV_HINT = "install the 'video' extra (PyAV) for video posters and waveforms"
BACKGROUND = (32, 34, 40)
WAVE_COLOR = (96, 176, 255)
TEXT_COLOR = (230, 230, 235)
ICON_COLOR = (150, 155, 170)
MAX_PACKETS = 600
MAX_WAVE_SAMPLES = 2_000_000

_warn_lock = threading.Lock()
_warned_no_av = False


def preview_format() -> str:
    """WEBP when this Pillow can write it, else JPEG."""
    return "WEBP" if features.check("webp") else "JPEG"


def preview_path(src: Path, dest_dir: Path, size: int = 256) -> Path:
    """Where make_preview puts the preview of src."""
    ext = ".webp" if preview_format() == "WEBP" else ".jpg"
    return Path(dest_dir) / f"{Path(src).name}.{size}px{ext}"


def make_preview(src: Path, dest_dir: Path, size: int = 256) -> Path | None:
    """Write a preview of src into dest_dir and return its path.

    A broken or unknown src gets a fallback icon; None only when the preview itself
    cannot be written (the reason is logged).
    """
    src = Path(src)
    try:
        picture = render_preview(src, size)
        return _save(picture, preview_path(src, dest_dir, size))
    except (StorageError, OSError) as exc:
        log.warning("Could not write the preview of %s: %s", src, exc)
        return None


def render_preview(src: Path, size: int = 256) -> Image.Image:
    """The preview picture (RGB or RGBA) for src; never raises for a bad src."""
    media, _mime = storage.guess_media(src)
    try:
        if media == "image":
            return _image_preview(src, size)
        if media in ("video", "audio"):
            return _av_preview(src, size, media)
    except Exception as exc:  # noqa: BLE001 - a broken artifact must not break the gallery
        log.info("No preview for %s (%s: %s); drawing an icon", src, type(exc).__name__, exc)
    return fallback_icon(src, size, media)


def _save(picture: Image.Image, dest: Path) -> Path:
    fmt = preview_format()
    if fmt == "JPEG" and picture.mode == "RGBA":
        picture = _flatten(picture)
    buffer = io.BytesIO()
    picture.save(buffer, fmt, quality=82)
    return storage.store_bytes(buffer.getvalue(), dest).path


# --------------------------------------------------------------------------- images


def _image_preview(src: Path, size: int) -> Image.Image:
    with Image.open(src) as im:
        im.seek(0)
        im.draft("RGB", (size, size))  # JPEG: decode at reduced scale
        return fit(to_display_mode(ImageOps.exif_transpose(im)), size)


def to_display_mode(im: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has transparency; 16-bit/float data scaled to 8 bits."""
    if im.mode in ("RGB", "RGBA"):
        return im.copy()
    if im.mode.startswith(("I", "F")):
        return _high_depth_to_8bit(im).convert("RGB")
    if im.mode == "P":
        return im.convert("RGBA" if "transparency" in im.info else "RGB")
    return im.convert("RGBA" if im.mode.endswith(("A", "a")) else "RGB")


def _high_depth_to_8bit(im: Image.Image) -> Image.Image:
    """Map I;16 / I / F samples onto 0..255 by their nominal range, not by clipping."""
    if im.mode == "F":
        hi = _single_band_max(im)
        scale = 255.0 if hi <= 1.0 else 255.0 / max(hi, 1e-9)
    else:
        im = im.convert("I")
        scale = 255.0 / 65535.0 if _single_band_max(im) > 255 else 1.0
    return im.point(lambda value: value * scale).convert("L")


def _single_band_max(im: Image.Image) -> float:
    """The largest sample of a one-band picture (getextrema gives one (lo, hi) pair)."""
    _lo, hi = im.getextrema()
    assert isinstance(hi, int | float), "a one-band picture"
    return hi


def fit(im: Image.Image, size: int) -> Image.Image:
    """Resize keeping the aspect ratio so that the longest side is exactly size."""
    longest = max(im.width, im.height)
    new = (max(1, round(im.width * size / longest)), max(1, round(im.height * size / longest)))
    if new == im.size:
        return im
    gap = 2.0 if longest >= size * 2 else None  # box-reduce first: 11 -> 5 ms for 1 MP
    return im.resize(new, Image.Resampling.LANCZOS, reducing_gap=gap)


def _flatten(im: Image.Image) -> Image.Image:
    """RGBA onto the gallery background, for JPEG."""
    canvas = Image.new("RGB", im.size, BACKGROUND)
    canvas.paste(im, mask=im.getchannel("A"))
    return canvas


# --------------------------------------------------------------------------- video / audio


def _av_preview(src: Path, size: int, media: str) -> Image.Image:
    av = storage.load_av()
    if av is None:
        warn_missing_av()
        return fallback_icon(src, size, media)
    with av.open(str(src)) as container:
        video = next((s for s in container.streams.video if not storage.is_cover_stream(s)), None)
        if video is not None:
            return fit(to_display_mode(_poster_frame(container, video)), size)
        if container.streams.audio:
            return _waveform(av, container, container.streams.audio[0], size)
    return fallback_icon(src, size, media)


def _poster_frame(container: InputContainer, stream: VideoStream) -> Image.Image:
    """First decodable frame; about 10% in for videos longer than two seconds."""
    duration = container.duration or 0  # AV_TIME_BASE units (microseconds)
    if duration > 2_000_000:
        try:
            container.seek(duration // 10, backward=True, any_frame=False)
        except Exception:  # noqa: BLE001 - unseekable stream: decode from the start
            container.seek(0)
    for count, packet in enumerate(container.demux(stream)):
        if count >= MAX_PACKETS:
            break
        for frame in packet.decode():
            return frame.to_image()
    raise ValueError("no decodable video frame")


def _waveform(
    av: ModuleType, container: InputContainer, stream: AudioStream, size: int
) -> Image.Image:
    duration = storage.av_duration(container)
    peaks = _peaks(_mono_samples(av, container, stream, duration), size)
    height = max(8, size // 2)
    picture = Image.new("RGB", (size, height), BACKGROUND)
    draw = ImageDraw.Draw(picture)
    middle = height / 2
    for x, peak in enumerate(peaks):
        half = max(0.5, peak * (height / 2 - 2))
        draw.line([(x, middle - half), (x, middle + half)], fill=WAVE_COLOR)
    if duration is not None:
        _label(draw, format_duration(duration), (4, 2), max(9, size // 16))
    return picture


def _peaks(samples: array.array[int], columns: int) -> list[float]:
    """Peak |amplitude| (0..1) per pixel column from mono 16-bit samples."""
    if not samples:
        raise ValueError("no decodable audio samples")
    step = len(samples) / columns
    peaks = []
    for x in range(columns):
        chunk = samples[int(x * step) : max(int((x + 1) * step), int(x * step) + 1)]
        peaks.append(max(max(chunk), -min(chunk)) / 32768 if chunk else 0.0)
    return peaks


def _mono_samples(
    av: ModuleType, container: InputContainer, stream: AudioStream, duration: float | None
) -> array.array[int]:
    """All samples as mono s16 at a rate low enough to keep at most ~2M of them."""
    rate = 8000 if not duration else max(1000, min(8000, int(MAX_WAVE_SAMPLES / duration)))
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    samples = array.array("h")
    for frame in container.decode(stream):
        for out in resampler.resample(frame):
            samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
    for out in resampler.resample(None):
        samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
    return samples


def format_duration(seconds: float) -> str:
    """0.5s, 12.3s, 1:05, 1:02:03."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def warn_missing_av() -> None:
    """Log once per process that PyAV is missing."""
    global _warned_no_av
    with _warn_lock:
        if _warned_no_av:
            return
        _warned_no_av = True
    log.warning("PyAV is not installed: %s", NO_AV_HINT)


# --------------------------------------------------------------------------- fallback icon


def fallback_icon(src: Path, size: int, media: str = "other") -> Image.Image:
    """A square icon: film strip (video), note (audio) or page (else) plus the extension."""
    picture = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(picture)
    unit = size / 16
    glyph = {"video": _film, "audio": _note}.get(media, _page)
    glyph(draw, unit)
    ext = Path(src).suffix.lstrip(".").upper()[:6] or "?"
    _label(draw, ext, (size / 2, unit * 13.5), max(9, size // 8), centered=True)
    return picture


def _film(draw: ImageDraw.ImageDraw, u: float) -> None:
    draw.rectangle([3 * u, 3 * u, 13 * u, 11 * u], outline=ICON_COLOR, width=max(1, int(u / 2)))
    for i in range(5):
        x = 3.6 * u + i * 1.9 * u
        draw.rectangle([x, 3.5 * u, x + u, 4.3 * u], fill=ICON_COLOR)
        draw.rectangle([x, 9.7 * u, x + u, 10.5 * u], fill=ICON_COLOR)
    draw.polygon([(7 * u, 5.5 * u), (7 * u, 8.5 * u), (9.5 * u, 7 * u)], fill=ICON_COLOR)


def _note(draw: ImageDraw.ImageDraw, u: float) -> None:
    draw.ellipse([4.5 * u, 8 * u, 7.5 * u, 10.5 * u], fill=ICON_COLOR)
    draw.rectangle([6.7 * u, 3 * u, 7.5 * u, 9.3 * u], fill=ICON_COLOR)
    draw.polygon(
        [(7.5 * u, 3 * u), (11 * u, 4.5 * u), (11 * u, 6 * u), (7.5 * u, 4.5 * u)], fill=ICON_COLOR
    )


def _page(draw: ImageDraw.ImageDraw, u: float) -> None:
    outline = [(4 * u, 2 * u), (10 * u, 2 * u), (12 * u, 4 * u), (12 * u, 11 * u), (4 * u, 11 * u)]
    draw.polygon(outline, outline=ICON_COLOR, width=max(1, int(u / 2)))
    draw.line([(10 * u, 2 * u), (10 * u, 4 * u), (12 * u, 4 * u)], fill=ICON_COLOR)


def _label(
    draw: ImageDraw.ImageDraw, text: str, xy: tuple[float, float], px: int, centered: bool = False
) -> None:
    font = _font(px)
    x, y = xy
    if centered:  # by bounding box: bitmap fonts do not support anchors
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        x, y = x - (left + right) / 2, y - (top + bottom) / 2
    draw.text((x, y), text, fill=TEXT_COLOR, font=font)


def _font(px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=px)
    except (TypeError, OSError):  # Pillow < 10.1 or no FreeType: fixed bitmap font
        return ImageFont.load_default()
