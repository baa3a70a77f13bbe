"""The /object_info of each server a job ran on is cached in the home (written by the job
executor on its worker thread), and `workflows import` then checks a UI-format workflow against
that server's nodes and models with the server stopped (the project's ComfyUI server)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from executors.workflow_import.catalog import CORE_WARNING, ObjectInfoCache

CORPUS = Path(__file__).resolve().parent.parent / "data" / "workflows"


@pytest.fixture
def comfy_profile() -> str:
    return "current"


def test_a_job_caches_object_info_and_import_uses_it_offline(cli, comfy_server, home):
    cli.configure(comfyui={"servers": [{"name": "gpu", "url": comfy_server.url}]})
    prompt_id = cli.add_prompt("image", {"prompt": "a lighthouse", "aspect_ratio": "1:1"})
    code, out, err = cli("generate", prompt_id, "--wait", "--json")
    assert code == 0, err
    cached = ObjectInfoCache(home).load("gpu")
    assert cached is not None and "SaveAudioAdvanced" in cached  # the current profile's nodes
    comfy_server.stop()
    result = cli.json("workflows", "import", str(CORPUS / "ui" / "audio_ace_step_1_t2a_song.json"))
    assert CORE_WARNING not in result["warnings"]
    assert result["missing_nodes"] == []  # SaveAudioAdvanced: on the server, not in 0.3.64
    assert result["missing_models"] == []  # the server has the ACE-Step checkpoint
    template = json.loads((Path(result["path"]) / "template.json").read_text())
    assert template["imported"] == {**template["imported"], "server": "gpu", "runnable": True}
    flux = cli.json("workflows", "import", str(CORPUS / "ui" / "flux_schnell.json"))
    assert [m["file"] for m in flux["missing_models"]] == ["flux1-schnell-fp8.safetensors"]
    assert any("not runnable on server gpu" in w for w in flux["warnings"])


def test_an_imported_workflow_runs_as_a_function(cli, comfy_server, home):
    """Imported from the real ACE-Step template (UI format) against the server's own
    object_info, then generated like any function: the prompt's lyrics and tags land in the
    text encoder the sampler's positive input traces back to."""
    cli.configure(comfyui={"servers": [{"name": "gpu", "url": comfy_server.url}]})
    warm = cli.add_prompt("image", {"prompt": "warm up", "aspect_ratio": "1:1"})
    assert cli("generate", warm, "--wait")[0] == 0  # caches the server's object_info
    song = CORPUS / "ui" / "audio_ace_step_1_t2a_song.json"
    imported = cli.json("workflows", "import", str(song), "--function", "my_song")
    assert imported["warnings"] == []
    data = {"lyrics": "[verse]\nimported at last", "tags": ["folk", "sea"], "duration_s": 20}
    prompt_id = cli.add_prompt("audio", data)
    code, out, err = cli("generate", prompt_id, "--function", "my_song", "--wait", "--json")
    assert code == 0, err
    (result,) = json.loads(out)
    (take,) = result["artifacts"]
    graph = take["metadata"]["workflow"]
    lyrics_node, lyrics_input = imported["parameters"]["lyrics"]["target"].split(".")
    assert graph[lyrics_node]["inputs"][lyrics_input] == "[verse]\nimported at last"
    tags_node, tags_input = imported["parameters"]["tags"]["target"].split(".")
    assert graph[tags_node]["inputs"][tags_input] == "folk, sea"
    assert take["metadata"]["template"]["function"] == "my_song"


def test_a_named_server_never_seen_is_asked_once(cli, comfy_server, home):
    down = f"http://127.0.0.1:{_closed_port()}"
    servers = [{"name": "gpu", "url": comfy_server.url}, {"name": "down", "url": down}]
    cli.configure(comfyui={"servers": servers})
    flux = str(CORPUS / "ui" / "flux_schnell.json")
    result = cli.json("workflows", "import", flux, "--server", "gpu")
    assert ObjectInfoCache(home).load("gpu") is not None
    assert [m["file"] for m in result["missing_models"]] == ["flux1-schnell-fp8.safetensors"]
    assert not any("core nodes" in w for w in result["warnings"])
    result = cli.json("workflows", "import", flux, "--server", "down", "--function", "f2")
    assert result["warnings"][0].startswith("server down did not send its /object_info")
    assert "\n" not in result["warnings"][0]
    assert "no cached /object_info of server 'down'" in result["warnings"][1]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
