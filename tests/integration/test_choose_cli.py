"""The CLI for choosing takes and a prompt's history (issue 14): artifacts rate/circle, their
fields in `artifacts list --json`, `prompt history`, and `generate --from-take` after an edit,
against the project's ComfyUI protocol server."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def comfy_profile() -> str:
    return "current"  # rating and history do not depend on the server's version


@pytest.fixture
def server(comfy_server, monkeypatch):
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", comfy_server.url)
    return comfy_server


def generate(cli, *args) -> list[dict]:
    code, out, err = cli("generate", *args, "--wait", "--json")
    assert code == 0, err
    return json.loads(out)


def takes_of(cli, prompt_id: str) -> dict[int, dict]:
    return {row["id"]: row for row in cli.json("artifacts", "list", "--prompt", prompt_id)}


def two_takes(cli) -> tuple[str, int, int]:
    prompt_id = cli.add_prompt("image", {"prompt": "a fox in snow"})
    generate(cli, prompt_id)
    generate(cli, prompt_id)
    first, second = sorted(takes_of(cli, prompt_id))
    return prompt_id, first, second


def test_rate_and_circle_show_in_artifacts_list(cli, server):
    prompt_id, first, second = two_takes(cli)
    assert cli("artifacts", "rate", str(first), "4")[0] == 0
    assert cli("artifacts", "circle", str(first))[0] == 0
    assert cli("artifacts", "circle", str(second))[0] == 0  # moves the circle
    takes = takes_of(cli, prompt_id)
    assert (takes[first]["rating"], takes[first]["circled"]) == (4, False)
    assert (takes[second]["rating"], takes[second]["circled"]) == (0, True)
    assert [p["id"] for p in cli.json("prompt", "list", "--min-rating", "4")] == [int(prompt_id)]
    assert cli.json("prompt", "list", "--min-rating", "5") == []
    assert cli("artifacts", "circle", str(second), "--off")[0] == 0
    assert cli.json("prompt", "list", "--circled") == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("rate", "1", "6"), "rating — give a whole number from 0"),
        (("rate", "1", "-1"), "rating — give a whole number from 0"),
        (("rate", "1", "x"), "rating — give a whole number from 0"),
        (("rate", "999", "3"), "artifact 999 does not exist"),
        (("circle", "999"), "artifact 999 does not exist"),
        (("circle", "0"), "is not an id"),
    ],
)
def test_bad_id_or_rating_is_one_line_exit_2(cli, args, words):
    cli.add_prompt("image", {"prompt": "x"})
    code, out, err = cli("artifacts", *args)
    assert code == 2 and out == ""
    assert words in err and len(err.strip().splitlines()) == 1


def test_history_keeps_every_saved_version(cli):
    prompt_id = cli.add_prompt("image", {"prompt": "a fox"}, title="Fox")
    assert cli("prompt", "edit", prompt_id, "--data", '{"prompt": "a red fox"}')[0] == 0
    assert cli("prompt", "edit", prompt_id, "--favorite")[0] == 0  # not a new version
    history = cli.json("prompt", "history", prompt_id)
    assert [(v["version"], v["data"]["prompt"], v["current"]) for v in history] == [
        (2, "a red fox", True),
        (1, "a fox", False),
    ]
    assert cli.json("prompt", "show", prompt_id)["version"] == 2
    code, _out, err = cli("prompt", "history", "999")
    assert code == 2 and "prompt 999 does not exist" in err


def test_from_take_after_an_edit_runs_the_takes_own_values(cli, server):
    prompt_id = cli.add_prompt("image", {"prompt": "a lighthouse at dusk"})
    (made,) = generate(cli, prompt_id)
    (take,) = made["artifacts"]
    assert take["metadata"]["prompt_version"] == 1
    assert cli("prompt", "edit", prompt_id, "--data", '{"prompt": "a castle at noon"}')[0] == 0

    (again,) = generate(cli, "--from-take", str(take["id"]))
    (remade,) = again["artifacts"]
    assert again["status"] == "done" and remade["prompt_id"] == int(prompt_id)
    assert remade["metadata"]["prompt_version"] == 1
    assert remade["metadata"]["values"]["prompt"] == "a lighthouse at dusk"
    assert remade["metadata"]["seed"] == take["metadata"]["seed"]
    assert "a lighthouse at dusk" in json.dumps(remade["metadata"]["workflow"])

    (fresh,) = generate(cli, prompt_id)  # the prompt itself runs its edited text
    (new_take,) = fresh["artifacts"]
    assert new_take["metadata"]["prompt_version"] == 2
    assert new_take["metadata"]["values"]["prompt"] == "a castle at noon"


def test_from_take_refuses_ids_too_and_old_takes(cli, ctx):
    prompt_id = cli.add_prompt("image", {"prompt": "x"})
    take = ctx.artifacts.add(
        prompt_id=int(prompt_id), kind="image", path="a.png", sha256="0", size=1
    )
    code, _out, err = cli("generate", prompt_id, "--from-take", str(take.id))
    assert code == 2 and "not both" in err
    code, _out, err = cli("generate", "--from-take", str(take.id))
    assert code == 2 and "older than prompt history" in err and len(err.strip().splitlines()) == 1
    code, _out, err = cli("generate")
    assert code == 2 and "give prompt ids or --from-take" in err
