"""The demo backend's placeholder media (issue 14, part E): the project's ComfyUI protocol server
started with demo_media=True (as `main.py --demo` does) draws pictures from the prompt and the
seed, songs that follow the duration, short moving videos, each labelled "demo, no AI model";
without the switch the savers still write the recorded samples."""

from __future__ import annotations

import hashlib
import json

import av
import pytest
from PIL import Image, ImageChops

from core.shipped import bundled_workflows
from executors.demo_server import demo_media
from executors.demo_server.media import SAMPLE_FILES, SAMPLES
from executors.demo_server.server import ComfyServer


@pytest.fixture
def demo_server(tmp_path, monkeypatch):
    server = ComfyServer(tmp_path / "demo", profile="current", demo_media=True)
    server.start()
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", server.url)
    yield server
    server.stop()


def made(cli, prompt_id: str, *args: str) -> list[dict]:
    code, out, err = cli("generate", prompt_id, *args, "--wait", "--json")
    assert code == 0, err
    return [a for result in json.loads(out) for a in result["artifacts"]]


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pictures_follow_the_prompt_and_the_seed(cli, home, demo_server):
    data = {"prompt": "a red fox", "params": {"width": 320, "height": 256}}
    takes = made(cli, cli.add_prompt("image", data), "--variations", "2")
    files = [home / take["path"] for take in takes]
    assert len({digest(path) for path in files}) == 2  # a different picture per seed
    with Image.open(files[0]) as picture:
        assert picture.size == (320, 256)
        assert len(picture.convert("RGB").getcolors(1 << 16) or range(1 << 16)) > 100
        assert "prompt" in picture.info  # the graph is embedded as ComfyUI does
    other = made(cli, cli.add_prompt("image", {**data, "prompt": "a blue whale"}), "--seed", "1")
    again = made(cli, cli.add_prompt("image", {**data, "prompt": "a blue whale"}), "--seed", "1")
    assert digest(home / other[0]["path"]) == digest(home / again[0]["path"])  # same cue
    grid = made(cli, cli.add_prompt("image", data), "--grid", "steps=4,40", "--grid", "cfg=2,9")
    assert len({digest(home / take["path"]) for take in grid}) == 4  # the grid shows each value


def test_songs_follow_the_duration_up_to_ten_seconds(cli, home, demo_server):
    short = made(cli, cli.add_prompt("audio", {"lyrics": "[instrumental]", "duration_s": 3}))
    long = made(cli, cli.add_prompt("audio", {"lyrics": "la la", "duration_s": 60, "tempo": 90}))
    for take, seconds in ((short[0], 3.0), (long[0], 10.0)):
        assert take["duration_s"] == pytest.approx(seconds, abs=0.2)
        assert digest(home / take["path"]) != digest(SAMPLES / SAMPLE_FILES["mp3"])


def test_videos_move(cli, home, demo_server):
    (take,) = made(
        cli, cli.add_prompt("video", {"prompt": "waves", "params": {"width": 320, "height": 256}})
    )
    with av.open(str(home / take["path"])) as container:
        frames = [frame.to_image() for frame in container.decode(video=0)]
    assert len(frames) >= 2 and frames[0].size == (320, 256)
    assert ImageChops.difference(frames[0], frames[-1]).getbbox() is not None


def test_without_the_switch_the_samples_are_copied(cli, home, comfy_server, monkeypatch):
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", comfy_server.url)
    (take,) = made(
        cli, cli.add_prompt("image", {"prompt": "x", "params": {"width": 64, "height": 64}})
    )
    with Image.open(home / take["path"]) as picture:
        assert len(picture.convert("RGB").getcolors()) == 1  # the protocol fake's solid PNG


@pytest.mark.parametrize("kind", ["flac", "mp3", "opus", "webp", "apng", "webm", "mp4"])
def test_every_sample_kind_has_a_demo_file(kind):
    graph = json.loads((bundled_workflows() / "create_audio/standard/workflow.json").read_text())
    with demo_media.drawn(kind, graph, (96, 64), 4) as path:
        if kind in ("webp", "apng"):
            with Image.open(path) as animation:
                assert animation.n_frames == demo_media.ANIMATION_FRAMES
        else:
            with av.open(str(path)) as container:
                assert container.duration and container.duration > 0


def test_cue_reads_words_seed_tempo_and_duration_from_bundled_graphs():
    root = bundled_workflows()
    image = json.loads((root / "create_image/standard/workflow.json").read_text())
    image["15"]["inputs"].update(string_a="a lighthouse", string_b="oil painting")
    image["3"]["inputs"].update(seed=7, steps=30, cfg=4.5)
    cue = demo_media.cue_of(image)
    assert (cue.text, cue.seed, cue.steps, cue.cfg) == ("a lighthouse, oil painting", 7, 30, 4.5)
    song = json.loads((root / "create_audio/standard/workflow.json").read_text())
    song["94"]["inputs"].update(tags="sea shanty", bpm=90)
    song["110"]["inputs"]["value"] = 30.0
    cue = demo_media.cue_of(song)
    assert (cue.text, cue.tempo, cue.seconds) == ("sea shanty", 90, 30.0)
    assert demo_media.cue_of(["not", "a graph"]) == demo_media.Cue()


def test_the_tempo_sets_the_notes():
    slow, fast = (demo_media.Cue("x", 1, tempo, 4.0) for tempo in (60, 180))
    assert len(demo_media.song_samples(slow)) == 4 * demo_media.SONG_RATE * 2
    assert demo_media.song_samples(slow) != demo_media.song_samples(fast)
    assert demo_media.song_samples(slow) == demo_media.song_samples(slow)
