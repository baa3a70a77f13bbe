"""`generate --variations N` and `--grid NAME=V1,V2` (issue 14, part E): one batch of jobs whose
takes carry {id, axes, cell}, run against the project's ComfyUI protocol server; a bad axis is
one line and exit 2 before anything is queued."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def comfy_profile() -> str:
    return "current"  # batches do not depend on the server's version


@pytest.fixture
def server(comfy_server, monkeypatch):
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", comfy_server.url)
    return comfy_server


def run(cli, *args) -> list[dict]:
    code, out, err = cli("generate", *args, "--wait", "--json")
    assert code == 0, err
    return json.loads(out)


def takes(results: list[dict]) -> list[dict]:
    return [artifact for result in results for artifact in result["artifacts"]]


def test_variations_make_one_batch_of_new_seeds(cli, server):
    prompt_id = cli.add_prompt("image", {"prompt": "a fox in snow"})
    made = takes(run(cli, prompt_id, "--variations", "3"))
    assert len(made) == 3
    batches = [take["metadata"]["batch"] for take in made]
    assert len({batch["id"] for batch in batches}) == 1
    (axis,) = batches[0]["axes"]
    assert axis["name"] == "seed" and len(set(axis["values"])) == 3
    assert sorted(batch["cell"] for batch in batches) == [[0], [1], [2]]
    for take, batch in zip(made, batches, strict=True):
        assert take["metadata"]["seed"] == axis["values"][batch["cell"][0]]


def test_grid_over_steps_and_cfg_shares_one_seed(cli, server):
    prompt_id = cli.add_prompt("image", {"prompt": "a lighthouse"})
    made = takes(run(cli, prompt_id, "--grid", "steps=12,20,30", "--grid", "cfg=4,7"))
    assert len(made) == 6
    cells = {tuple(t["metadata"]["batch"]["cell"]): t["metadata"]["values"] for t in made}
    assert sorted(cells) == [(r, c) for r in range(3) for c in range(2)]
    assert cells[(2, 1)]["steps"] == 30 and cells[(2, 1)]["cfg"] == 7.0
    assert cells[(0, 0)]["steps"] == 12 and cells[(0, 0)]["cfg"] == 4.0
    assert len({t["metadata"]["seed"] for t in made}) == 1
    axes = made[0]["metadata"]["batch"]["axes"]
    assert axes == [
        {"name": "steps", "values": [12, 20, 30]},
        {"name": "cfg", "values": [4.0, 7.0]},
    ]


def test_grid_over_tiers_runs_each_tier(cli, server):
    prompt_id = cli.add_prompt("image", {"prompt": "a boat"})
    made = takes(run(cli, prompt_id, "--grid", "tier=low,high"))
    assert sorted(t["metadata"]["tier"] for t in made) == ["high", "low"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--grid", "stepz=1,2"), "no parameter 'stepz' — use one of: tier, prompt"),
        (("--grid", "steps=ten"), "steps: 'ten' is not a whole number"),
        (("--grid", "cfg=x"), "cfg: 'x' is not a number"),
        (("--grid", "tier=ultra"), "'ultra' is not one of: low, standard"),
        (("--grid", "steps"), "write NAME=V1,V2"),
        (("--grid", "steps="), "give at least one value"),
        (("--grid", "steps=1,2", "--grid", "steps=3"), "each parameter once"),
        (("--grid", "steps=1", "--grid", "cfg=2", "--grid", "seed=3"), "one or 2 axes"),
        (("--variations", "0"), "a count"),
        (("--variations", "2", "--grid", "cfg=1"), "not both"),
    ],
)
def test_bad_axes_are_one_line_and_queue_nothing(cli, args, words):
    prompt_id = cli.add_prompt("image", {"prompt": "x"})
    code, _out, err = cli("generate", prompt_id, *args)
    assert code == 2, err
    assert words in err and len(err.strip().splitlines()) == 1
    assert cli.json("jobs", "list") == []
