"""Gallery previews from real media files: images, animations, video posters, waveforms."""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import struct
import sys
import wave
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from executors import previews
from executors.demo_server.media import SAMPLES  # recorded from ComfyUI 0.3.64
from executors.previews import fallback_icon, format_duration, make_preview, preview_path

HAS_AV = importlib.util.find_spec("av") is not None
needs_av = pytest.mark.skipif(not HAS_AV, reason="PyAV (the 'video' extra) is not installed")

# sample -> preview size at 256 (images keep their aspect; waveforms are 2:1)
IMAGE_SAMPLES = {
    "b1_fx_basic_no_workflow.png": (256, 256),
    "b2_fx_blend_subfolder.png": (256, 171),
    "c1_fx_anim_3frames.webp": (256, 256),
    "c1_fx_apng_3frames.png": (256, 256),
}
VIDEO_SAMPLES = ["c1_fx_vid_h264.mp4", "c1_fx_webm_vp9.webm", "c2_fx_av_h264_aac.mp4"]
AUDIO_SAMPLES = ["c2_fx_flac.flac", "c2_fx_mp3.mp3", "c2_fx_opus.opus"]


def _open(path: Path | None) -> Image.Image:
    assert path is not None and path.is_file()
    im = Image.open(path)
    assert im.format == "WEBP"
    im.load()
    return im


def _differs(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean)


def _colors(im: Image.Image) -> set[tuple[int, ...]]:
    return {color for _count, color in im.convert("RGB").getcolors(1 << 20)}


@pytest.fixture(autouse=True)
def _fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(previews, "_warned_no_av", False)


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize("name", sorted(IMAGE_SAMPLES))
def test_image_samples(tmp_path: Path, name: str):
    out = make_preview(SAMPLES / name, tmp_path)
    assert out == tmp_path / f"{name}.256px.webp" == preview_path(SAMPLES / name, tmp_path)
    im = _open(out)
    assert (im.size, im.mode) == (IMAGE_SAMPLES[name], "RGB")
    assert os.listdir(tmp_path) == [out.name]  # no temp file left behind


@pytest.mark.parametrize("name", ["c1_fx_anim_3frames.webp", "c1_fx_apng_3frames.png"])
def test_animation_preview_is_the_first_frame(tmp_path: Path, name: str):
    with Image.open(SAMPLES / name) as anim:
        frames = []
        for index in range(anim.n_frames):
            anim.seek(index)
            frames.append(anim.convert("RGB"))
    preview = _open(make_preview(SAMPLES / name, tmp_path, size=64))
    assert preview.size == frames[0].size
    assert _differs(preview, frames[0]) < 6
    assert all(_differs(preview, other) > 60 for other in frames[1:])


def test_large_image_is_scaled_down_keeping_aspect(tmp_path: Path):
    src = tmp_path / "big.jpg"
    Image.radial_gradient("L").resize((2000, 1000)).convert("RGB").save(src, quality=90)
    im = _open(make_preview(src, tmp_path / "previews", size=128))
    assert im.size == (128, 64)


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path: Path):
    src = tmp_path / "depth.png"
    gradient = Image.linear_gradient("L").rotate(90).resize((256, 64))  # black left, white right
    gradient.convert("I").point(lambda v: v * 257).convert("I;16").save(src)
    with Image.open(src) as check:
        assert check.mode.startswith("I") and check.getextrema()[1] > 60000
    im = _open(make_preview(src, tmp_path, size=64))
    assert im.mode == "RGB" and im.size == (64, 16)
    left, middle, right = (im.getpixel((x, 4))[0] for x in (0, 32, 63))
    assert left < 20 and 100 < middle < 160 and right > 235


def test_float_image(tmp_path: Path):
    picture = previews.to_display_mode(Image.new("F", (4, 4), 0.5))
    assert picture.mode == "RGB" and picture.getpixel((0, 0))[0] in (127, 128)
    picture = previews.to_display_mode(Image.new("F", (4, 4), 1000.0))
    assert picture.getpixel((0, 0))[0] == 255


