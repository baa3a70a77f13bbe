"""A batch through the engine while the server fails at random: every HTTP answer fails 20 % of
the time (500/502/503, before or after the server acted) and the WebSocket drops every 50
messages. Every job must end `done` with exactly one take, and the server must run each prompt
once — on the recorded 0.3.64 profile and on a current one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from executors.demo_server import ComfyServer
from executors.demo_server.profiles import PROFILES

JOBS = 20
CONFIG = {
    "log_level": "INFO",
    "retry": {"attempts": 6, "initial_s": 0.05, "max_s": 0.3, "jitter_s": 0.02},
    "timeouts": {"connect_s": 1.0, "read_s": 5.0},
}


@pytest.fixture(params=PROFILES)
def comfy_profile(request: pytest.FixtureRequest) -> str:
    return request.param


def test_a_batch_survives_random_faults(cli, comfy_server: ComfyServer, home: Path, monkeypatch):
    (home / "config.json").write_text(json.dumps(CONFIG))
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", comfy_server.url)
    ids = [cli.add_prompt("image", {"prompt": f"lighthouse {n}"}) for n in range(JOBS)]
    comfy_server.flaky_http(rate=0.2, statuses=(500, 502, 503), seed=11, when="both")
    comfy_server.drop_websocket_every(50)

    code, out, err = cli("generate", *ids, "--wait", "--json")

    comfy_server.clear_faults()
    results = json.loads(out)
    assert code == 0, err
    assert [r["status"] for r in results] == ["done"] * JOBS
    assert all(len(r["artifacts"]) == 1 for r in results)
    saved = [p for p in comfy_server.output_dir.rglob("*.png")]
    assert len(saved) == JOBS  # one execution per prompt: nothing ran twice
    remote_ids = {r["artifacts"][0]["metadata"]["remote_prompt_id"] for r in results}
    assert len(remote_ids) == JOBS
    log = (home / "logs" / "takeboard.log").read_text(encoding="utf-8").splitlines()
    retried = [line for line in log if "— retrying (" in line]
    assert len(retried) > JOBS  # the faults did fire, and were ridden out
    assert any("answered 50" in message for message in retried)
