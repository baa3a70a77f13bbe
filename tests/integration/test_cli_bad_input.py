"""Every bad input is exit 2 and one line (issue 15 item 8): each case the fuzz of the command
line found, and what was accepted and failed later, refused where it enters — with the field or
argument named and what to do. Nothing is written on a refusal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = {"prompt": "a red fox"}
DEEP = "[" * 100_000 + "]" * 100_000
TOO_BIG_ID = str(2**63)


def refused(cli, *args: str) -> str:
    """Run; assert exit 2 with exactly one line on stderr; that line."""
    code, out, err = cli(*args)
    assert (code, out) == (2, ""), err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


def add_image(cli, data: dict | str, *extra: str) -> tuple[int, str, str]:
    text = data if isinstance(data, str) else json.dumps(data)
    return cli("prompt", "add", "--kind", "image", "--title", "t", "--data", text, *extra)


def prompt_count(cli) -> int:
    return len(cli.json("prompt", "list"))


# --- ids and numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["prompt", "show", TOO_BIG_ID],
        ["prompt", "edit", TOO_BIG_ID, "--title", "x"],
        ["prompt", "delete", TOO_BIG_ID],
        ["prompt", "restore", str(2**64)],
        ["artifacts", "list", "--prompt", TOO_BIG_ID],
        ["jobs", "list", "--prompt", TOO_BIG_ID],
        ["jobs", "cancel", TOO_BIG_ID],
        ["jobs", "retry", TOO_BIG_ID],
        ["generate", "1", TOO_BIG_ID],
        ["prompt", "show", "0"],
    ],
)
def test_ids_outside_sqlite_range_are_refused_before_the_database(cli, args):
    cli.add_prompt("image", IMAGE)
    err = refused(cli, *args)
    assert "is not an id — ids are whole numbers from 1" in err


def test_the_largest_sqlite_id_is_simply_not_found(cli):
    err = refused(cli, "prompt", "show", str(2**63 - 1))
    assert f"prompt {2**63 - 1} does not exist" in err


@pytest.mark.parametrize("seed", ["-1", str(2**64), "1.5"])
def test_generate_seed_outside_the_declared_range_queues_nothing(cli, seed):
    prompt_id = cli.add_prompt("image", IMAGE)
    err = refused(cli, "generate", prompt_id, "--seed", seed)
    assert "argument --seed:" in err and f"give a whole number from 0 to {2**64 - 1}" in err
    assert cli.json("jobs", "list") == []


def test_prompt_data_seed_outside_the_range_is_refused(cli):
    code, _, err = add_image(cli, {**IMAGE, "seed": 2**64})
    assert code == 2 and "data.seed: 18446744073709551616 is out of range" in err


@pytest.mark.parametrize(("flag", "value"), [("--limit", TOO_BIG_ID), ("--offset", "-1")])
def test_list_paging_outside_the_range_is_refused(cli, flag, value):
    assert f"argument {flag}: {value} is not a" in refused(cli, "prompt", "list", flag, value)


# --- text that is not UTF-8 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["prompt", "add", "--kind", "image", "--title", "fox\udcff", "--data", json.dumps(IMAGE)],
        [
            "prompt",
            "add",
            "--kind",
            "image",
            "--title",
            "t",
            "--data",
            json.dumps(IMAGE),
            "--tag",
            "\ud800",
        ],
        ["prompt", "list", "--search", "fox\udc80"],
        ["prompt", "list", "--tag", "\udc80"],
    ],
)
def test_arguments_with_bytes_that_are_not_utf8_are_refused(cli, args):
    err = refused(cli, *args)
    assert "argument --" in err and "which is not a valid character (not UTF-8)" in err
    assert prompt_count(cli) == 0


@pytest.mark.parametrize(
    "data",
    [
        '{"prompt": "fox \\udc80"}',
        '{"prompt": "fox", "style_tags": ["\\ud800"]}',
        '{"prompt": "fox", "params": {"\\udfff": 1}}',
    ],
)
def test_json_escapes_of_lone_surrogates_are_refused(cli, data):
    code, _, err = add_image(cli, data)
    assert code == 2 and "--data: not valid JSON (holds '\\ud" in err
    assert prompt_count(cli) == 0


def test_data_file_that_is_not_utf8_is_refused(cli, tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"prompt": "caf\xe9"}')
    assert "cannot read it" in refused(
        cli, "prompt", "add", "--kind", "image", "--title", "t", "--data", f"@{path}"
    )


def test_a_real_process_refuses_non_utf8_argv_bytes(tmp_path):
    done = run_main(
        tmp_path, b"prompt", b"add", b"--kind", b"image", b"--title", b"caf\xe9", b"--data", b"{}"
    )
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1
    assert b"argument --title: holds '\\udce9' at character 4" in done.stderr


def test_nul_in_search_words_is_a_separator_not_an_sqlite_error(cli):
    cli.add_prompt("image", {"prompt": "red fox"})
    assert len(cli.json("prompt", "list", "--search", "red\x00fox")) == 1
    assert len(cli.json("prompt", "list", "--search", "\x00")) == 1  # no words: no filter


# --- JSON nested 100,000 deep ---------------------------------------------------------------------


def test_deep_json_in_data_is_refused(cli, tmp_path):
    assert "--data: not valid JSON (nested deeper than 64 levels)" in refused(
        cli, "prompt", "add", "--kind", "image", "--title", "t", "--data", DEEP
    )
    path = tmp_path / "deep.json"
    path.write_text(DEEP)
    err = refused(cli, "prompt", "edit", cli.add_prompt("image", IMAGE), "--data", f"@{path}")
    assert f"{path}: not valid JSON (nested deeper than 64 levels)" in err


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_deep_json_in_an_import_file_is_refused(cli, tmp_path, suffix):
    path = tmp_path / f"deep{suffix}"
    path.write_text(DEEP + "\n")
    assert "nested deeper than 64 levels" in refused(cli, "prompt", "import", str(path))
    assert prompt_count(cli) == 0


def test_deep_params_in_data_are_refused(cli):
    data = {**IMAGE, "params": {"a": json.loads("[" * 70 + "]" * 70)}}
    assert "nested deeper than 64 levels" in refused(
        cli, "prompt", "add", "--kind", "image", "--title", "t", "--data", json.dumps(data)
    )


def test_deep_home_config_is_moved_aside_with_one_warning(cli, home):
    (home / "config.json").write_text(DEEP)
    code, out, err = cli("config", "show", "--json")
    assert code == 0 and json.loads(out)["default_quality"] == "standard"
    assert err.count("\n") == 1 and "is not valid JSON (nested deeper than 64 levels)" in err
    assert not (home / "config.json").exists() and list(home.glob("config.json.broken-*"))


def test_deep_home_config_in_a_real_process_prints_no_traceback(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(DEEP)
    done = run_main(home, b"prompt", b"list")
    assert done.returncode == 0 and b"Traceback" not in done.stderr
    assert done.stderr.startswith(b"warning: ") and done.stderr.count(b"\n") == 1


# --- prompt data accepted today and failing later -----------------------------------------------


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("image", "aspect_ratio", "0:9"),
        ("image", "aspect_ratio", "16:0"),
        ("video", "resolution", "0000x480"),
        ("audio", "time_signature", "4/0"),
    ],
)
def test_a_size_with_a_zero_side_is_refused(cli, kind, field, value):
    data = json.dumps({"prompt": "x", field: value})
    err = refused(cli, "prompt", "add", "--kind", kind, "--title", "t", "--data", data)
    assert f"data.{field}: {value!r} has a zero side — write it like" in err


# --- imports ------------------------------------------------------------------------------------

GOOD = {"kind": "image", "title": "Fox", "data": IMAGE}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tags": "notalist"}, "item 2: tags: expected a list of texts, got 'notalist'"),
        ({"favorite": "yes"}, "item 2: favorite: expected true or false, got 'yes'"),
        ({"favorite": 1}, "item 2: favorite: expected true or false, got 1"),
        ({"tagz": ["a"]}, "item 2: unknown key 'tagz' — did you mean 'tags'?"),
        ({"id": 7}, "item 2: unknown key 'id' — remove it (a prompt has: kind, title, data"),
    ],
)
def test_import_refuses_a_bad_record_and_imports_nothing(cli, tmp_path, change, message):
    path = tmp_path / "in.json"
    path.write_text(json.dumps([GOOD, {**GOOD, **change}]))
    assert message in refused(cli, "prompt", "import", str(path))
    assert prompt_count(cli) == 0


def test_import_round_trips_an_export(cli, tmp_path):
    cli.add_prompt("image", IMAGE)
    cli("prompt", "edit", "1", "--tag", "fox", "--favorite")
    path = tmp_path / "out.jsonl"
    assert cli("prompt", "export", str(path))[0] == 0
    assert cli.json("prompt", "import", str(path)) == [2]
    copy = cli.json("prompt", "show", "2")
    assert (
        copy["tags"] == ["fox"]
        and copy["favorite"] is True
        and copy["data"]["prompt"] == "a red fox"
    )


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "http://127.0.0.1:99999",
        "127.0.0.1:8188",
        "http://",
        "http://a b:1",
        "ftp://host",
    ],
)
def test_comfyui_url_from_the_environment_must_be_a_url(cli, monkeypatch, url):
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", url)
    err = refused(cli, "prompt", "list")
    assert f"TAKEBOARD_COMFYUI_URL: {url!r} is not a server address — write it like" in err


def test_a_bad_environment_url_in_a_real_process_is_one_line(tmp_path):
    done = run_main(tmp_path, b"prompt", b"list", TAKEBOARD_COMFYUI_URL="http://[::1")
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1
    assert done.stderr.startswith(b"error: TAKEBOARD_COMFYUI_URL: 'http://[::1'")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"comfyui": {"servers": [{"url": "http://[::1"}]}},
            "comfyui.servers[0].url: 'http://[::1'",
        ),
        ({"backends": {"gradio": [{"url": "http://h:0"}]}}, "backends.gradio[0].url: 'http://h:0'"),
        ({"backends": {"wangp": [{"url": "localhost:8000/mcp"}]}}, "backends.wangp[0].url"),
        ({"llm": {"api_base": "127.0.0.1:11434"}}, "llm.api_base: '127.0.0.1:11434' is not a"),
        ({"cloud": {"runcomfy": {"api_url": "api.runcomfy.net"}}}, "cloud.runcomfy.api_url"),
        (
            {"comfyui": {"servers": [{"url": "http://me:pw@h:1"}]}},
            "comfyui.servers[0].url: credentials do not belong in a URL",
        ),
        (
            {"comfyui": {"servers": [{"name": "  ", "url": "http://h:1"}]}},
            "comfyui.servers[0].name: '  ' is not a usable name",
        ),
        (
            {"comfyui": {"servers": [{"name": "gpu\n", "url": "http://h:1"}]}},
            "comfyui.servers[0].name: 'gpu\\n' is not a usable name",
        ),
        (
            {
                "comfyui": {
                    "servers": [
                        {"name": "gpu", "url": "http://a:1"},
                        {"name": "gpu ", "url": "http://b:1"},
                    ]
                }
            },
            "backends: the name 'gpu' is used twice",
        ),
        (
            {"routing": [{"when": {"kind": "vidoe"}, "use": ["create_video"]}]},
            "routing[0].when.kind: 'vidoe' is not a value it can match — use one of: image,",
        ),
        (
            {"routing": [{"when": {"task": ["song", 3]}, "use": ["create_audio"]}]},
            "routing[0].when.task: 3 is not a value it can match",
        ),
        (
            {"routing": [{"when": {"has": ["lora", "lorra"]}, "use": ["create_video"]}]},
            "routing[0].when.has: 'lorra' is not a value it can match",
        ),
    ],
)
def test_config_values_that_would_fail_later_are_refused_at_start(cli, config, message):
    cli.configure(**config)
    assert message in refused(cli, "prompt", "list")


def test_a_routing_rule_naming_an_unknown_function_is_refused_where_jobs_run(cli):
    prompt_id = cli.add_prompt("video", {"prompt": "waves"})
    cli.configure(routing=[{"name": "fast", "when": {"kind": "video"}, "use": ["creat_video"]}])
    err = refused(cli, "generate", prompt_id)
    assert (
        "routing: rule 'fast' uses 'creat_video', which no template defines — did you mean "
        "'create_video'?" in err
    )
    assert cli.json("jobs", "list") == []
    assert "routing: rule 'fast'" in refused(cli, "functions")


def test_the_shipped_routing_rules_name_only_bundled_functions(cli):
    assert cli("functions", "--json")[0] == 0


# --- a real process -----------------------------------------------------------------------------


def run_main(home: Path, *args: bytes, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TAKEBOARD_")}
    return subprocess.run(
        [os.fsencode(sys.executable), b"main.py", b"--home", os.fsencode(home), *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (DEEP.encode(), "is not valid JSON: nested deeper than 64 levels"),
        (b'{"1": {"inputs": {"text": "caf\xe9"}}}', "is not UTF-8 text (invalid continuation byte"),
    ],
)
def test_a_user_workflow_that_is_too_deep_or_not_utf8_is_skipped_with_a_warning(
    cli, home, content, reason
):
    folder = home / "workflows" / "create_image" / "standard"
    folder.mkdir(parents=True)
    (folder / "template.json").write_bytes(
        (ROOT / "workflows" / "create_image" / "standard" / "template.json").read_bytes()
    )
    (folder / "workflow.json").write_bytes(content)
    code, out, err = cli("functions", "--json")
    assert code == 0 and "internal error" not in err
    assert f"warning: template {folder / 'workflow.json'}: {reason}" in err
    assert "create_image" in {row["name"] for row in json.loads(out)}


@pytest.mark.parametrize("base", ["http://[::1", "localhost:11434"])
def test_draft_refuses_an_llm_address_that_is_not_a_url_before_any_request(cli, base):
    err = refused(cli, "draft", "--kind", "image", "a fox", "--api-base", base)
    assert f"TAKEBOARD_LLM_API_BASE: {base!r} is not an http(s) URL" in err


def test_draft_refuses_an_idea_that_is_not_utf8(cli):
    err = refused(cli, "draft", "--kind", "image", "caf\udce9")
    assert "argument IDEA: holds '\\udce9' at character 4" in err


def test_workflows_import_refuses_a_deep_json_file_in_one_line(cli, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text(DEEP)
    err = refused(cli, "workflows", "import", str(path))
    assert f"{path}: not a workflow (not valid JSON: nested deeper than 64 levels)" in err
