"""A current ComfyUI and a 0.3.64 one in the same pool, batches on both: every job works. Images
run on either; a song (ACE-Step 1.5 nodes only a current server has) that lands on the old server
moves to the new one instead of failing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from executors.demo_server import ComfyServer

CONFIG = {
    "retry": {"attempts": 4, "initial_s": 0.05, "max_s": 0.2, "jitter_s": 0.01},
    "timeouts": {"connect_s": 1.0, "read_s": 5.0},
}
AUDIO = (".mp3", ".flac", ".opus")
SONG = {"lyrics": "[verse]\nsails up", "tags": ["sea shanty"], "duration_s": 5}


@pytest.fixture
def pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    servers = {
        profile: ComfyServer(tmp_path / profile, profile=profile, step_delay=0.01)
        for profile in ("0.3.64", "current")
    }
    urls = [server.start() for server in servers.values()]
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", ",".join(urls))
    yield servers
    for server in servers.values():
        server.stop()


def saved(server: ComfyServer, pattern: str) -> int:
    return len(list(server.output_dir.rglob(pattern)))


def test_a_batch_on_old_and_new_servers_all_done(cli, home: Path, pool):
    (home / "config.json").write_text(json.dumps(CONFIG))
    images = [cli.add_prompt("image", {"prompt": f"lighthouse {n}"}) for n in range(6)]
    songs = [cli.add_prompt("audio", SONG) for _ in range(3)]

    code, out, err = cli("generate", *songs, *images, "--wait", "--json")

    assert code == 0, err
    results = json.loads(out)
    assert [r["status"] for r in results] == ["done"] * 9
    servers = {r["artifacts"][0]["metadata"]["server"]["url"]: r for r in results}
    assert set(servers) == {server.url for server in pool.values()}  # both took work
    song_servers = {r["artifacts"][0]["metadata"]["server"]["url"] for r in results[:3]}
    assert song_servers == {pool["current"].url}
    old, new = (pool[p].url.split("//")[1] for p in ("0.3.64", "current"))
    assert f"cannot run on {old}" in err and f"— trying {new}" in err  # the path was taken
    assert saved(pool["0.3.64"], "*.png") + saved(pool["current"], "*.png") == 6
    songs_saved = sum(saved(server, f"*{ext}") for server in pool.values() for ext in AUDIO)
    assert songs_saved == 3  # each song ran once
