"""Files the fake server writes and serves: real PNGs, recorded sample media, previews."""

from __future__ import annotations

import io
import json
import mimetypes
import os
import shutil
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from PIL import Image, ImageSequence
from PIL.PngImagePlugin import PngInfo

from core.json_types import JsonObject, JsonValue

from .catalog import DATA

SAMPLES = DATA / "samples"
SAMPLE_FILES = {
    "webp": "c1_fx_anim_3frames.webp",
    "apng": "c1_fx_apng_3frames.png",
    "mp4": "c1_fx_vid_h264.mp4",
    "mp4+aac": "c2_fx_av_h264_aac.mp4",
    "webm": "c1_fx_webm_vp9.webm",
    "flac": "c2_fx_flac.flac",
    "mp3": "c2_fx_mp3.mp3",
    "opus": "c2_fx_opus.opus",
}
CONTENT_TYPES = {
    ".png": "image/png",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".opus": "audio/ogg",
}
UNSAFE_TYPES = {"text/html", "text/html-sandboxed", "application/xhtml+xml", "text/javascript"}


def pyav() -> ModuleType:
    """PyAV, imported when a node first writes audio or video: it is the optional `video` extra,
    so without it the demo backend still makes pictures and says what songs and videos need."""
    try:
        import av
    except ImportError as exc:
        raise RuntimeError("songs and videos need PyAV: pip install 'takeboard[video]'") from exc
    return av


def content_type(filename: str) -> str:
    """The Content-Type /view answers with (executable web types are forced to download)."""
    suffix = Path(filename).suffix.lower()
    guessed = CONTENT_TYPES.get(suffix) or mimetypes.guess_type(filename)[0]
    if not guessed or guessed in UNSAFE_TYPES | {"text/css"}:
        return "application/octet-stream"
    return guessed


def save_path(prefix: str, output_dir: Path, width: int = 0, height: int = 0) -> tuple:
    """ComfyUI's `get_save_image_path`: (folder, base name, next counter, subfolder).

    `/` in the prefix makes subfolders; the counter is the highest existing `<name>_NNNNN_`
    in that folder + 1, so it continues across restarts and is shared by all clients.
    Only %width% / %height% / %year%-style variables are expanded, never `%date:…%`.
    """
    if "%" in prefix:
        prefix = _expand(prefix, width, height)
    subfolder = os.path.dirname(os.path.normpath(prefix))
    name = os.path.basename(os.path.normpath(prefix))
    folder = output_dir / subfolder
    if os.path.commonpath((str(output_dir), str(folder.resolve()))) != str(output_dir):
        raise Exception("**** ERROR: Saving image outside the output folder is not allowed.")
    folder.mkdir(parents=True, exist_ok=True)
    return folder, name, _next_counter(folder, name), subfolder


def _next_counter(folder: Path, name: str) -> int:
    """The counter after the highest `<name>_NNNNN…`; digits end at `_` or `.` (the newest
    folder_paths.py@1df2885e map_filename, so `x_00001.flac` counts; 0.3.64 only split at `_`,
    which differs only for the current profile's audio names)."""
    counters = []
    for entry in os.listdir(folder):
        head = entry[: len(name) + 1]
        digits = entry[len(name) + 1 :].split(".")[0].split("_")[0]
        if os.path.normcase(head[:-1]) == os.path.normcase(name) and head[-1:] == "_":
            counters.append(int(digits) if digits.isdigit() else 0)
    return max(counters, default=0) + 1


def _expand(prefix: str, width: int, height: int) -> str:
    now = time.localtime()
    values = {
        "%width%": width,
        "%height%": height,
        "%year%": now.tm_year,
        "%month%": f"{now.tm_mon:02}",
        "%day%": f"{now.tm_mday:02}",
        "%hour%": f"{now.tm_hour:02}",
        "%minute%": f"{now.tm_min:02}",
        "%second%": f"{now.tm_sec:02}",
    }
    for key, value in values.items():
        prefix = prefix.replace(key, str(value))
    return prefix


def split_annotation(name: str) -> tuple[str, str | None]:
    """`x.png [output]` → (`x.png`, "output"): the suffix picks the base folder."""
    for kind in ("output", "input", "temp"):
        if name.endswith(f"[{kind}]"):
            return name[: -len(kind) - 3], kind
    return name, None


def annotated_path(name: str, dirs: dict[str, Path]) -> Path:
    """Where a LoadImage-style value points: the input folder unless annotated."""
    name, kind = split_annotation(name)
    return dirs[kind or "input"] / name


def png_metadata(prompt: JsonValue, extra_pnginfo: dict | None) -> PngInfo:
    """tEXt `prompt`, plus one chunk per extra_pnginfo key (the UI sends `workflow`)."""
    info = PngInfo()
    if prompt is not None:
        info.add_text("prompt", json.dumps(prompt))
    for key, value in (extra_pnginfo or {}).items():
        info.add_text(key, json.dumps(value))
    return info


