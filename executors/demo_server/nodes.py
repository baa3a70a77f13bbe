"""What each node class "does" on the fake server: no model, just sizes, counts and real files.

Values flowing along links are small descriptions (values.py: an image batch is its size,
count and colour).
Save nodes write real files: SaveImage/PreviewImage PNGs of the upstream size with the
`prompt`/`workflow` text chunks, the other savers copies of the recorded sample media.
Unknown classes pass values of a matching type through, or emit an opaque placeholder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from PIL import Image

from core.json_types import JsonObject, JsonValue

from . import demo_media, media
from .values import VALUE_KINDS, Audio, Images, Latent, NodeValue, Opaque, Video


class Context(Protocol):
    """What the executor hands a node: resolved inputs and a few services."""

    node_id: str
    class_type: str
    values: dict[str, NodeValue]
    return_types: tuple[str, ...]
    temp_prefix: str
    current: bool  # the server plays the "current" profile

    @property
    def demo(self) -> bool:
        """Savers draw demo media instead of copying the recorded samples."""

    @property
    def prompt(self) -> JsonValue: ...

    @property
    def extra_pnginfo(self) -> dict | None: ...

    @property
    def output_dir(self) -> Path: ...

    @property
    def temp_dir(self) -> Path: ...

    def progress(
        self, value: int, total: int, preview: tuple[str, bytes] | None
    ) -> Awaitable[None]: ...

    def text(self, message: str) -> Awaitable[None]: ...

    def annotated_path(self, name: str) -> Path: ...


@dataclass
class Result:
    outputs: tuple[NodeValue, ...] = ()
    ui: JsonObject | None = field(default=None)


Behavior = Callable[[Context], Awaitable[Result]]
BEHAVIORS: dict[str, Behavior] = {}


def behavior(*names: str) -> Callable[[Behavior], Behavior]:
    def register(fn: Behavior) -> Behavior:
        for name in names:
            BEHAVIORS[name] = fn
        return fn

    return register


async def run_node(ctx: Context) -> Result:
    return await BEHAVIORS.get(ctx.class_type, passthrough)(ctx)


async def passthrough(ctx: Context) -> Result:
    """Each output takes the first input value of the same type, else a placeholder."""
    by_kind: JsonObject = {}
    for value in ctx.values.values():
        by_kind.setdefault(kind_of(value), value)
    return Result(tuple(by_kind.get(k, Opaque(k, ctx.class_type)) for k in ctx.return_types))


def kind_of(value: NodeValue) -> str:
    if isinstance(value, Opaque):
        return value.kind
    return VALUE_KINDS.get(type(value), type(value).__name__)


def tint(*parts: object) -> tuple[int, int, int]:
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).digest()
    return digest[0], digest[1], digest[2]


# --- sources -----------------------------------------------------------------------------------


@behavior("EmptyImage")
async def empty_image(ctx: Context) -> Result:
    v, color = ctx.values, int(ctx.values["color"])
    rgb = ((color >> 16) & 255, (color >> 8) & 255, color & 255)
    return Result((Images(v["width"], v["height"], v["batch_size"], rgb),))


@behavior("EmptyLatentImage", "EmptySD3LatentImage")
async def empty_latent(ctx: Context) -> Result:
    v = ctx.values
    return Result((Latent(v["width"], v["height"], v["batch_size"]),))


@behavior("EmptyHunyuanLatentVideo")
async def empty_video_latent(ctx: Context) -> Result:
    v = ctx.values
    return Result((Latent(v["width"], v["height"], v["batch_size"], frames=v["length"]),))


@behavior("EmptyAceStepLatentAudio", "EmptyAceStep1.5LatentAudio")
async def empty_audio_latent(ctx: Context) -> Result:
    return Result((Latent(0, 0, ctx.values["batch_size"], seconds=ctx.values["seconds"]),))


@behavior("EmptyAudio")
async def empty_audio(ctx: Context) -> Result:
    v = ctx.values
    return Result((Audio(v["duration"], v["sample_rate"], v["channels"]),))


@behavior("PrimitiveString", "PrimitiveInt", "PrimitiveFloat")
async def primitive(ctx: Context) -> Result:
    return Result((ctx.values["value"],))


@behavior("StringConcatenate")
async def concatenate(ctx: Context) -> Result:
    v = ctx.values
    return Result((f"{v['string_a']}{v.get('delimiter', '')}{v['string_b']}",))


@behavior("CLIPTextEncode", "TextEncodeAceStepAudio", "TextEncodeAceStepAudio1.5")
async def text_encode(ctx: Context) -> Result:
    text = ctx.values.get("text", ctx.values.get("tags", ""))
    return Result((Opaque("CONDITIONING", repr(str(text)[:40])),))


@behavior("LoadImage")
async def load_image(ctx: Context) -> Result:
    name = ctx.values["image"]
    with Image.open(ctx.annotated_path(name)) as img:
        size = img.size
    return Result((Images(size[0], size[1], 1, tint(name)), Opaque("MASK", name)))


@behavior("WanImageToVideo")
async def wan_image_to_video(ctx: Context) -> Result:
    v = ctx.values
    latent = Latent(v["width"], v["height"], v["batch_size"], frames=v["length"])
    return Result((v["positive"], v["negative"], latent))


# --- transforms --------------------------------------------------------------------------------


@behavior("KSampler", "KSamplerAdvanced")
async def ksampler(ctx: Context) -> Result:
    """Progress per step with a JPEG latent preview, like a sampler with --preview-method."""
    v = ctx.values
    latent: Latent = v["latent_image"]
    steps = int(v.get("steps", 4))
    rgb = tint(v.get("seed", v.get("noise_seed")), str(v.get("positive")), steps)
    size = (max(latent.width // 8, 8), max(latent.height // 8, 8))
    preview = ("JPEG", media.encoded(size, rgb, "JPEG"))
    for step in range(1, steps + 1):
        await ctx.progress(step, steps, preview)
    return Result((replace(latent, rgb=rgb),))


@behavior("VAEDecode")
async def vae_decode(ctx: Context) -> Result:
    latent: Latent = ctx.values["samples"]
    count = latent.count * latent.frames
    return Result((Images(latent.width, latent.height, count, latent.rgb),))


@behavior("VAEEncode")
async def vae_encode(ctx: Context) -> Result:
    images: Images = ctx.values["pixels"]
    return Result((Latent(images.width, images.height, images.count, rgb=images.rgb),))


@behavior("VAEDecodeAudio")
async def vae_decode_audio(ctx: Context) -> Result:
    return Result((Audio(ctx.values["samples"].seconds),))


@behavior("ImageScale")
async def image_scale(ctx: Context) -> Result:
    images: Images = ctx.values["image"]
    width, height = ctx.values["width"], ctx.values["height"]
    if width == 0 and height == 0:
        return Result((images,))
    width = width or round(images.width * height / images.height)
    height = height or round(images.height * width / images.width)
    return Result((replace(images, width=width, height=height),))


@behavior("ImageScaleBy")
async def image_scale_by(ctx: Context) -> Result:
    images: Images = ctx.values["image"]
    scale = ctx.values["scale_by"]
    width, height = round(images.width * scale), round(images.height * scale)
    if width <= 0 or height <= 0:
        raise RuntimeError(
            "Input and output sizes should be greater than 0, but got input "
            f"(H: {images.height}, W: {images.width}) output (H: {height}, W: {width})\n"
        )
    return Result((replace(images, width=width, height=height),))


@behavior("ImageInvert")
async def image_invert(ctx: Context) -> Result:
    images: Images = ctx.values["image"]
    red, green, blue = images.rgb
    return Result((replace(images, rgb=(255 - red, 255 - green, 255 - blue)),))


@behavior("ImageBatch")
async def image_batch(ctx: Context) -> Result:
    first, second = ctx.values["image1"], ctx.values["image2"]
    return Result((replace(first, count=first.count + second.count),))


@behavior("GetImageSize")
async def get_image_size(ctx: Context) -> Result:
    images: Images = ctx.values["image"]
    await ctx.text(f"width: {images.width}, height: {images.height}\n batch size: {images.count}")
    return Result((images.width, images.height, images.count))


@behavior("CreateVideo")
async def create_video(ctx: Context) -> Result:
    v = ctx.values
    return Result((Video(v["images"], v["fps"], v.get("audio")),))


@behavior("GetVideoComponents")
async def video_components(ctx: Context) -> Result:
    video: Video = ctx.values["video"]
    return Result((video.images, video.audio or Audio(0.0), video.fps))


# --- outputs -----------------------------------------------------------------------------------


@behavior("SaveImage", "PreviewImage")
async def save_image(ctx: Context) -> Result:
    images: Images = ctx.values["images"]
    temp = ctx.class_type == "PreviewImage"
    prefix = ctx.temp_prefix if temp else ctx.values.get("filename_prefix", "ComfyUI")
    base = ctx.temp_dir if temp else ctx.output_dir
    folder, name, counter, subfolder = media.save_path(prefix, base, images.width, images.height)
    info = media.png_metadata(ctx.prompt, ctx.extra_pnginfo)
    results = []
    for index in range(images.count):
        filename = f"{name.replace('%batch_num%', str(index))}_{counter + index:05}_.png"
        size = (images.width, images.height)
        if ctx.demo:
            demo_media.write_png(folder / filename, demo_media.cue_of(ctx.prompt), size, info)
        else:
            media.write_png(folder / filename, size, images.rgb, info)
        results.append(_file(filename, subfolder, "temp" if temp else "output"))
    return Result(ui={"images": results})


@behavior("SaveAnimatedWEBP", "SaveAnimatedPNG")
async def save_animated(ctx: Context) -> Result:
    """Current servers leave `animated` out for a single frame (_ui.py@255ec426 SavedImages)."""
    images: Images = ctx.values["images"]
    webp = ctx.class_type == "SaveAnimatedWEBP"
    entry = _save_sample(ctx, ctx.values["filename_prefix"], "webp" if webp else "apng")
    if ctx.current:
        return Result(ui={"images": [entry], **({"animated": [True]} if images.count > 1 else {})})
    return Result(ui={"images": [entry], "animated": [images.count != 1 or not webp]})


@behavior("SaveVideo")
async def save_video(ctx: Context) -> Result:
    video: Video = ctx.values["video"]
    entry = _save_sample(ctx, ctx.values["filename_prefix"], "mp4+aac" if video.audio else "mp4")
    return Result(ui={"images": [entry], "animated": [True]})


@behavior("SaveWEBM")
async def save_webm(ctx: Context) -> Result:
    entry = _save_sample(ctx, ctx.values["filename_prefix"], "webm")
    return Result(ui={"images": [entry], "animated": [True]})


@behavior("SaveAudio", "SaveAudioMP3", "SaveAudioOpus", "PreviewAudio")
async def save_audio(ctx: Context) -> Result:
    kind = {"SaveAudioMP3": "mp3", "SaveAudioOpus": "opus"}.get(ctx.class_type, "flac")
    temp = ctx.class_type == "PreviewAudio"
    prefix = ctx.temp_prefix if temp else ctx.values.get("filename_prefix", "audio/ComfyUI")
    entry = _save_sample(ctx, prefix, kind, temp=temp, underscore=not ctx.current)
    return Result(ui={"audio": [entry]})


@behavior("SaveAudioAdvanced")
async def save_audio_advanced(ctx: Context) -> Result:
    """The current saver: its `format` (flac | mp3 | opus) picks the file."""
    prefix = ctx.values.get("filename_prefix", "audio/ComfyUI")
    entry = _save_sample(ctx, prefix, ctx.values["format"], underscore=False)
    return Result((ctx.values["audio"],), ui={"audio": [entry]})


@behavior("PreviewAny")
async def preview_any(ctx: Context) -> Result:
    source = ctx.values["source"]
    if isinstance(source, str):
        text = source
    elif isinstance(source, int | float | bool):
        text = str(source)
    else:
        text = json.dumps(source, default=str)
    return Result(ui={"text": [text]})


@behavior("SaveImageWebsocket")
async def save_image_websocket(ctx: Context) -> Result:
    """Each image goes out as a PNG preview frame with a progress step; no ui, no file."""
    images: Images = ctx.values["images"]
    frame = ("PNG", media.encoded((images.width, images.height), images.rgb, "PNG"))
    for index in range(images.count):
        await ctx.progress(index, images.count, frame)
    return Result()


def _save_sample(
    ctx: Context, prefix: str, kind: str, temp: bool = False, underscore: bool = True
) -> dict[str, str]:
    """A copy of the sample `kind` as `name_00001_.ext`, or `name_00001.ext` without the
    underscore (current audio savers: comfy_api/latest/_ui.py@255ec426 AudioSaveHelper)."""
    folder, name, counter, subfolder = media.save_path(
        prefix, ctx.temp_dir if temp else ctx.output_dir
    )
    ext = {"apng": "png", "mp4+aac": "mp4"}.get(kind, kind)
    filename = f"{name}_{counter:05}{'_' if underscore else ''}.{ext}"
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(_demo_file(ctx, kind)) if ctx.demo else None
        media.copy_sample(kind, folder / filename, ctx.prompt, ctx.extra_pnginfo, source)
    return _file(filename, subfolder, "temp" if temp else "output")


def _demo_file(ctx: Context, kind: str) -> contextlib.AbstractContextManager[Path]:
    """The demo file in place of the sample, sized and timed by the saver's input."""
    value = ctx.values.get("images", ctx.values.get("video"))
    images = value.images if isinstance(value, Video) else value
    if isinstance(images, Images):
        return demo_media.drawn(kind, ctx.prompt, (images.width, images.height), images.count)
    return demo_media.drawn(kind, ctx.prompt)


def _file(filename: str, subfolder: str, kind: str) -> dict[str, str]:
    return {"filename": filename, "subfolder": subfolder, "type": kind}
