"""`workflows tier FUNCTION TIER --set NAME=VALUE`: a tier added to an imported function as
overrides of its standard tier, checked by the template loader, run on the project's ComfyUI
protocol server; bad names and values are one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent.parent / "data" / "workflows"
FLUX = CORPUS / "api" / "examples_flux_flux_dev_checkpoint_example.json"
SDXL = CORPUS / "api" / "examples_sdxl_sdxl_simple_example.json"


@pytest.fixture
def imported(cli) -> dict:
    return cli.json("workflows", "import", str(SDXL), "--function", "my_sdxl")


def test_a_tier_pins_settings_over_the_standard_workflow(cli, imported, home):
    sets = ["--set", "steps=12", "--set", "width=768", "--set", "height=768"]
    result = cli.json("workflows", "tier", "my_sdxl", "low", *sets)
    assert result["settings"] == {"steps": 12, "width": 768, "height": 768}
    written = json.loads((home / "workflows/my_sdxl/low/template.json").read_text())
    assert written["workflow"] == "../standard/workflow.json"
    params = imported["parameters"]
    pinned = {params[name]["target"]: value for name, value in result["settings"].items()}
    assert written["quality_parameters"] == pinned
    assert not {"steps", "width", "height"} & set(written["parameters"])
    (info,) = [f for f in cli.json("functions") if f["name"] == "my_sdxl"]
    assert info["tiers"] == ["low", "standard"]
    again = cli.json("workflows", "tier", "my_sdxl", "low", "--set", "steps=8")
    assert again["settings"] == {"steps": 8, "width": 768, "height": 768}  # earlier ones kept


def test_the_tier_runs_with_its_settings(cli, comfy_server, home):
    cli.configure(comfyui={"servers": [{"name": "gpu", "url": comfy_server.url}]})
    cli.json("workflows", "import", str(FLUX), "--function", "my_flux", "--server", "gpu")
    sets = ["--set", "steps=7", "--set", "sampler=dpmpp_2m", "--set", "width=768"]
    cli.json("workflows", "tier", "my_flux", "low", *sets)
    prompt_id = cli.add_prompt("image", {"prompt": "a red boat", "aspect_ratio": "16:9"})
    code, out, err = cli(
        "generate", prompt_id, "--function", "my_flux", "--quality", "low", "--wait", "--json"
    )
    assert code == 0, err
    (take,) = json.loads(out)[0]["artifacts"]
    graph = take["metadata"]["workflow"]
    sampler = graph["31"]["inputs"]
    assert (sampler["steps"], sampler["sampler_name"]) == (7, "dpmpp_2m")
    assert graph["27"]["inputs"]["width"] == 768  # pinned: the aspect ratio does not move it
    assert graph["6"]["inputs"]["text"] == "a red boat"
    assert take["metadata"]["tier"] == "low"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["my_sdxl", "low", "--set", "steps=many"], "'many' is not a number"),
        (["my_sdxl", "low", "--set", "stepz=3"], "no such parameter"),
        (["my_sdxl", "low", "--set", "steps=0"], "0 is out of range"),
        (["my_sdxl", "low", "--set", "sampler=nope"], "'nope' is not a choice"),
        (["my_sdxl", "low", "--set", "steps"], "is not NAME=VALUE"),
        (["my_sdxl", "low"], "give at least one NAME=VALUE"),
        (["my_sdxl", "standard", "--set", "steps=3"], "cannot be added"),
        (["my_sdxl", "ultra", "--set", "steps=3"], "cannot be added"),
        (["nothing", "low", "--set", "steps=3"], "import the workflow first"),
    ],
)
def test_bad_tiers_are_one_line_and_exit_2(cli, imported, home, args, message):
    code, out, err = cli("workflows", "tier", *args)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1
    assert not (home / "workflows/my_sdxl/low").exists()


def test_a_tier_with_its_own_workflow_is_not_overwritten(cli, imported, home):
    cli.json("workflows", "import", str(SDXL), "--function", "my_sdxl", "--quality", "high")
    code, _, err = cli("workflows", "tier", "my_sdxl", "high", "--set", "steps=40")
    assert code == 2 and "holds its own workflow" in err
    assert "tier_override" not in (home / "workflows/my_sdxl/high/template.json").read_text()
