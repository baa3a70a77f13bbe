"""Downloads are bounded and checked (issue 15 item 4, storage side): a take file that is too
large, stalls, or is not the media its name says fails the job with one line and stores
nothing. Through the CLI against the project's ComfyUI server and its /view fault modes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import StorageError
from executors.demo_server.media import SAMPLES
from executors.downloads import STALL_BYTES, Limits, bounded
from executors.storage import ArtifactStore

MIB = 1024 * 1024


@pytest.fixture
def run_image(cli, comfy_server, home):
    """Generate one image with the given downloads config; (exit code, job result, stderr)."""

    def run(**downloads):
        cli.configure(
            comfyui={"servers": [{"name": "fake", "url": comfy_server.url}]}, downloads=downloads
        )
        prompt_id = cli.add_prompt("image", {"prompt": "a lighthouse"})
        code, out, err = cli("generate", prompt_id, "--wait", "--json")
        return code, (json.loads(out)[0] if out.strip() else None), err

    return run


def assert_nothing_stored(cli, home: Path) -> None:
    assert cli.json("artifacts", "list") == []
    assert [p for p in (home / "artifacts").rglob("*") if p.is_file()] == []


def test_a_body_over_max_bytes_fails_the_job(run_image, comfy_server, cli, home):
    comfy_server.oversized_view(3 * MIB, declared=False)
    code, result, err = run_image(max_bytes=MIB)
    assert code == 1 and result["status"] == "failed", err
    assert f"larger than {MIB} bytes (downloads.max_bytes)" in result["error"]
    assert_nothing_stored(cli, home)


def test_a_stalled_body_fails_the_job_while_the_read_is_blocked(run_image, comfy_server, cli, home):
    comfy_server.slow_view(0.2)  # one byte every 0.2 s: never 16 KiB in a 1 s window
    code, result, err = run_image(stall_s=1.0)
    assert code == 1 and result["status"] == "failed", err
    assert "the download stalled" in result["error"] and "downloads.stall_s" in result["error"]
    assert_nothing_stored(cli, home)


def test_a_login_page_is_not_saved_as_a_png(run_image, comfy_server, cli, home):
    comfy_server.html_view()
    code, result, err = run_image()
    assert code == 1 and result["status"] == "failed", err
    # the client's Content-Type check or, behind it, the storage's magic-bytes check
    assert "html" in result["error"].lower() and "png" in result["error"].lower()
    assert "\n" not in result["error"]
    assert_nothing_stored(cli, home)


def test_a_good_body_within_the_limits_is_stored(run_image, cli, home):
    code, result, err = run_image(max_bytes=64 * MIB, stall_s=5.0)
    assert code == 0, err
    assert Path(result["artifacts"][0]["path"]).is_file()


# --- the guard and the media check on their own --------------------------------------------


def test_past_the_deadline_nothing_is_stored(tmp_path: Path):
    store = ArtifactStore(tmp_path, Limits(stall_s=60.0, total_s=60.0))
    take = store.make_take_dir("image", 1)
    endless = iter(lambda: b"\0" * STALL_BYTES, None)
    with pytest.raises(StorageError, match="longer than the job's time limit"):
        store.write_stream(endless, take / "a.png", deadline=0.0)  # long past
    assert list(take.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "body", "says"),
    [
        ("a.png", b"", "an empty file"),
        ("a.png", b"GIF89a" + b"\0" * 32, "image/gif data"),
        ("a.mp4", b"<!DOCTYPE html><html>sign in</html>", "an HTML page"),
        ("a.flac", b"plain words", "text"),
        ("a.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "damaged or incomplete"),
    ],
)
def test_wrong_or_broken_media_is_refused(tmp_path: Path, name: str, body: bytes, says: str):
    store = ArtifactStore(tmp_path)
    take = store.make_take_dir("image", 1)
    with pytest.raises(StorageError, match=says):
        store.store_bytes(body, take / name)
    assert list(take.iterdir()) == []


def test_every_sample_passes_the_media_check(tmp_path: Path):
    store = ArtifactStore(tmp_path)
    take = store.make_take_dir("video", 1)
    samples = sorted(SAMPLES.glob("*.*"))
    stored = [store.store_file(s, take / s.name) for s in samples if s.suffix != ".bin"]
    assert len(stored) == len([s for s in samples if s.suffix != ".bin"]) > 10


def test_source_errors_pass_through_unchanged():
    def broken():
        yield b"x"
        raise ConnectionResetError("dropped")

    with pytest.raises(ConnectionResetError, match="dropped"):
        list(bounded(broken(), Limits(), deadline=float("inf"), name="a.png"))
