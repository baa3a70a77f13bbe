"""The /object_info of each server a job ran on is cached in the home (written by the job
executor on its worker thread), and `workflows import` then checks a UI-format workflow against
that server's nodes and models with the server stopped (the project's ComfyUI server)."""

from __future__ import annotations

import json
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
