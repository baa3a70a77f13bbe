"""A worker killed with SIGKILL mid-batch: the next worker finishes every job, takes each once,
and harvests prompts the server finished meanwhile instead of running them again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from executors.demo_server.profiles import PROFILES
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
IMAGE = '{"prompt": "a lighthouse at dusk"}'
CONFIG = {
    "retry": {"attempts": 6, "initial_s": 0.05, "max_s": 0.2, "jitter_s": 0.01},
    "timeouts": {"connect_s": 1.0, "read_s": 5.0},
}


@pytest.fixture(params=PROFILES)
def comfy_profile(request: pytest.FixtureRequest) -> str:
    """Against the recorded ComfyUI 0.3.64 and a current one."""
    return request.param


@pytest.fixture
def server(comfy_server):
    comfy_server.set_step_delay(0.04)  # 25 steps: about a second a job
    return comfy_server


def worker(home: Path, url: str, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAKEBOARD_")}
    env["TAKEBOARD_COMFYUI_URL"] = url
    return subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "--home", str(home), "worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def queue_jobs(cli, home: Path, count: int) -> list[int]:
    (home / "config.json").write_text(json.dumps(CONFIG))
    ids = []
    for n in range(count):
        code, out, err = cli(
            "prompt", "add", "--kind", "image", "--title", f"p{n}", "--data", IMAGE
        )
        assert code == 0, err
        ids.append(out.strip())
    code, out, err = cli("generate", *ids, "--json")
    assert code == 0, err
    return json.loads(out)


def jobs(cli) -> dict[int, dict]:
    return {job["id"]: job for job in cli.json("jobs", "list")}


def kill_when_running(cli, process: subprocess.Popen, server=None) -> dict[int, dict]:
    """SIGKILL the worker once a job runs and, given the server, once the server has it."""
    try:
        running = wait_for(lambda: any(j["status"] == "running" for j in jobs(cli).values()), 20)
        assert running, "no job started"
        if server is not None:
            assert wait_for(lambda: server.state.number >= 1, 20), "the server never got the prompt"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    return jobs(cli)


def finish(home: Path, url: str) -> None:
    process = worker(home, url, "--until-idle")
    try:
        _, err = process.communicate(timeout=45)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"worker --until-idle did not finish: {err}")
    assert process.returncode == 0, err


def check_every_job_taken_once(cli, home: Path, job_ids: list[int]) -> list[dict]:
    listed = jobs(cli)
    assert [listed[i]["status"] for i in job_ids] == ["done"] * len(job_ids), listed
    artifacts = cli.json("artifacts", "list")
    assert sorted(a["job_id"] for a in artifacts) == sorted(job_ids)
    assert len({a["sha256"] for a in artifacts}) == len(artifacts)
    for artifact in artifacts:
        path = Path(artifact["path"])
        path = path if path.is_absolute() else home / path
        assert path.is_file() and not path.name.endswith(".part")
    for prompt in cli.json("prompt", "list"):
        assert prompt["status"] == "ready", prompt
    return artifacts


def test_worker_killed_mid_batch_finishes_every_job_once(cli, home, server):
    job_ids = queue_jobs(cli, home, 4)
    before = kill_when_running(cli, worker(home, server.url))
    assert any(j["status"] == "running" for j in before.values())
    finish(home, server.url)
    check_every_job_taken_once(cli, home, job_ids)


def test_prompt_finished_while_the_worker_was_dead_is_harvested_not_rerun(cli, home, server):
    (job_id,) = queue_jobs(cli, home, 1)
    kill_when_running(cli, worker(home, server.url), server)
    assert wait_for(
        lambda: server.state.number == 1 and not server.state.executor.queue.remaining(), 20
    )
    history = requests.get(f"{server.url}/history", timeout=5).json()
    assert len(history) == 1
    (remote_id,) = history
    finish(home, server.url)
    (artifact,) = check_every_job_taken_once(cli, home, [job_id])
    assert server.state.number == 1, "the finished prompt was submitted again"
    assert artifact["metadata"]["remote_prompt_id"] == remote_id