def test_rgba_keeps_transparency(tmp_path: Path):
    src = tmp_path / "alpha.png"
    im = Image.new("RGBA", (100, 50), (255, 0, 0, 0))
    im.paste((0, 255, 0, 255), (50, 0, 100, 50))
    im.save(src)
    preview = _open(make_preview(src, tmp_path, size=64))
    assert preview.mode == "RGBA" and preview.size == (64, 32)
    assert preview.getpixel((5, 16))[3] == 0
    assert preview.getpixel((58, 16))[3] == 255 and preview.getpixel((58, 16))[1] > 200


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("P", "RGB"), ("PT", "RGBA"), ("LA", "RGBA"), ("L", "RGB"), ("1", "RGB"), ("CMYK", "RGB")],
)
def test_other_modes(tmp_path: Path, mode: str, expected: str):
    src = tmp_path / f"{mode}.png"
    if mode == "PT":
        paletted = Image.new("P", (30, 20), 0)
        paletted.putpalette([0, 0, 0, 255, 0, 0])
        paletted.paste(1, (15, 0, 30, 20))
        paletted.save(src, transparency=0)  # left half transparent
    elif mode == "CMYK":
        src = src.with_suffix(".jpg")
        Image.new("CMYK", (30, 20), (0, 255, 255, 0)).save(src)
    else:
        Image.new(mode, (30, 20)).save(src)
    preview = _open(make_preview(src, tmp_path, size=30))
    assert preview.mode == expected and preview.size == (30, 20)


def test_jpeg_when_webp_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(previews, "preview_format", lambda: "JPEG")
    src = tmp_path / "alpha.png"
    Image.new("RGBA", (40, 40), (0, 0, 255, 128)).save(src)
    for name in (src, SAMPLES / "b1_fx_basic_no_workflow.png"):
        out = make_preview(name, tmp_path / "p", size=32)
        assert out is not None and out.suffix == ".jpg"
        with Image.open(out) as im:
            assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (32, 32))


# --------------------------------------------------------------------------- video


@needs_av
@pytest.mark.parametrize("name", VIDEO_SAMPLES)
def test_video_poster(tmp_path: Path, name: str):
    im = _open(make_preview(SAMPLES / name, tmp_path))
    assert (im.size, im.mode) == ((256, 256), "RGB")
    with Image.open(SAMPLES / "c1_fx_anim_3frames.webp") as frame0:  # same test pattern
        if name != "c2_fx_av_h264_aac.mp4":
            assert _differs(im, frame0.convert("RGB").resize((256, 256))) < 15


def _write_video(path: Path, colors: list[tuple[int, int, int]], fps: int = 10) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.gop_size = 1
        for color in colors:
            frame = av.VideoFrame.from_image(Image.new("RGB", (64, 48), color))
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


@needs_av
def test_long_video_poster_is_taken_about_ten_percent_in(tmp_path: Path):
    src = tmp_path / "long.mp4"
    _write_video(src, [(255, 0, 0)] * 2 + [(0, 255, 0)] * 28)  # 3 s; red only at the start
    im = _open(make_preview(src, tmp_path, size=64))
    assert im.size == (64, 48)
    red, green, _blue = im.getpixel((32, 24))
    assert green > 200 and red < 60


@needs_av
def test_short_video_poster_is_the_first_frame(tmp_path: Path):
    src = tmp_path / "short.mp4"
    _write_video(src, [(255, 0, 0)] * 2 + [(0, 255, 0)] * 8)  # 1 s
    red, green, _blue = _open(make_preview(src, tmp_path, size=64)).getpixel((32, 24))
    assert red > 200 and green < 60


# --------------------------------------------------------------------------- audio


def _write_wav(path: Path, tone_s: float, silence_s: float, rate: int = 8000) -> None:
    tone = [int(30000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(tone_s * rate))]
    samples = tone + [0] * int(silence_s * rate)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))


