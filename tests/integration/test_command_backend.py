"""CommandClient against a real program: tests/tools/fake_generator.py, run as a subprocess.

Every test starts real processes on this machine (nothing else is reached). Progress, cancel
and deadline tests need no sleeps to line up: cancel is set from `on_event` when the program
reports progress, and the hang tests read the program's and its child's pids from a file.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
import time
import wave
from pathlib import Path

import pytest
from PIL import Image

from core.config import CommandConfig
from core.errors import JobCancelled, OutOfMemory, PermanentBackendError
from executors.backends.base import Event, Progress
from executors.backends.command import CommandClient, parse_progress

FAKE = str(Path(__file__).resolve().parents[1] / "tools" / "fake_generator.py")
IMAGE_COMMAND = (
    "{python}",
    FAKE,
    "--prompt",
    "{prompt}",
    "--negative-prompt",
    "{negative_prompt}",
    "--output",
    "{output_dir}",
    "--steps",
    "{steps}",
)


def client(*words: str, grace_s: float = 0.3, **config) -> CommandClient:
    """A client for the fake generator; a short SIGTERM grace keeps the kill tests fast."""
    made = CommandClient(CommandConfig(name="fake", command=words or IMAGE_COMMAND, **config))
    made.stop_grace_s = grace_s
    return made


def run(
    made: CommandClient,
    inputs: dict,
    workdir: Path,
    *,
    on_event=None,
    cancel: threading.Event | None = None,
    timeout_s: float | None = 30,
) -> list[Path]:
    return made.run(
        {"inputs": inputs},
        workdir=workdir,
        on_event=on_event or (lambda event: None),
        cancel=cancel or threading.Event(),
        timeout_s=timeout_s,
    )


def record_env(tmp_path: Path, **extra: str) -> tuple[dict[str, str], Path]:
    """Config env that makes the fake generator write what it saw to a JSON file."""
    path = tmp_path / "record.json"
    return {"FAKE_GENERATOR_RECORD": str(path), **extra}, path


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return True
    return fields[0] != "Z"


def wait_gone(pids: list[int], within_s: float = 5.0) -> list[int]:
    """The pids still alive after up to `within_s` (init may take a moment to reap)."""
    deadline = time.monotonic() + within_s
    while (left := [p for p in pids if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def wait_for_file(path: Path, within_s: float = 10.0) -> dict:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return json.loads(path.read_text())
        time.sleep(0.02)
    raise AssertionError(f"{path} was never written")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    folder = tmp_path / "job"
    folder.mkdir()
    return folder


# ---------------------------------------------------------------- outputs


def test_png_run_returns_the_image_inside_workdir(workdir: Path):
    files = run(client(), {"prompt": "a red fox", "negative_prompt": "blur", "steps": 3}, workdir)

    assert [f.name for f in files] == ["take_00001.png"]
    assert files[0].parent == workdir / "out"
    with Image.open(files[0]) as image:
        image.load()
        assert image.format == "PNG"
        assert image.size == (16, 8)
        assert image.text == {"prompt": "a red fox", "negative": "blur"}


def test_wav_run_with_an_embedded_output_path(workdir: Path):
    made = client(
        "{python}",
        FAKE,
        "--kind",
        "audio",
        "--output-path",
        "{output_dir}/voice.wav",
        "--steps",
        "2",
    )
    files = run(made, {}, workdir)

    assert [f.name for f in files] == ["voice.wav"]
    with wave.open(str(files[0])) as sound:
        assert sound.getnchannels() == 1
        assert sound.getframerate() == 16000
        assert sound.getnframes() > 0


def test_outputs_outside_workdir_are_copied_in_and_old_files_ignored(tmp_path, workdir):
    shared = tmp_path / "shared_out"
    shared.mkdir()
    (shared / "take_00001.png").write_bytes(b"an older take")
    made = client(*IMAGE_COMMAND, "--junk", output_dir=str(shared))

    files = run(made, {"prompt": "p", "negative_prompt": None, "steps": 1}, workdir)

    assert files == [workdir / "take_00002.png"]  # not the old take, not .hidden or .part
    assert (shared / "take_00002.png").read_bytes() == files[0].read_bytes()
    assert (shared / "leftover.png.part").exists()


def test_relative_output_dir_is_taken_from_cwd(tmp_path, workdir):
    app = tmp_path / "app"
    app.mkdir()
    made = client(*IMAGE_COMMAND, cwd=str(app), output_dir="outputs")

    files = run(made, {"prompt": "p", "negative_prompt": None, "steps": 1}, workdir)

    assert (app / "outputs" / "take_00001.png").is_file()
    assert files == [workdir / "take_00001.png"]


# ---------------------------------------------------------------- progress


def test_progress_lines_become_increasing_events(workdir: Path):
    events: list[Event] = []
    run(
        client(),
        {"prompt": "p", "negative_prompt": None, "steps": 5},
        workdir,
        on_event=events.append,
    )

    fractions = [e.fraction for e in events if isinstance(e, Progress)]
    assert fractions == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert events[-1] == Progress(1.0, "Denoising 5/5")


def test_tqdm_carriage_returns_end_lines(workdir: Path):
    events: list[Event] = []
    made = client(*IMAGE_COMMAND, "--tqdm")
    run(made, {"prompt": "p", "negative_prompt": None, "steps": 4}, workdir, on_event=events.append)

    assert [e.fraction for e in events] == [0.25, 0.5, 0.75, 1.0]
    assert events[0].label == "Sampling 1/4"


def test_on_event_is_called_on_the_calling_thread(workdir: Path):
    threads = set()
    run(
        client(),
        {"prompt": "p", "negative_prompt": None, "steps": 2},
        workdir,
        on_event=lambda event: threads.add(threading.get_ident()),
    )
    assert threads == {threading.get_ident()}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("[12/30] Prompt 1/3 - Denoising", Progress(0.4, "Prompt 1/3 - Denoising 12/30")),
        ("[3/4]", Progress(0.75, "3/4")),
        ("Sampling:  40%|####      | 12/30 [00:05<00:07]", Progress(0.4, "Sampling 12/30")),
        ("loading 55% done", Progress(0.55, "loading 55% done")),
        ("model uses 1.5 GiB", None),
        ("[0/0] nothing", None),
        ("", None),
    ],
)
def test_parse_progress(line, expected):
    assert parse_progress(line) == expected


# ---------------------------------------------------------------- placeholders


def test_unset_optional_input_drops_its_word_and_flag(tmp_path, workdir):
    env, record = record_env(tmp_path)
    run(client(env=env), {"prompt": "cat", "negative_prompt": None, "steps": 1}, workdir)

    argv = json.loads(record.read_text())["argv"]
    assert "--negative-prompt" not in argv
    assert argv == ["--prompt", "cat", "--output", str(workdir / "out"), "--steps", "1"]


def test_set_inputs_are_one_argv_item_each(tmp_path, workdir):
    env, record = record_env(tmp_path)
    inputs = {"prompt": "a cat; rm -rf / $(x) 'quoted'", "negative_prompt": "dog", "steps": 1}
    run(client(env=env), inputs, workdir)

    argv = json.loads(record.read_text())["argv"]
    assert argv[:4] == ["--prompt", inputs["prompt"], "--negative-prompt", "dog"]


def test_build_argv_rules(tmp_path):
    made = client(
        "{python}",
        "run.py",
        "--seed",
        "-1",
        "--lora",
        "{lora}",
        "--steps={steps}",
        "--fast",
        "--cfg={cfg}",
        "--tags",
        "{tags}",
        "--flag",
        "{flag}",
        "{request_file}",
        "{ 'literal': 1 }",
        python="/opt/py",
    )
    inputs = {"lora": None, "steps": None, "cfg": 7.5, "tags": ["a", "b"], "flag": True}
    argv = made.build_argv(inputs, workdir=tmp_path, output_dir=tmp_path / "o")

    assert argv == [
        "/opt/py",
        "run.py",
        "--seed",
        "-1",  # a negative number is not a flag
        "--fast",  # kept: --steps={steps} carried its own flag
        "--cfg=7.5",
        "--tags",
        '["a", "b"]',
        "--flag",
        "true",
        str(tmp_path / "request.json"),
        "{ 'literal': 1 }",
    ]


def test_unknown_placeholder_names_it_and_the_known_names(tmp_path, workdir):
    env, record = record_env(tmp_path)
    made = client("{python}", FAKE, "--prompt", "{promt}", "--output", "{output_dir}", env=env)

    with pytest.raises(PermanentBackendError) as caught:
        run(made, {"prompt": "cat"}, workdir)

    message = str(caught.value)
    assert "{promt}" in message
    assert "prompt" in message and "output_dir" in message and "request_file" in message
    assert not record.exists()  # nothing was started


def test_request_file_mode_reads_the_settings_json(tmp_path, workdir):
    env, record = record_env(tmp_path)
    made = client(
        "{python}", FAKE, "--settings", "{request_file}", "--output", "{output_dir}", env=env
    )
    inputs = {"prompt": "a café at night", "negative_prompt": None, "steps": 2, "kind": "image"}

    files = run(made, inputs, workdir)

    seen = json.loads(record.read_text())
    assert seen["argv"] == [
        "--settings",
        str(workdir / "request.json"),
        "--output",
        str(workdir / "out"),
    ]
    assert seen["settings"] == inputs
    with Image.open(files[0]) as image:
        image.load()
        assert image.text["prompt"] == "a caf\xe9 at night"


def test_env_and_cwd_from_config_reach_the_program(tmp_path, workdir):
    env, record = record_env(tmp_path, FAKE_GENERATOR_TAG="from-config")
    made = client(env=env, cwd=str(tmp_path))

    run(made, {"prompt": "p", "negative_prompt": None, "steps": 1}, workdir)

    seen = json.loads(record.read_text())
    assert seen["env"]["FAKE_GENERATOR_TAG"] == "from-config"
    assert Path(seen["cwd"]).resolve() == tmp_path.resolve()


# ---------------------------------------------------------------- failures


def test_failure_shows_the_last_stderr_lines(workdir: Path):
    made = client(*IMAGE_COMMAND, "--mode", "fail")

    with pytest.raises(PermanentBackendError) as caught:
        run(made, {"prompt": "p", "negative_prompt": None, "steps": 1}, workdir)

    message = str(caught.value)
    assert not isinstance(caught.value, OutOfMemory)
    assert message.startswith("fake failed (exit 1):")
    assert "error: model file not found: /models/missing.safetensors" in message
    assert caught.value.detail["exit_code"] == 1


def test_exit_130_without_cancel_is_a_failure(workdir: Path):
    made = client(*IMAGE_COMMAND, "--mode", "fail", "--exit-code", "130")

    with pytest.raises(PermanentBackendError, match="exit 130: interrupted"):
        run(made, {"prompt": "p", "negative_prompt": None, "steps": 1}, workdir)


def test_cuda_out_of_memory_is_out_of_memory(workdir: Path):
    made = client(*IMAGE_COMMAND, "--mode", "oom")

    with pytest.raises(OutOfMemory) as caught:
        run(made, {"prompt": "p", "negative_prompt": None, "steps": 1}, workdir)

    assert "CUDA out of memory" in str(caught.value)
    assert caught.value.backend == "fake"


def test_exit_zero_without_files_names_the_empty_folder(workdir: Path):
    made = client(*IMAGE_COMMAND, "--mode", "nothing")

    with pytest.raises(PermanentBackendError) as caught:
        run(made, {"prompt": "p", "negative_prompt": None, "steps": 1}, workdir)

    message = str(caught.value)
    assert str(workdir / "out") in message
    assert "output" in message and "wrote no file" in message


def test_noisy_stderr_does_not_deadlock(workdir: Path):
    made = client(*IMAGE_COMMAND, "--mode", "noisy")

    files = run(made, {"prompt": "p", "negative_prompt": None, "steps": 1}, workdir, timeout_s=30)

    assert [f.name for f in files] == ["take_00001.png"]


# ---------------------------------------------------------------- stopping


def test_deadline_kills_the_program_and_its_child(tmp_path, workdir):
    pids = tmp_path / "pids.json"
    made = client(*IMAGE_COMMAND, "--mode", "hang", "--ignore-term", "--pid-file", str(pids))

    with pytest.raises(PermanentBackendError) as caught:
        run(made, {"prompt": "p", "negative_prompt": None, "steps": 1}, workdir, timeout_s=1)

    assert not isinstance(caught.value, JobCancelled)
    assert "ran longer than 1 s and was stopped" in str(caught.value)
    assert "timeout_s" in str(caught.value)
    seen = wait_for_file(pids)
    assert wait_gone([seen["pid"], seen["child"]]) == []


def test_cancel_mid_run_kills_the_process_group(tmp_path, workdir):
    pids = tmp_path / "pids.json"
    made = client(*IMAGE_COMMAND, "--mode", "hang", "--pid-file", str(pids))
    cancel = threading.Event()
    events: list[Event] = []

    def on_event(event: Event) -> None:
        events.append(event)
        cancel.set()  # the program is running: it just printed its first progress line

    with pytest.raises(JobCancelled):
        run(
            made,
            {"prompt": "p", "negative_prompt": None, "steps": 1},
            workdir,
            on_event=on_event,
            cancel=cancel,
            timeout_s=60,
        )

    assert events and isinstance(events[0], Progress)
    seen = wait_for_file(pids)
    assert wait_gone([seen["pid"], seen["child"]]) == []


def test_error_in_on_event_stops_the_program(tmp_path, workdir):
    pids = tmp_path / "pids.json"
    made = client(*IMAGE_COMMAND, "--mode", "hang", "--pid-file", str(pids))

    def on_event(event: Event) -> None:
        raise RuntimeError("the UI went away")

    with pytest.raises(RuntimeError):
        run(made, {"prompt": "p", "negative_prompt": None, "steps": 1}, workdir, on_event=on_event)

    seen = wait_for_file(pids)
    assert wait_gone([seen["pid"], seen["child"]]) == []


# ---------------------------------------------------------------- health and bad programs


def test_health_online_for_a_working_command():
    health = client().health()
    assert health.online and health.detail == "command ready"
    assert client().url == sys.executable


def test_missing_program_is_offline_and_a_clear_run_error(workdir: Path):
    made = client("no-such-generator-xyz", "--prompt", "{prompt}")

    health = made.health()
    assert not health.online
    assert "'no-such-generator-xyz' was not found" in health.detail
    assert "Settings" in health.detail
    with pytest.raises(PermanentBackendError, match="no-such-generator-xyz' was not found"):
        run(made, {"prompt": "p"}, workdir)


def test_not_executable_program_is_offline_and_a_clear_run_error(tmp_path, workdir):
    script = tmp_path / "gen.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(stat.S_IRUSR | stat.S_IWUSR)
    made = client(str(script))

    assert "cannot be run as a program" in made.health().detail
    with pytest.raises(PermanentBackendError, match="cannot be run as a program"):
        run(made, {}, workdir)


def test_missing_cwd_or_script_is_offline(tmp_path, workdir):
    no_cwd = client(cwd=str(tmp_path / "gone"))
    health = no_cwd.health()
    assert not health.online and "does not exist" in health.detail and "cwd" in health.detail
    with pytest.raises(PermanentBackendError, match="working folder"):
        run(no_cwd, {"prompt": "p", "negative_prompt": None, "steps": 1}, workdir)

    no_script = client("{python}", "missing_script.py", cwd=str(tmp_path))
    assert "missing_script.py" in no_script.health().detail
    assert not no_script.health().online
