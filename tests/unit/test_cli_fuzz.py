"""Property-based fuzz of the command line: hostile arguments, prompt data, import files,
config.json and environment never crash it.

The contract (app/cli.py): every run exits 0, 1 or 2 and never prints a traceback or an
"internal error"; a run that exits 2 says why on exactly one line of stderr. Runs go through
`main.main`, the entry point main.py and the `takeboard` script use, with stdout and stderr as
a real process has them (UTF-8; stdout strict, stderr backslashreplace); a few go through a real
`python main.py` process with raw bytes in argv. The budget is fixed and derandomized, so the
same cases run every time.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.models import SCHEMAS
from main import main

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ENV_NAMES = ("TAKEBOARD_HOME", "TAKEBOARD_COMFYUI_URL", "TAKEBOARD_ALLOW_ONLINE")

# --- hostile values -----------------------------------------------------------------------------

BIG = 2**70
id_texts = st.one_of(
    st.integers(-BIG, BIG).map(str),
    st.sampled_from(
        [
            "0",
            "1",
            "-1",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            str(2**64),
            "1e3",
            "0x1F",
            " 7",
            "1_000",
            "٣",
            "",
            "nan",
        ]
    ),
)
surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
non_utf8 = st.binary(min_size=1, max_size=8).map(os.fsdecode)  # argv as Python decodes it
words = st.text(st.characters(exclude_characters="\x00"), max_size=20)
hostile_text = st.one_of(
    words,
    st.tuples(words, surrogates, words).map("".join),
    st.tuples(words, non_utf8).map("".join),
    st.sampled_from(["", " ", "-", "--", "@", "\u202e", "a" * 400, "x" * 25_000]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-BIG, BIG),
    st.floats(),
    st.text(max_size=20),
    surrogates,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
    max_leaves=8,
)
FIELD_NAMES = sorted({name for schema in SCHEMAS.values() for name in schema})
special_values = st.sampled_from(
    [
        "0:9",
        "16:0",
        "00:00",
        "16:9",
        "0000x0000",
        "832x480",
        2**63,
        2**64,
        -1,
        1e999,
        "notalist",
        "song",
        "sfx",
        "voice",
        "high",
        ["a", 1],
        {"a": [1]},
    ]
)
prompt_data = st.dictionaries(
    st.sampled_from(FIELD_NAMES) | words, special_values | json_values, max_size=6
)
deep_json = st.sampled_from(["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000])
json_texts = st.one_of(
    prompt_data.map(json.dumps),
    json_values.map(json.dumps),
    deep_json,
    hostile_text,
)
file_names = st.one_of(
    st.text(st.characters(exclude_characters="\x00/"), min_size=1, max_size=300),
    st.binary(min_size=1, max_size=20).filter(lambda b: not {0, 47} & set(b)).map(os.fsdecode),
).filter(lambda name: name not in (".", ".."))
kinds = st.sampled_from(["image", "audio", "video", "song", ""]) | hostile_text
record_keys = st.sampled_from(["kind", "title", "data", "tags", "favorite", "tagz", "id"])
VALID_RECORD = {"kind": "image", "title": "t", "data": {"prompt": "fox"}}
record_values = kinds | prompt_data | json_values | hostile_text
import_records = st.lists(
    st.dictionaries(record_keys, record_values, max_size=2).map(lambda r: {**VALID_RECORD, **r})
    | st.dictionaries(record_keys, record_values, max_size=5)
    | json_values,
    max_size=4,
)

# --- commands -----------------------------------------------------------------------------------


@st.composite
def data_argument(draw, folder: Path) -> str:
    """JSON inline, or @file holding JSON (or bytes that are not UTF-8 at all)."""
    text = draw(json_texts)
    if not draw(st.booleans()):
        return text
    path = folder / f"data-{draw(st.integers(0, 9))}.json"
    raw = draw(st.binary(max_size=40)) if draw(st.booleans()) else None
    path.write_bytes(raw if raw is not None else text.encode("utf-8", "surrogatepass"))
    return f"@{path}"


@st.composite
def workflow_file(draw, folder: Path) -> str:
    """A file `workflows import` reads: JSON (hostile or deep) or bytes, under a media name."""
    suffix = draw(st.sampled_from([".json", ".png", ".webp", ".flac", ".mp4", ".txt"]))
    content = draw(json_texts.map(lambda t: t.encode("utf-8", "surrogatepass")) | st.binary())
    path = folder / f"workflow{suffix}"
    path.write_bytes(content)
    return str(path)


def optional(flag: str, values: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.just([]), values.map(lambda v: [flag, v]))


def concat(*parts: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(*parts).map(lambda lists: [arg for part in lists for arg in part])


def record_flags() -> st.SearchStrategy:
    return concat(
        optional("--tag", hostile_text),
        st.sampled_from([[], ["--favorite"], ["--no-favorite"]]),
    )


def commands(folder: Path) -> st.SearchStrategy:
    ids = id_texts.map(lambda i: [i])
    data = data_argument(folder)
    return st.one_of(
        concat(
            st.just(["prompt", "add", "--kind"]),
            kinds.map(lambda k: [k, "--title"]),
            hostile_text.map(lambda t: [t, "--data"]),
            data.map(lambda d: [d]),
            optional("--tag", hostile_text),
        ),
        concat(
            st.just(["prompt", "list"]),
            optional("--search", hostile_text),
            optional("--kind", kinds),
            optional("--status", hostile_text),
            optional("--tag", hostile_text),
            optional("--limit", id_texts),
            optional("--offset", id_texts),
            st.sampled_from([[], ["--json"]]),
        ),
        concat(
            st.sampled_from(
                [
                    ["prompt", "show"],
                    ["prompt", "delete"],
                    ["prompt", "restore"],
                    ["jobs", "cancel"],
                    ["jobs", "retry"],
                ]
            ),
            ids,
        ),
        concat(
            st.just(["prompt", "edit"]),
            ids,
            optional("--title", hostile_text),
            optional("--data", data),
            record_flags(),
        ),
        concat(st.just(["artifacts", "list"]), optional("--prompt", id_texts)),
        concat(
            st.just(["jobs", "list"]),
            optional("--status", hostile_text),
            optional("--prompt", id_texts),
        ),
        concat(
            st.just(["generate"]),
            st.lists(id_texts, min_size=1, max_size=3),
            optional("--seed", id_texts),
            optional("--quality", hostile_text),
            optional("--function", hostile_text),
        ),
        concat(
            st.just(["workflows", "import"]),
            workflow_file(folder).map(lambda f: [f]),
            optional("--function", hostile_text),
            optional("--kind", kinds),
        ),
        st.tuples(st.sampled_from(["import", "export"]), file_names).map(
            lambda a: ["prompt", a[0], str(folder / a[1])]
        ),
        concat(  # a command first: without one, the window would open
            st.sampled_from(["prompt", "jobs", "artifacts", "config", "queue"]).map(lambda c: [c]),
            st.lists(
                hostile_text | st.sampled_from(["list", "show", "--json", "--kind", "-h"]),
                max_size=4,
            ),
        ),
    )


# --- running ------------------------------------------------------------------------------------


def run_cli(home: Path, argv: list[str]) -> tuple[int, str, str]:
    """`main.main` with stdout and stderr encoded as a UTF-8 process has them."""
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(["--home", str(home), *argv])
        except SystemExit as exc:  # --help exits 0 through argparse, as in a real process
            code = exc.code
    out, err = (stream.detach().getvalue().decode() for stream in (stdout, stderr))
    return code, out, err


def assert_contract(code: int, err: str) -> None:
    event(f"exit {code}")  # pytest --hypothesis-show-statistics shows the mix
    assert code in (0, 1, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err


@pytest.fixture(autouse=True)
def no_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """An argv that names no command would open the window and wait for a person: fail fast."""

    def refuse(*args: object, **kwargs: object) -> int:
        raise AssertionError("the fuzz reached the window: an argv without a command")

    monkeypatch.setattr("app.application.open_window", refuse)


@pytest.fixture
def fuzz_home(home: Path) -> Path:
    """A home with a prompt of each kind, so ids 1–3 exist."""
    for kind, data in (
        ("image", {"prompt": "fox"}),
        ("audio", {"lyrics": "la"}),
        ("video", {"prompt": "waves"}),
    ):
        code, _, err = run_cli(
            home, ["prompt", "add", "--kind", kind, "--title", "t", "--data", json.dumps(data)]
        )
        assert code == 0, err
    return home


@settings(FUZZ, max_examples=250)
@given(data=st.data())
def test_hostile_commands_keep_the_contract(fuzz_home: Path, tmp_path: Path, data) -> None:
    argv = data.draw(commands(tmp_path))
    assert_contract(*run_cli(fuzz_home, argv)[::2])


@settings(FUZZ, max_examples=60)
@given(records=import_records, jsonl=st.booleans())
def test_hostile_import_files_keep_the_contract(fuzz_home, tmp_path, records, jsonl) -> None:
    path = tmp_path / ("in.jsonl" if jsonl else "in.json")
    lines = [json.dumps(r) for r in records] if jsonl else [json.dumps(records)]
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
    code, out, err = run_cli(fuzz_home, ["prompt", "import", str(path), "--json"])
    assert_contract(code, err)
    if code == 0:  # what was imported reads back as it was given
        for prompt_id, record in zip(json.loads(out), records, strict=True):
            shown = json.loads(run_cli(fuzz_home, ["prompt", "show", str(prompt_id), "--json"])[1])
            tags = [tag.strip() for tag in record.get("tags") or [] if tag.strip()]
            assert shown["tags"] == list(dict.fromkeys(tags))
            assert shown["favorite"] is bool(record.get("favorite"))


config_values = st.one_of(json_values, special_values, hostile_text)
config_texts = st.one_of(
    st.dictionaries(
        st.sampled_from(["comfyui", "routing", "backends", "timeouts", "llm", "allow_online"]),
        config_values,
        max_size=2,
    ).map(json.dumps),
    st.builds(
        lambda servers: json.dumps({"comfyui": {"servers": servers}}),
        st.lists(st.fixed_dictionaries({"name": hostile_text, "url": hostile_text}), max_size=3),
    ),
    st.builds(
        lambda rule: json.dumps({"routing": [rule]}),
        st.fixed_dictionaries(
            {
                "when": st.dictionaries(
                    st.sampled_from(["kind", "quality", "task", "has", "tags"]),
                    config_values,
                    max_size=2,
                ),
                "use": st.lists(hostile_text, max_size=2),
            }
        ),
    ),
    deep_json,
    st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
)


def env_value(text: str) -> bool:
    """Can the environment hold it (bytes without NUL)?"""
    try:
        return b"\x00" not in os.fsencode(text)
    except UnicodeEncodeError:
        return False


@settings(FUZZ, max_examples=60)
@given(
    config=st.none() | config_texts,
    url=st.none()
    | hostile_text.filter(env_value)
    | st.sampled_from(["http://[::1", "http://h:99999"]),
    argv=st.sampled_from([["config", "show"], ["prompt", "list"], ["functions"]]),
)
def test_hostile_config_and_environment_keep_the_contract(
    home: Path, monkeypatch: pytest.MonkeyPatch, config, url, argv
) -> None:
    for path in home.glob("config.json*"):
        path.unlink()
    if config is not None:
        (home / "config.json").write_text(config, encoding="utf-8", errors="surrogatepass")
    with monkeypatch.context() as env:
        if url is not None:
            env.setenv("TAKEBOARD_COMFYUI_URL", url)
        code, _, err = run_cli(home, argv)
    assert_contract(code, err)


argv_bytes = st.lists(
    st.binary(min_size=1, max_size=12).filter(lambda b: b"\x00" not in b)
    | st.sampled_from([b"9223372036854775808", b"\xff\xfe", b"--data", b"@"]),
    max_size=3,
)


@settings(FUZZ, max_examples=6)
@given(
    head=st.sampled_from(
        [
            ["prompt", "show"],
            ["prompt", "add", "--kind", "image", "--title"],
            ["prompt", "list", "--search"],
            ["generate"],
            ["prompt", "edit", "1", "--data"],
        ]
    ),
    tail=argv_bytes,
)
def test_a_real_process_keeps_the_contract(fuzz_home: Path, head, tail) -> None:
    argv = [sys.executable, "main.py", "--home", str(fuzz_home), *head, *tail]
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    done = subprocess.run(
        [os.fsencode(a) for a in argv], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert_contract(done.returncode, done.stderr.decode("utf-8", "replace"))