@needs_av
@pytest.mark.parametrize("name", AUDIO_SAMPLES)
def test_waveform_of_audio_samples(tmp_path: Path, name: str):
    im = _open(make_preview(SAMPLES / name, tmp_path))
    assert (im.size, im.mode) == ((256, 128), "RGB")
    assert len(_colors(im) - {previews.BACKGROUND}) > 1  # centre line and duration text


@needs_av
def test_waveform_follows_the_loudness(tmp_path: Path):
    src = tmp_path / "tone_then_silence.wav"
    _write_wav(src, tone_s=1.0, silence_s=1.0)
    im = _open(make_preview(src, tmp_path, size=200)).convert("RGB")
    assert im.size == (200, 100)

    def lit(x: int) -> int:
        return sum(1 for y in range(30, 100) if _near(im.getpixel((x, y)), previews.WAVE_COLOR))

    assert lit(50) > 40  # loud half: a tall bar (below the duration label)
    assert lit(150) <= 4  # silent half: just the centre line


def _near(color: tuple[int, ...], target: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(color, target, strict=False))


@needs_av
def test_audio_only_mp4_gets_a_waveform(tmp_path: Path):
    import av

    src = tmp_path / "audio_only.mp4"
    with av.open(str(SAMPLES / "c2_fx_av_h264_aac.mp4")) as source, av.open(str(src), "w") as out:
        audio = out.add_stream_from_template(source.streams.audio[0])
        for packet in source.demux(source.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = audio
                out.mux(packet)
    assert _open(make_preview(src, tmp_path)).size == (256, 128)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.5, "0.5s"), (12.34, "12.3s"), (65, "1:05"), (3723, "1:02:03")],
)
def test_format_duration(seconds: float, text: str):
    assert format_duration(seconds) == text


# --------------------------------------------------------------------------- fallbacks


@pytest.mark.parametrize("name", [*VIDEO_SAMPLES, *AUDIO_SAMPLES])
def test_without_pyav_an_icon_and_one_warning(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` now raises ImportError
    caplog.set_level(logging.WARNING, logger="executors.previews")
    first = _open(make_preview(SAMPLES / name, tmp_path))
    _open(make_preview(SAMPLES / name, tmp_path / "again"))
    assert (first.size, first.mode) == ((256, 256), "RGB")
    assert len(_colors(first)) > 2  # glyph and extension text on the background
    hints = [r for r in caplog.records if previews.NO_AV_HINT in r.getMessage()]
    assert len(hints) == 1


def test_icons_differ_by_media():
    icons = [
        fallback_icon(Path(f"x.{ext}"), 96, media)
        for ext, media in [("mp4", "video"), ("flac", "audio"), ("bin", "other")]
    ]
    assert all(icon.size == (96, 96) for icon in icons)
    assert _differs(icons[0], icons[1]) > 1 and _differs(icons[1], icons[2]) > 1


CORRUPT = {
    "broken.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
    "broken.webp": b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x01" * 50,
    "broken.mp4": (SAMPLES / "c1_fx_vid_h264.mp4").read_bytes()[:200],
    "broken.flac": b"fLaC" + b"\xff" * 30,
    "broken.webm": b"\x1a\x45\xdf\xa3" + b"\x00" * 30,
    "unknown.xyz": os.urandom(300),
    "empty.png": b"",
    "notes.txt": b"just text",
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_or_unknown_file_gets_an_icon(tmp_path: Path, name: str):
    src = tmp_path / name
    src.write_bytes(CORRUPT[name])
    im = _open(make_preview(src, tmp_path / "previews", size=128))
    assert (im.size, im.mode) == ((128, 128), "RGB")


def test_missing_source_gets_an_icon(tmp_path: Path):
    assert _open(make_preview(tmp_path / "gone.mp4", tmp_path)).size == (256, 256)


def test_unwritable_destination_returns_none(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    assert make_preview(SAMPLES / "b1_fx_basic_no_workflow.png", blocker) is None
    assert "Could not write the preview" in caplog.text
