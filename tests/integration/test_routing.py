"""Jobs routed across backend families through the real CLI: routing rules, fallback to the
next available backend, command-line backends running a real program, clear waits/failures."""

from __future__ import annotations

import json
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = str(ROOT / "tests" / "tools" / "fake_generator.py")
FAST = {"retry": {"attempts": 2, "initial_s": 0.05, "max_s": 0.3, "jitter_s": 0.01}}


def applio(*extra: str) -> dict:
    """A command backend named like the bundled voice_convert template expects."""
    return {
        "name": "applio",
        "command": [
            "{python}",
            GENERATOR,
            "--kind",
            "audio",
            "--prompt",
            "{input_path}",
            "--steps",
            "3",
            "--output-path",
            "{output_dir}/voice.wav",
            *extra,
        ],
        "timeout_s": 30,
    }


def drawer(name: str, program: str = GENERATOR) -> dict:
    return {
        "name": name,
        "command": ["{python}", program, "--kind", "image", "--prompt", "{prompt}"]
        + ["--output", "{output_dir}", "--steps", "2"],
        "timeout_s": 30,
    }


def add_template(home: Path, function: str, server: str) -> None:
    """A user template for an image-making command backend."""
    folder = home / "workflows" / function / "standard"
    folder.mkdir(parents=True)
    (folder / "request.json").write_text(json.dumps({"prompt": ""}))
    template = {
        "function": function,
        "quality": "standard",
        "kind": "image",
        "backend": "command",
        "servers": [server],
        "workflow": "request.json",
        "parameters": {"prompt": {"target": "prompt", "type": "direct", "required": True}},
    }
    (folder / "template.json").write_text(json.dumps(template))


def recording(tmp_path: Path) -> Path:
    path = tmp_path / "take.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 800)
    return path


def voice_prompt(cli, tmp_path: Path) -> str:
    return cli.add_prompt("audio", {"task": "voice", "source_audio": str(recording(tmp_path))})


def test_a_voice_prompt_is_routed_to_the_voice_backend(cli, home, tmp_path):
    cli.configure(**FAST, backends={"command": [applio()]})
    source = recording(tmp_path)
    prompt_id = cli.add_prompt("audio", {"task": "voice", "source_audio": str(source)})
    code, _, err = cli("generate", prompt_id, "--wait", "--json")
    assert code == 0, err
    (job,) = cli.json("jobs", "list")
    assert (job["status"], job["backend"], job["function"]) == ("done", "applio", "voice_convert")
    (artifact,) = cli.json("artifacts", "list")
    with wave.open(artifact["path"]) as take:
        assert take.getnframes() > 0
    metadata = artifact["metadata"]
    assert metadata["backend"] == "command" and metadata["server"]["name"] == "applio"
    assert metadata["request"]["inputs"]["input_path"] == str(source.resolve())
    assert artifact["preview_path"] and Path(artifact["preview_path"]).is_file()  # a waveform
    assert list((home / "tmp").iterdir()) == []  # the scratch folder is cleaned up


def test_an_unavailable_backend_falls_back_to_the_next_in_the_rule(cli, home):
    routing = [{"name": "sketches", "when": {"kind": "image", "tags": ["sketch"]},
                "use": ["draw_a", "draw_b"]}]  # fmt: skip
    missing = str(home / "no-such-generator.py")
    drawers = [drawer("a", missing), drawer("b")]
    cli.configure(**FAST, routing=routing, backends={"command": drawers})
    add_template(home, "draw_a", "a")
    add_template(home, "draw_b", "b")
    prompt_id = cli.add_prompt("image", {"prompt": "a fox", "style_tags": ["Sketch"]})
    code, _, err = cli("generate", prompt_id, "--wait")
    assert code == 0, err
    (job,) = cli.json("jobs", "list")
    assert (job["status"], job["backend"], job["function"]) == ("done", "b", "draw_b")
    assert (
        job["note"].startswith("routed to draw_b (draw_a:") and "no-such-generator" in job["note"]
    )
    (artifact,) = cli.json("artifacts", "list")
    assert artifact["metadata"]["media"]["width"] > 0


def test_quick_video_preview_runs_on_comfyui_when_no_wangp_is_set_up(cli, home, comfy_server):
    cli.configure(**FAST, comfyui={"servers": [{"name": "comfy", "url": comfy_server.url}]})
    prompt_id = cli.add_prompt("video", {"prompt": "waves", "frames": 9, "quality": "low"})
    code, _, err = cli("generate", prompt_id, "--wait")
    assert code == 0, err
    (job,) = cli.json("jobs", "list")
    assert (job["status"], job["function"], job["quality"]) == ("done", "create_video", "low")
    assert "wangp_video: no WanGP server is set up" in job["note"]


def test_a_backend_that_is_not_set_up_fails_the_job_with_the_fix(cli, home, tmp_path):
    cli.configure(**FAST)
    prompt_id = voice_prompt(cli, tmp_path)
    code, _, err = cli("generate", prompt_id, "--wait")
    assert code == 1
    (job,) = cli.json("jobs", "list")
    assert job["status"] == "failed"
    assert "command backend applio, which is not set up" in job["error"]
    assert "backends.command" in job["error"]


def test_a_failing_command_fails_the_job_with_its_last_words_and_keeps_nothing(cli, home, tmp_path):
    cli.configure(**FAST, backends={"command": [applio("--mode", "fail")]})
    prompt_id = voice_prompt(cli, tmp_path)
    code, _, _ = cli("generate", prompt_id, "--wait")
    assert code == 1
    (job,) = cli.json("jobs", "list")
    assert job["status"] == "failed" and "exit 1" in job["error"]
    assert cli.json("artifacts", "list") == []
    assert not any(p.is_file() for p in (home / "artifacts").rglob("*"))


def test_an_out_of_memory_command_drops_nothing_silently(cli, home, tmp_path):
    cli.configure(**FAST, backends={"command": [applio("--mode", "oom")]})
    prompt_id = voice_prompt(cli, tmp_path)
    code, _, _ = cli("generate", prompt_id, "--wait")
    assert code == 1
    (job,) = cli.json("jobs", "list")
    assert job["error_kind"] == "out_of_memory" and "GPU memory" in job["error"]


def test_a_voice_prompt_without_its_recording_is_refused_before_it_is_stored(cli):
    code, _, err = cli("prompt", "add", "--kind", "audio", "--title", "v", "--data",
                       json.dumps({"task": "voice"}))  # fmt: skip
    assert code == 2 and "data.source_audio" in err and "voice prompt needs" in err
    assert cli.json("prompt", "list") == []


def test_a_voice_recording_that_is_gone_fails_the_job_before_the_command_runs(cli, home, tmp_path):
    record = tmp_path / "argv.json"  # the program writes what it saw here, if it runs
    watched = {**applio(), "env": {"FAKE_GENERATOR_RECORD": str(record)}}
    cli.configure(**FAST, backends={"command": [watched]})
    gone = tmp_path / "deleted.wav"
    prompt_id = cli.add_prompt("audio", {"task": "voice", "source_audio": str(gone)})
    code, _, _ = cli("generate", prompt_id, "--wait")
    assert code == 1
    (job,) = cli.json("jobs", "list")
    assert job["status"] == "failed" and f"file {gone} does not exist" in job["error"]
    assert not record.exists() and cli.json("artifacts", "list") == []
