"""The CLI contract: exit codes, one-line errors, JSON shapes, nothing written on bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.jobs import JobSpec

ROOT = Path(__file__).resolve().parents[2]
IMAGE = '{"prompt": "a red fox", "aspect_ratio": "16:9"}'


def add(cli, kind="image", title="Fox", data=IMAGE, *extra):
    code, out, err = cli("prompt", "add", "--kind", kind, "--title", title, "--data", data, *extra)
    assert code == 0, err
    return int(out)


def test_add_prints_only_the_id_and_show_round_trips(cli):
    code, out, err = cli(
        "prompt",
        "add",
        "--kind",
        "image",
        "--title",
        "Fox",
        "--data",
        IMAGE,
        "--tag",
        "animals",
        "--favorite",
    )
    assert (code, err) == (0, "") and out.strip().isdigit()
    shown = cli.json("prompt", "show", out.strip())
    assert shown["title"] == "Fox" and shown["kind"] == "image" and shown["favorite"] is True
    assert shown["data"]["prompt"] == "a red fox" and shown["data"]["aspect_ratio"] == "16:9"
    assert shown["tags"] == ["animals"] and shown["status"] == "draft"
    assert shown["created_at"].endswith("+00:00")


def test_list_filters_and_search(cli):
    fox = add(cli)
    song = add(cli, "audio", "Shanty", '{"lyrics": "[verse]\\nheave away", "tags": ["folk"]}')
    video = add(cli, "video", "Waves", '{"prompt": "waves", "frames": 33}')
    assert [p["id"] for p in cli.json("prompt", "list")] == [video, song, fox]
    assert [p["id"] for p in cli.json("prompt", "list", "--search", "heave")] == [song]
    assert [p["id"] for p in cli.json("prompt", "list", "--kind", "video")] == [video]
    assert [p["id"] for p in cli.json("prompt", "list", "--status", "draft", "--limit", "1")] == [
        video
    ]
    code, out, _ = cli("prompt", "list")
    assert code == 0 and "Shanty" in out


def test_edit_delete_restore(cli):
    prompt_id = str(add(cli))
    assert (
        cli("prompt", "edit", prompt_id, "--data", '{"prompt": "a grey wolf"}', "--title", "Wolf")[
            0
        ]
        == 0
    )
    shown = cli.json("prompt", "show", prompt_id)
    assert shown["title"] == "Wolf" and shown["data"]["prompt"] == "a grey wolf"
    assert cli("prompt", "delete", prompt_id)[0] == 0
    assert cli.json("prompt", "list") == []
    assert [p["id"] for p in cli.json("prompt", "list", "--trash")] == [int(prompt_id)]
    assert cli("prompt", "restore", prompt_id)[0] == 0
    assert cli.json("prompt", "show", prompt_id)["deleted_at"] is None


def test_data_from_a_file(cli, tmp_path):
    data = tmp_path / "fox.json"
    data.write_text(IMAGE)
    prompt_id = add(cli, "image", "Fox", f"@{data}")
    assert cli.json("prompt", "show", str(prompt_id))["data"]["prompt"] == "a red fox"


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_export_then_import_round_trip(cli, tmp_path, suffix):
    add(cli, "image", "Fox", IMAGE, "--tag", "a")
    add(cli, "audio", "Song", '{"lyrics": "la la", "tempo": 90}')
    target = tmp_path / f"out{suffix}"
    assert cli("prompt", "export", str(target))[0] == 0
    before = [
        {k: p[k] for k in ("kind", "title", "data", "tags")} for p in cli.json("prompt", "list")
    ]
    other = type(cli)(tmp_path / "other home", cli.capsys)
    code, out, err = other("prompt", "import", str(target), "--json")
    assert code == 0, err
    assert len(json.loads(out)) == 2
    after = [
        {k: p[k] for k in ("kind", "title", "data", "tags")} for p in other.json("prompt", "list")
    ]
    assert after == before


def test_artifacts_and_jobs_lists(cli, ctx):
    prompt_id = add(cli)
    job = ctx.jobs.add(prompt_id=prompt_id, spec=JobSpec("create_image", "standard"))
    ctx.artifacts.add(
        prompt_id=prompt_id,
        kind="image",
        path="artifacts/image/x.png",
        preview_path="thumbnails/x.webp",
        sha256="ab",
        size=2,
        job_id=job.id,
        metadata={"seed": 3},
    )
    artifacts = cli.json("artifacts", "list", "--prompt", str(prompt_id))
    assert len(artifacts) == 1
    item = artifacts[0]
    assert Path(item["path"]).is_absolute() and item["path"].endswith("artifacts/image/x.png")
    assert item["preview_path"].endswith("thumbnails/x.webp")
    assert {k: item[k] for k in ("prompt_id", "kind", "sha256", "metadata")} == {
        "prompt_id": prompt_id,
        "kind": "image",
        "sha256": "ab",
        "metadata": {"seed": 3},
    }
    assert cli.json("artifacts", "list") == artifacts
    jobs = cli.json("jobs", "list")
    assert jobs[0]["id"] == job.id and jobs[0]["status"] == "queued"
    assert {"prompt_id", "attempts", "error", "backend"} <= set(jobs[0])
    assert cli.json("jobs", "list", "--status", "done") == []


BAD_INPUT = [
    (["prompt", "add", "--kind", "image", "--title", "x", "--data", "{bad"], "--data: not valid"),
    (["prompt", "add", "--kind", "picture", "--title", "x", "--data", IMAGE], "kind: unknown"),
    (["prompt", "add", "--kind", "image", "--title", "x", "--data", "{}"], "data.prompt: required"),
    (
        ["prompt", "add", "--kind", "image", "--title", "x", "--data", '{"prompt": 1}'],
        "data.prompt: expected text",
    ),
    (["prompt", "add", "--kind", "image", "--title", " ", "--data", IMAGE], "title: is empty"),
    (["prompt", "add", "--kind", "image", "--title", "x"], "required: --data"),
    (
        ["prompt", "add", "--kind", "image", "--title", "x", "--data", "@/nonexistent.json"],
        "cannot read it",
    ),
    (["prompt", "show", "42"], "prompt 42 does not exist"),
    (["prompt", "show", "abc"], "argument id: 'abc' is not an id"),
    (["prompt", "edit", "42", "--title", "x"], "prompt 42 does not exist"),
    (["prompt", "delete", "42"], "prompt 42 does not exist"),
    (["prompt", "list", "--kind", "sound"], "--kind: unknown value 'sound'"),
    (["prompt", "list", "--status", "weird"], "--status: unknown value"),
    (["prompt", "list", "--limit", "0"], "argument --limit: 0 is not a count"),
    (["prompt", "import", "/nonexistent.json"], "cannot read it"),
    (["artifacts", "list", "--prompt", "42"], "prompt 42 does not exist"),
    (["jobs", "list", "--status", "lost"], "--status: unknown value"),
    (["frobnicate"], "invalid choice"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(cli, args, message):
    add(cli)
    before = cli.json("prompt", "list")
    code, out, err = cli(*args)
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert cli.json("prompt", "list") == before


def test_edit_with_bad_data_keeps_the_prompt(cli):
    prompt_id = str(add(cli))
    code, _, err = cli("prompt", "edit", prompt_id, "--data", '{"prompt": "x", "seed": "one"}')
    assert code == 2 and "data.seed" in err
    assert cli.json("prompt", "show", prompt_id)["data"]["prompt"] == "a red fox"


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        (
            '[{"kind": "image", "title": "ok", "data": {"prompt": "x"}}, {"kind": "image"}]',
            ".json",
            "item 2: data: expected a JSON object",
        ),
        ('{"kind": "image"}', ".json", "expected a JSON array"),
        ("[1", ".json", "not valid JSON"),
        (
            '{"kind": "image", "title": "a", "data": {"prompt": "x"}}\nnot json\n',
            ".jsonl",
            ":2: not valid JSON",
        ),
    ],
)
def test_bad_import_file_imports_nothing(cli, tmp_path, content, suffix, message):
    source = tmp_path / f"in{suffix}"
    source.write_text(content)
    code, _, err = cli("prompt", "import", str(source))
    assert code == 2 and message in err
    assert cli.json("prompt", "list") == []


def test_export_to_a_missing_folder_is_a_clear_error(cli, tmp_path):
    code, _, err = cli("prompt", "export", str(tmp_path / "no" / "such" / "out.json"))
    assert code == 2 and "cannot write it" in err


def test_config_show_and_broken_home_config_warning(cli, home):
    (home / "config.json").write_text("{oops")
    code, out, err = cli("config", "show", "--json")
    assert code == 0 and "warning:" in err and "used the defaults" in err
    assert json.loads(out)["default_quality"] == "standard"


def test_invalid_home_config_is_exit_2(cli, home):
    (home / "config.json").write_text('{"retry": {"attempts": "many"}}')
    code, _, err = cli("prompt", "list")
    assert code == 2 and "retry.attempts: expected a whole number" in err


def run_main(*args, home):
    env = {**os.environ, "TAKEBOARD_HOME": str(home)}
    env.pop("DISPLAY", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_real_process_help_env_home_and_exit_codes(tmp_path):
    home = tmp_path / "h"
    helped = run_main("--help", home=home)
    assert helped.returncode == 0
    for command in ("prompt", "artifacts", "jobs"):
        assert command in helped.stdout
    added = run_main("prompt", "add", "--kind", "image", "--title", "t", "--data", IMAGE, home=home)
    assert added.returncode == 0 and added.stdout.strip() == "1"
    assert (home / "takeboard.db").is_file() and (home / "artifacts").is_dir()
    bad = run_main("prompt", "add", "--kind", "image", "--title", "t", "--data", "[", home=home)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_window_without_a_display_is_a_clear_error(tmp_path):
    result = run_main(home=tmp_path / "h")
    assert result.returncode == 2
    assert "cannot open the window" in result.stderr and "Traceback" not in result.stderr


def test_unexpected_errors_are_logged_not_dumped(cli, home, monkeypatch):
    import app.cli

    def explode(args, ctx):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(app.cli.HANDLERS, ("jobs", "list"), explode)
    code, _, err = cli("jobs", "list")
    assert code == 1 and "internal error" in err and "Traceback" not in err
    assert "disk on fire" in (home / "logs" / "takeboard.log").read_text()