def image_metadata(path: Path) -> JsonObject | None:
    """`{kind: "image", width, height}` for an image file, else None (app/assets/services/
    media_metadata.py as media_enrichment.py@51a38a63 attaches it)."""
    if path.suffix.lower() not in (".png", ".webp", ".jpg", ".jpeg", ".gif"):
        return None
    try:
        with Image.open(path) as img:
            width, height = img.size
    except OSError:
        return None
    return {"kind": "image", "width": width, "height": height}


def write_png(path: Path, size: tuple[int, int], rgb: tuple[int, ...], info: PngInfo) -> None:
    Image.new("RGB", size, rgb).save(path, pnginfo=info, compress_level=4)


def copy_sample(
    kind: str,
    path: Path,
    prompt: JsonValue = None,
    extra: dict | None = None,
    source: Path | None = None,
) -> None:
    """The sample `kind` at `path`, carrying the graph as ComfyUI embeds it (when given): EXIF
    0x0110 `prompt:…` and 0x010f, 0x010e… `key:…` in an animated WEBP, `comf` chunks after IDAT
    in an APNG (comfy_api/latest/_ui.py@255ec426 ImageSaveHelper), container metadata (JSON
    text) in audio (_ui.py@255ec426 AudioSaveHelper) and video (comfy_api/latest/_input_impl/
    video_types.py@2802bf95 save_to; comfy_extras/nodes_video.py SaveWEBM)."""
    source = source or SAMPLES / SAMPLE_FILES[kind]  # `source`: a demo file in its place
    metadata = ({"prompt": prompt} if prompt is not None else {}) | (extra or {})
    if not metadata:
        shutil.copyfile(source, path)
    elif kind in ("webp", "apng"):
        _resave_animation(source, path, metadata)
    else:
        _remux(source, path, {key: json.dumps(value) for key, value in metadata.items()})


def _resave_animation(source: Path, path: Path, metadata: JsonObject) -> None:
    with Image.open(source) as img:
        frames = [frame.convert("RGBA") for frame in ImageSequence.Iterator(img)]
    pairs = [(key, json.dumps(value)) for key, value in metadata.items()]
    if path.suffix == ".webp":
        exif = frames[0].getexif()
        for tag, (key, text) in zip((0x0110, *range(0x010F, 0x0100, -1)), pairs, strict=False):
            exif[tag] = f"{key}:{text}"
        options: dict[str, Any] = {"exif": exif, "quality": 80}
    else:
        info = PngInfo()
        for key, text in pairs:
            info.add(b"comf", f"{key}\0{text}".encode("latin-1"), after_idat=True)
        options = {"pnginfo": info}
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, **options)


def _remux(source: Path, path: Path, metadata: dict[str, str]) -> None:
    """The sample's packets, unchanged, in a container that carries `metadata`."""
    options = {"movflags": "use_metadata_tags"} if path.suffix == ".mp4" else {}
    form = "opus" if path.suffix == ".opus" else None
    av = pyav()
    with av.open(str(source)) as src, av.open(str(path), "w", form, options=options) as out:
        out.metadata.update(metadata)
        streams = {stream.index: out.add_stream_from_template(stream) for stream in src.streams}
        for packet in src.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)


def encoded(size: tuple[int, int], rgb: tuple[int, ...], fmt: str) -> bytes:
    """A small solid image (a stand-in for a sampler's latent preview)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, rgb).save(buffer, format=fmt, quality=95, compress_level=1)
    return buffer.getvalue()


def reencode(path: Path, preview: str, channel: str) -> tuple[bytes, str]:
    """`/view?preview=webp;50` / `jpeg;80`: re-encoded bytes and their Content-Type."""
    parts = preview.split(";")
    fmt = parts[0] if parts[0] in ("webp", "jpeg") and "a" not in channel else "webp"
    quality = int(parts[-1]) if parts[-1].isdigit() else 90
    with Image.open(path) as img:
        picture = img.convert("RGB") if fmt == "jpeg" or channel == "rgb" else img
        buffer = io.BytesIO()
        picture.save(buffer, format=fmt, quality=quality)
    return buffer.getvalue(), f"image/{fmt}"


def channel_png(path: Path, channel: str) -> bytes:
    """`/view?channel=rgb|a`: a PNG without text chunks (alpha as an RGBA mask)."""
    with Image.open(path) as img:
        if channel == "rgb":
            out = Image.merge("RGB", img.split()[:3]) if img.mode == "RGBA" else img.convert("RGB")
        else:
            alpha = img.split()[3] if img.mode == "RGBA" else Image.new("L", img.size, 255)
            out = Image.new("RGBA", img.size)
            out.putalpha(alpha)
        buffer = io.BytesIO()
        out.save(buffer, format="PNG")
    return buffer.getvalue()
