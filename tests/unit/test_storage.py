"""Artifact storage on a real disk: safe names, atomic writes, take folders, media facts."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PureWindowsPath

import pytest
from PIL import Image

from core.errors import StorageError
from core.models import MediaKind
from executors import storage
from executors.demo_server.media import SAMPLES  # recorded from ComfyUI 0.3.64
from executors.storage import (
    ArtifactStore,
    StoredFile,
    guess_media,
    media_facts,
    safe_filename,
    store_bytes,
    store_file,
    write_stream,
)
from executors.storage.names import RESERVED

HAS_AV = importlib.util.find_spec("av") is not None
needs_av = pytest.mark.skipif(not HAS_AV, reason="PyAV (the 'video' extra) is not installed")
WHEN = datetime(2026, 11, 21, 15, 30, 12, 123456)
PNG = (SAMPLES / "b1_fx_basic_no_workflow.png").read_bytes()

EVIL_NAMES = [
    "../../etc/passwd",
    "..\\..\\windows\\system32\\config",
    "/etc/passwd",
    "/",
    "C:\\Windows\\win.ini",
    "C:evil.png",
    "\\\\server\\share\\x.png",
    "a/b/../../../c.png",
    "nul\x00byte.png",
    "\x00",
    "",
    ".",
    "..",
    "...",
    " .. ",
    "~/x.png",
    "CON",
    "con.png",
    "LPT1.txt",
    "Aux .mp4",
    "x" * 300 + ".png",
    "é" * 250 + ".webp",
    "a" * 500,
    'what<>:"|?*.png',
    "line\nbreak\r\t.png",
    ".hidden",
    "trailing. . .",
]


def _assert_plain(name: str) -> None:
    assert name and name not in (".", "..")
    assert not any(ch in name for ch in "/\\\x00:")
    assert len(name.encode()) <= storage.MAX_NAME_BYTES
    assert PureWindowsPath(name).name == name and not PureWindowsPath(name).anchor
    assert name.split(".")[0].strip().upper() not in RESERVED
    assert name == name.strip(" .")


# --------------------------------------------------------------------------- safe names


@pytest.mark.parametrize("subfolder", ["", "fx", "../..", "/abs/dir", "..\\up", "a/../../b"])
@pytest.mark.parametrize("name", EVIL_NAMES)
def test_safe_filename_stays_inside_the_take_folder(tmp_path: Path, name: str, subfolder: str):
    take = tmp_path / "take"
    result = safe_filename(name, subfolder)
    _assert_plain(result)
    written = store_bytes(b"x", take / result)
    assert written.path.resolve().parent == take.resolve()
    assert [p.name for p in take.iterdir()] == [result]


@pytest.mark.parametrize(
    ("name", "subfolder", "expected"),
    [
        ("fx_blend_00001_.png", "", "fx_blend_00001_.png"),
        ("blend_00001_.png", "fx", "fx_blend_00001_.png"),
        ("clip.mp4", "video/run 1", "video_run 1_clip.mp4"),
        ("../../etc/passwd", "", "passwd"),
        ("/abs/dir/x.png", "", "x.png"),
        ("a\\b\\c.flac", "", "c.flac"),
        ("con.png", "", "_con.png"),
        ("", "", "file"),
        ("..", "fx", "fx_file"),
        ("Photo.JPG", "", "Photo.JPG"),
        ("archive.tar.gz", "", "archive.tar.gz"),
        ("invoice\u202egnp.exe", "", "invoicegnp.exe"),  # right-to-left override: "exe.png"
        ("a\u2066b\u2069\u200b\ufeffc.png", "\u202dfx", "fx_abc.png"),  # isolates, zero-width
        ("line\u2028break\x85.png", "", "line_break_.png"),  # separators and C1 controls
    ],
)
def test_safe_filename_examples(name: str, subfolder: str, expected: str):
    assert safe_filename(name, subfolder) == expected


@pytest.mark.parametrize("ext", [".png", ".webp", ".mp4", ".flac"])
def test_long_names_keep_their_extension(ext: str):
    result = safe_filename("n" * 400 + ext)
    assert result.endswith(ext) and len(result.encode()) <= storage.MAX_NAME_BYTES


def test_long_multibyte_name_is_cut_on_a_character_boundary():
    result = safe_filename("ü" * 300 + ".png")
    assert result.endswith(".png")
    assert set(result[:-4]) == {"ü"}


# --------------------------------------------------------------------------- atomic writes


def _chunks_then_fail(parts: list[bytes]) -> Iterator[bytes]:
    yield from parts
    raise RuntimeError("connection dropped")


def test_write_stream_hashes_and_sizes(tmp_path: Path):
    parts = [b"abc", b"", b"def" * 1000, bytearray(b"xyz")]
    dest = tmp_path / "take" / "a.bin"
    stored = write_stream(iter(parts), dest)
    data = b"".join(parts)
    assert stored == StoredFile(dest, hashlib.sha256(data).hexdigest(), len(data))
    assert dest.read_bytes() == data
    assert sorted(os.listdir(dest.parent)) == ["a.bin"]


def test_failing_iterator_leaves_no_final_and_no_temp_file(tmp_path: Path):
    dest = tmp_path / "take" / "a.png"
    with pytest.raises(RuntimeError, match="connection dropped"):
        write_stream(_chunks_then_fail([b"x" * 100_000, b"y" * 10]), dest)
    assert not dest.exists()
    assert os.listdir(dest.parent) == []


def test_failed_overwrite_keeps_the_previous_file(tmp_path: Path):
    dest = tmp_path / "a.png"
    store_bytes(b"old", dest)
    with pytest.raises(RuntimeError):
        write_stream(_chunks_then_fail([b"new"]), dest)
    assert dest.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.png"]


def test_failing_rename_becomes_storage_error_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def refuse(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("core.atomic.os.replace", refuse)
    with pytest.raises(StorageError, match="disk full — free some space"):
        store_bytes(b"data", tmp_path / "a.png")
    assert os.listdir(tmp_path) == []


def test_write_error_becomes_storage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def broken_fsync(_fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("core.atomic.os.fsync", broken_fsync)
    with pytest.raises(StorageError, match="Could not write"):
        store_bytes(b"data", tmp_path / "a.png")
    assert os.listdir(tmp_path) == []


def test_unwritable_folder_becomes_storage_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(StorageError, match="Could not create the folder"):
        store_bytes(b"data", blocker / "a.png")


def test_store_file_copies_and_hashes(tmp_path: Path):
    src = SAMPLES / "c2_fx_flac.flac"
    stored = store_file(src, tmp_path / "out" / "a.flac")
    assert stored.path.read_bytes() == src.read_bytes()
    assert stored.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert stored.size == src.stat().st_size
    assert stat_mode(stored.path) == 0o644 or os.name != "posix"


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_store_file_with_missing_source(tmp_path: Path):
    with pytest.raises(StorageError, match="Could not read .*missing.png"):
        store_file(tmp_path / "missing.png", tmp_path / "out" / "a.png")
    assert os.listdir(tmp_path / "out") == []


# --------------------------------------------------------------------------- the store


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "home")


def test_take_dir_layout(store: ArtifactStore):
    take = store.make_take_dir("image", 12, now=WHEN)
    assert take == store.home / "artifacts" / "image" / "12_20261121-153012-123"
    assert take.is_dir()
    assert re.fullmatch(r"\d+_\d{8}-\d{6}-\d{3}", store.make_take_dir("audio", 3).name)


def test_take_dirs_are_unique(store: ArtifactStore):
    takes = [store.make_take_dir(MediaKind.VIDEO, 7, now=WHEN) for _ in range(3)]
    assert [t.name for t in takes] == [
        "7_20261121-153012-123",
        "7_20261121-153012-123-2",
        "7_20261121-153012-123-3",
    ]
    assert all(t.parent == store.root / "video" for t in takes)


def test_take_dir_refuses_unknown_kind_and_cleans_prompt_id(store: ArtifactStore):
    with pytest.raises(StorageError, match="Unknown artifact kind 'text'"):
        store.make_take_dir("text", 1)
    take = store.make_take_dir("image", "../../x", now=WHEN)
    assert take.parent == store.root / "image"


def test_take_dir_on_unwritable_home(tmp_path: Path):
    (tmp_path / "home").write_bytes(b"not a folder")
    with pytest.raises(StorageError, match="Could not create the take folder"):
        ArtifactStore(tmp_path / "home").make_take_dir("image", 1)


def test_file_in_sanitizes_and_does_not_overwrite(store: ArtifactStore):
    take = store.make_take_dir("image", 1, now=WHEN)
    first = store.file_in(take, "../x.png", "fx")
    assert first == take / "fx_x.png"
    store.store_bytes(PNG, first)
    second = store.file_in(take, "x.png", "fx")
    assert second == take / "fx_x_2.png"
    store.write_stream([PNG], second)
    assert store.file_in(take, "x.png", "fx") == take / "fx_x_3.png"


def test_store_methods_refuse_files_outside_a_take_folder(store: ArtifactStore, tmp_path: Path):
    take = store.make_take_dir("image", 1, now=WHEN)
    src = tmp_path / "src.png"
    src.write_bytes(PNG)
    assert store.store_file(src, take / "a.png").size == len(PNG)
    for dest in (tmp_path / "elsewhere.png", store.root / "loose.png", take / ".." / ".." / "x"):
        with pytest.raises(StorageError, match="Refusing to write"):
            store.store_bytes(b"x", dest)


def test_relative_absolute_round_trip(store: ArtifactStore):
    take = store.make_take_dir("audio", 5, now=WHEN)
    path = store.store_bytes(b"fLaC", take / "a b.flac").path
    rel = store.relative(path)
    assert rel == "artifacts/audio/5_20261121-153012-123/a b.flac"
    assert store.absolute(rel) == path
    assert store.relative(rel) == rel  # a relative path is taken as relative to home
    assert store.relative(str(path)) == rel


def test_relative_through_a_symlinked_home(tmp_path: Path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    store = ArtifactStore(tmp_path / "link")
    assert store.relative(real / "artifacts" / "x.png") == "artifacts/x.png"


@pytest.mark.parametrize("outside", ["/etc/passwd", "../elsewhere/x.png", "artifacts/../../x", "."])
def test_relative_refuses_paths_outside_home(store: ArtifactStore, outside: str):
    with pytest.raises(StorageError, match="outside the data home"):
        store.relative(outside)


@pytest.mark.parametrize(
    "rel",
    [
        "",
        "  ",
        "/etc/passwd",
        "../x",
        "artifacts/../../x",
        "C:/x",
        "C:x",
        "\\\\srv\\x",
        "a\x00b",
        ".",
    ],
)
def test_absolute_refuses_escapes(store: ArtifactStore, rel: str):
    with pytest.raises(StorageError, match="damaged"):
        store.absolute(rel)


def test_discard_removes_a_take_folder(store: ArtifactStore):
    take = store.make_take_dir("video", 9, now=WHEN)
    store.store_bytes(b"\0\0\0\x18ftypisom", take / "a.mp4")
    (take / "sub").mkdir()
    assert store.discard(take) is True
    assert not take.exists()
    assert (store.root / "video").is_dir()
    assert store.discard(take) is False


def test_discard_logs_when_removal_fails(
    store: ArtifactStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    take = store.make_take_dir("video", 9, now=WHEN)
    monkeypatch.setattr("executors.storage.store.shutil.rmtree", lambda *_a, **_k: None)
    assert store.discard(take) is False
    assert "delete it by hand" in caplog.text


def test_discard_refuses_anything_but_a_take_folder(store: ArtifactStore, tmp_path: Path):
    take = store.make_take_dir("image", 1, now=WHEN)
    for victim in (
        store.root,
        store.root / "image",
        store.home,
        tmp_path,
        take / "sub",
        store.root / "text" / "x",
    ):
        with pytest.raises(StorageError, match="Refusing to delete"):
            store.discard(victim)
    assert take.is_dir()


# --------------------------------------------------------------------------- media facts

SAMPLE_FACTS = {
    "b1_fx_basic_no_workflow.png": dict(
        media="image", mime="image/png", width=64, height=64, frames=1, animated=False
    ),
    "b2_fx_blend_subfolder.png": dict(media="image", width=96, height=64, frames=1),
    "c1_fx_anim_3frames.webp": dict(
        media="image",
        mime="image/webp",
        width=64,
        height=64,
        frames=3,
        animated=True,
        duration_s=0.996,
        has_audio=False,
    ),
    "c1_fx_apng_3frames.png": dict(
        media="image", width=64, height=64, frames=3, animated=True, duration_s=0.996
    ),
    "b2_ws_raw_frame_event3_text.bin": dict(media="other", mime="application/octet-stream"),
}
AV_FACTS = {
    "c1_fx_vid_h264.mp4": dict(
        media="video",
        mime="video/mp4",
        width=64,
        height=64,
        fps=6.0,
        frames=6,
        duration_s=1.0,
        has_audio=False,
    ),
    "c1_fx_webm_vp9.webm": dict(
        media="video",
        mime="video/webm",
        width=64,
        height=64,
        fps=6.0,
        frames=6,
        duration_s=1.0,
        has_audio=False,
    ),
    "c2_fx_av_h264_aac.mp4": dict(
        media="video", width=32, height=32, fps=8.0, duration_s=0.5, has_audio=True
    ),
    "c2_fx_flac.flac": dict(
        media="audio", mime="audio/flac", width=None, fps=None, duration_s=0.5, has_audio=True
    ),
    "c2_fx_mp3.mp3": dict(media="audio", mime="audio/mpeg", duration_s=0.5, has_audio=True),
    "c2_fx_opus.opus": dict(media="audio", mime="audio/ogg", duration_s=0.5065, has_audio=True),
}
FACT_KEYS = {"media", "mime", "width", "height", "frames", "duration_s", "fps", "has_audio"}


def _check(facts: dict, expected: dict) -> None:
    assert facts.keys() >= FACT_KEYS
    assert "error" not in facts, facts["error"]
    for key, value in expected.items():
        assert facts[key] == (pytest.approx(value, abs=0.01) if isinstance(value, float) else value)


@pytest.mark.parametrize("name", sorted(SAMPLE_FACTS))
def test_media_facts_of_images_and_others(name: str):
    _check(media_facts(SAMPLES / name), SAMPLE_FACTS[name])


@needs_av
@pytest.mark.parametrize("name", sorted(AV_FACTS))
def test_media_facts_of_video_and_audio(name: str):
    _check(media_facts(SAMPLES / name), AV_FACTS[name])


@pytest.mark.parametrize("name", ["c1_fx_vid_h264.mp4", "c2_fx_flac.flac", "c1_fx_webm_vp9.webm"])
def test_media_facts_without_pyav(name: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` now raises ImportError
    facts = media_facts(SAMPLES / name)
    assert "error" not in facts
    assert facts["media"] == AV_FACTS[name]["media"]
    assert facts["width"] is facts["duration_s"] is facts["fps"] is None


def test_media_facts_of_an_animated_gif(tmp_path: Path):
    frames = [Image.new("RGB", (20, 10), (60 * i, 0, 0)) for i in range(4)]
    path = tmp_path / "a.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    _check(
        media_facts(path),
        dict(
            media="image",
            mime="image/gif",
            width=20,
            height=10,
            frames=4,
            animated=True,
            duration_s=0.2,
            fps=20.0,
        ),
    )


def test_content_wins_over_extension(tmp_path: Path):
    path = tmp_path / "really_a_png.webp"
    Image.new("RGB", (5, 4)).save(path, "PNG")
    _check(media_facts(path), dict(media="image", mime="image/png", width=5, height=4))


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("notes.txt", b"", ("text", "text/plain")),
        ("blob", "héllo wörld\n".encode(), ("text", "text/plain")),
        ("blob", b"\x00\x01\x02", ("other", "application/octet-stream")),
        ("x.mp3", b"\xff\xfb\x90\x00" + bytes(60), ("audio", "audio/mpeg")),
        ("x.m4a", b"\x00\x00\x00\x20ftypM4A " + bytes(20), ("audio", "audio/mp4")),
        ("x.html", b"", ("text", "text/html")),
        ("x.pdf", b"", ("other", "application/pdf")),
    ],
)
def test_guess_media(tmp_path: Path, name: str, data: bytes, expected: tuple[str, str]):
    path = tmp_path / name
    path.write_bytes(data)
    assert guess_media(path) == expected


CORRUPT = {
    "truncated.png": (SAMPLES / "b1_fx_basic_no_workflow.png", 40, "image"),
    "truncated.mp4": (SAMPLES / "c1_fx_vid_h264.mp4", 120, "video"),
    "truncated.flac": (SAMPLES / "c2_fx_flac.flac", 10, "audio"),
    "garbage.webm": (None, 0, "video"),
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_media_facts_of_a_corrupt_file(tmp_path: Path, name: str):
    source, keep, media = CORRUPT[name]
    path = tmp_path / name
    path.write_bytes(source.read_bytes()[:keep] if source else b"\x00garbage" * 50)
    facts = media_facts(path)
    assert facts["media"] == media
    assert facts.keys() >= FACT_KEYS
    if HAS_AV or media == "image":
        assert facts["error"].startswith(f"could not read {name}")


def test_media_facts_of_a_missing_file(tmp_path: Path):
    facts = media_facts(tmp_path / "gone.png")
    assert facts["media"] == "image" and "does not exist" in facts["error"]
