"""`generate --wait` end to end: prompt record → job → the protocol test server → files on disk."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import uuid
from pathlib import Path

import pytest
import requests
from PIL import Image

from core.jobs import JobFinished, JobProgress
from executors.demo_server.profiles import PROFILES
from main import build_engine
from tests.waiting import wait_for

IMAGE = '{"prompt": "a lighthouse at dusk \\"quoted\\" {braces}", "aspect_ratio": "16:9"}'
SONG = (
    '{"lyrics": "[verse]\\nheave away\\n[chorus]\\nho", "tags": ["folk", "sea shanty"], '
    '"duration_s": 30}'
)
VIDEO = '{"prompt": "waves at night", "frames": 33, "resolution": "480x320"}'


@pytest.fixture(params=PROFILES)
def comfy_profile(request: pytest.FixtureRequest) -> str:
    """Against the recorded ComfyUI 0.3.64 and a current one."""
    return request.param


@pytest.fixture
def server(comfy_server, monkeypatch):
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", comfy_server.url)
    return comfy_server


def add(cli, kind, data, title="t"):
    code, out, err = cli("prompt", "add", "--kind", kind, "--title", title, "--data", data)
    assert code == 0, err
    return out.strip()


def generate(cli, *args):
    code, out, err = cli("generate", *args, "--wait", "--json")
    return code, (json.loads(out) if out.strip() else None), err


def artifact_files(home: Path) -> list[Path]:
    return sorted(p for p in (home / "artifacts").rglob("*") if p.is_file())


def test_image_end_to_end(cli, server, home):
    prompt_id = add(cli, "image", IMAGE)
    code, results, err = generate(cli, prompt_id)
    assert code == 0, err
    (result,) = results
    assert result["status"] == "done" and result["attempts"] == 1
    (artifact,) = result["artifacts"]
    path = Path(artifact["path"])
    assert path.is_file() and path.is_relative_to(home / "artifacts" / "image")
    assert path.parent.name.startswith(f"{prompt_id}_")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == artifact["sha256"]
    with Image.open(path) as image:
        assert image.size == (1344, 768)  # 16:9 at about a megapixel, set on the graph
    assert Path(artifact["preview_path"]).is_file()
    meta = artifact["metadata"]
    assert {
        "workflow",
        "template",
        "tier",
        "requested_tier",
        "seed",
        "server",
        "remote_prompt_id",
        "timings",
    } <= set(meta)
    assert meta["tier"] == meta["requested_tier"] == "standard"
    assert 0 <= meta["seed"] < 2**32
    texts = [n["inputs"].get("string_a") for n in meta["workflow"].values()]
    assert 'a lighthouse at dusk "quoted" {braces}' in texts  # set on the graph, not spliced
    sampler = next(n for n in meta["workflow"].values() if n["class_type"] == "KSampler")
    assert sampler["inputs"]["seed"] == meta["seed"]
    assert meta["server"]["url"] == server.url
    shown = cli.json("prompt", "show", prompt_id)
    assert shown["status"] == "ready" and shown["take_count"] == 1
    # the server's history is left alone (ComfyUI's own queue panel shows the run too), and the
    # take's remote_prompt_id is the server's own id: a canonical UUID
    remote = meta["remote_prompt_id"]
    assert str(uuid.UUID(remote)) == remote
    assert remote in requests.get(f"{server.url}/history/{remote}", timeout=5).json()


def test_history_is_deleted_after_harvest_when_the_server_says_so(cli, comfy_server):
    server = {"name": "tidy", "url": comfy_server.url, "keep_history": False}
    cli.configure(comfyui={"servers": [server]})
    code, results, err = generate(cli, add(cli, "image", IMAGE))
    assert code == 0, err
    remote = results[0]["artifacts"][0]["metadata"]["remote_prompt_id"]
    assert requests.get(f"{comfy_server.url}/history/{remote}", timeout=5).json() == {}


@pytest.mark.parametrize("comfy_profile", ["current"])  # the song template needs ACE-Step 1.5
def test_audio_and_video_outputs(cli, server, home):
    song, clip = add(cli, "audio", SONG), add(cli, "video", VIDEO)
    code, results, err = generate(cli, song, clip)
    assert code == 0, err
    audio, video = (r["artifacts"][0] for r in results)
    assert audio["kind"] == "audio" and Path(audio["path"]).suffix in (".mp3", ".flac")
    assert audio["metadata"]["media"]["media"] == "audio"
    assert video["kind"] == "video" and Path(video["path"]).suffix in (".mp4", ".webm", ".webp")
    assert video["metadata"]["output"]["animated"] is True
    for artifact in (audio, video):
        with Image.open(artifact["preview_path"]) as preview:
            assert max(preview.size) == 256


def test_every_take_gets_a_fresh_seed_and_a_new_file(cli, server, home):
    prompt_id = add(cli, "image", IMAGE)
    seeds = set()
    for _ in range(2):
        code, (result,), err = generate(cli, prompt_id)
        assert code == 0, err
        seeds.add(result["artifacts"][0]["metadata"]["seed"])
        assert result["artifacts"][0]["metadata"]["cached"] is False
    assert len(seeds) == 2 and len(artifact_files(home)) == 2


def test_fixed_seed_is_recorded(cli, server):
    prompt_id = add(cli, "image", IMAGE)
    code, (result,), err = generate(cli, prompt_id, "--seed", "1234")
    assert code == 0, err
    assert result["artifacts"][0]["metadata"]["seed"] == 1234


def test_missing_tier_falls_back_and_says_why(cli, server):
    clip = add(cli, "video", VIDEO)
    code, (result,), err = generate(cli, clip, "--quality", "premium")
    assert code == 0, err
    meta = result["artifacts"][0]["metadata"]
    assert (meta["requested_tier"], meta["tier"]) == ("premium", "high")
    assert "premium" in meta["tier_reason"]


def test_functions_lists_the_registry(cli):
    functions = {f["name"]: f for f in cli.json("functions")}
    assert {"create_image", "create_audio", "create_video"} <= set(functions)
    image = functions["create_image"]
    assert image["kind"] == "image" and image["tiers"] == ["low", "standard", "high", "premium"]
    assert image["parameters"]["type"] == "object" and "prompt" in image["parameters"]["properties"]


def test_queue_only_without_wait(cli):
    prompt_id = add(cli, "image", IMAGE)
    code, out, err = cli("generate", prompt_id, "--json")
    assert code == 0, err
    (job_id,) = json.loads(out)
    (job,) = cli.json("jobs", "list")
    assert job["id"] == job_id and job["status"] == "queued"
    assert cli.json("prompt", "show", prompt_id)["status"] == "queued"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["99"], "prompt 99 does not exist"),
        (["{id}", "--quality", "ultra"], "--quality: unknown tier 'ultra'"),
        (["{id}", "--function", "nope"], "nope"),
        (["{id}", "--function", "create_audio"], "pick a function for image prompts"),
    ],
)
def test_bad_generate_input_exits_2_and_queues_nothing(cli, args, message):
    prompt_id = add(cli, "image", IMAGE)
    code, out, err = cli("generate", *[a.format(id=prompt_id) for a in args], "--wait")
    assert code == 2 and message in err and err.count("\n") == 1
    assert cli.json("jobs", "list") == []


def test_server_down_fails_the_job_with_what_to_do(cli, comfy_server, monkeypatch, home):
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", comfy_server.url)
    (home / "config.json").write_text('{"retry": {"max_s": 0.5}}')  # how long --wait waits
    comfy_server.kill()
    prompt_id = add(cli, "image", IMAGE)
    code, (result,), err = generate(cli, prompt_id)
    assert code == 1 and result["status"] == "failed"
    assert "not answering" in result["error"] and comfy_server.url in result["error"]
    assert cli.json("prompt", "show", prompt_id)["status"] == "error"
    assert artifact_files(home) == []


def test_execution_error_names_the_node_and_leaves_nothing(cli, server, home):
    server.fail_node("VAEDecode", exception_type="RuntimeError", message="decoder exploded")
    prompt_id = add(cli, "image", IMAGE)
    code, (result,), err = generate(cli, prompt_id)
    assert code == 1 and result["status"] == "failed" and result["error_kind"] == "permanent"
    assert "VAEDecode" in result["error"] and "decoder exploded" in result["error"]
    shown = cli.json("prompt", "show", prompt_id)
    assert shown["status"] == "error" and "decoder exploded" in shown["error"]
    assert artifact_files(home) == []


def test_out_of_memory_is_its_own_kind(cli, server):
    server.fail_node(
        "KSampler",
        exception_type="torch.OutOfMemoryError",
        message="Allocation on device 0 would exceed allowed memory. (out of memory)",
    )
    code, (result,), _ = generate(cli, add(cli, "image", IMAGE))
    assert code == 1 and result["error_kind"] == "out_of_memory"


def test_one_failure_does_not_stop_the_batch(cli, server):
    server.fail_node("VAEDecodeAudio", message="no audio today")
    image, song = add(cli, "image", IMAGE), add(cli, "audio", SONG)
    code, results, _ = generate(cli, song, image)
    assert code == 1
    assert [r["status"] for r in results] == ["failed", "done"]


def user_template(home: Path, function: str, mutate) -> Path:
    """Copy the bundled SDXL standard template into the home as `function`, then mutate it."""
    source = Path(__file__).resolve().parents[2] / "workflows" / "create_image" / "standard"
    target = home / "workflows" / function / "standard"
    shutil.copytree(source, target)
    template = json.loads((target / "template.json").read_text())
    workflow = json.loads((target / "workflow.json").read_text())
    template["function"] = function
    mutate(template, workflow)
    (target / "template.json").write_text(json.dumps(template))
    (target / "workflow.json").write_text(json.dumps(workflow))
    return target


def test_texts_a_workflow_shows_are_kept_with_the_take_not_made_takes(cli, server, home):
    def mutate(template, workflow):  # a "Show Text" of the prompt beside the saved image
        workflow["20"] = {"class_type": "PreviewAny", "inputs": {"source": ["15", 0]}}

    user_template(home, "create_image_shown", mutate)
    prompt_id = add(cli, "image", IMAGE)
    code, (result,), err = generate(cli, prompt_id, "--function", "create_image_shown")
    assert code == 0, err
    (take,) = result["artifacts"]  # the image only: no .txt take beside it
    assert Path(take["path"]).suffix == ".png"
    [[shown]] = take["metadata"]["texts"].values()
    assert 'a lighthouse at dusk "quoted" {braces}' in shown
    assert take["metadata"]["output"]["media"] == "image"


def test_a_workflow_whose_only_output_is_text_makes_a_text_take(cli, server, home):
    def mutate(template, workflow):
        workflow["20"] = {"class_type": "PreviewAny", "inputs": {"source": ["15", 0]}}
        del workflow["9"]  # no SaveImage: the text display is the only output

    user_template(home, "create_image_text", mutate)
    prompt_id = add(cli, "image", IMAGE)
    code, (result,), err = generate(cli, prompt_id, "--function", "create_image_text")
    assert code == 0, err
    (take,) = result["artifacts"]
    assert take["metadata"]["output"]["media"] == "text"
    assert "a lighthouse at dusk" in Path(take["path"]).read_text(encoding="utf-8")


def test_a_template_without_its_own_timeout_uses_the_configured_one(cli, server, home):
    def mutate(template, workflow):
        template.pop("timeout_s", None)

    user_template(home, "create_image_untimed", mutate)
    prompt_id = add(cli, "image", IMAGE)
    code, (result,), err = generate(cli, prompt_id, "--function", "create_image_untimed")
    assert code == 0 and result["status"] == "done", err


def test_missing_node_type_is_reported_before_anything_runs(cli, server, home):
    def mutate(template, workflow):
        workflow["8"]["class_type"] = "FancyUpscaleDecode"

    user_template(home, "create_image_custom", mutate)
    prompt_id = add(cli, "image", IMAGE)
    code, (result,), err = generate(cli, prompt_id, "--function", "create_image_custom")
    assert code == 1 and "FancyUpscaleDecode" in result["error"]
    assert requests.get(f"{server.url}/history", timeout=5).json() == {}  # nothing submitted


def test_missing_model_file_is_reported_by_name(cli, comfy_server, monkeypatch, tmp_path):
    from executors.demo_server.server import ComfyServer

    bare = ComfyServer(tmp_path / "bare", models={"checkpoints": []})
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", bare.start())
    try:
        code, (result,), _ = generate(cli, add(cli, "image", IMAGE))
    finally:
        bare.stop()
    assert code == 1 and "sd_xl_base_1.0.safetensors" in result["error"]


def test_server_side_validation_error_names_node_and_reason(cli, server, home):
    def mutate(template, workflow):
        template["parameters"]["steps"]["max"] = 100_000
        workflow["3"]["inputs"]["steps"] = 50_000  # ComfyUI allows at most 10000

    user_template(home, "create_image_steps", mutate)
    code, (result,), _ = generate(cli, add(cli, "image", IMAGE), "--function", "create_image_steps")
    assert code == 1 and result["error_kind"] == "permanent"
    assert "KSampler" in result["error"] and "steps" in result["error"]
    assert artifact_files(home) == []


def test_broken_user_template_is_reported_and_the_rest_still_work(cli, server, home):
    folder = home / "workflows" / "broken" / "standard"
    folder.mkdir(parents=True)
    (folder / "template.json").write_text("{not json")
    code, results, err = generate(cli, add(cli, "image", IMAGE))
    assert code == 0 and "broken" in err and "template.json" in err


def test_reference_image_is_uploaded_for_file_upload_parameters(cli, server, home, tmp_path):
    def mutate(template, workflow):
        workflow["30"] = {
            "class_type": "LoadImage",
            "inputs": {"image": "example.png"},
            "_meta": {"title": "Reference"},
        }
        workflow["31"] = {"class_type": "PreviewImage", "inputs": {"images": ["30", 0]}}
        template["parameters"]["reference_image"] = {
            "target": "Reference.image",
            "type": "file_upload",
        }

    user_template(home, "create_image_ref", mutate)
    picture = tmp_path / "ref.png"
    Image.new("RGB", (8, 8), "red").save(picture)
    prompt_id = add(cli, "image", json.dumps({"prompt": "x", "reference_image": str(picture)}))
    code, (result,), err = generate(cli, prompt_id, "--function", "create_image_ref")
    assert code == 0, err
    sent = result["artifacts"][0]["metadata"]["workflow"]["30"]["inputs"]["image"]
    assert sent.endswith("ref.png") and (server.input_dir / sent).is_file()


def test_cancel_interrupts_the_running_prompt(ctx, server, monkeypatch):
    monkeypatch.setenv("TAKEBOARD_COMFYUI_URL", server.url)
    from core.config import load_config

    server.set_step_delay(0.2)
    prompt = ctx.prompts.add("image", "slow", json.loads(IMAGE))
    events, stop = [], threading.Event()

    def on_event(event):
        events.append(event)
        if isinstance(event, JobProgress):
            stop.set()  # what Ctrl+C does in the CLI

    engine = build_engine(
        load_config(ctx.config.home), ctx.prompts, ctx.jobs, ctx.artifacts, on_event
    )
    (job,) = engine.queue([prompt.id])
    engine.run_until_done([job.id], stop)
    assert ctx.jobs.get(job.id).status.value == "cancelled"
    assert isinstance(events[-1], JobFinished) and events[-1].status == "cancelled"
    assert ctx.prompts.get(prompt.id).status.value == "cancelled"
    assert wait_for(  # the server stops at its next step, not at once
        lambda: requests.get(f"{server.url}/queue", timeout=5).json()["queue_running"] == [], 5
    ), "the interrupted prompt is still running on the server"


def test_demo_backend_runs_the_whole_flow_without_a_gpu(cli, home):
    prompt_id = add(cli, "image", IMAGE)
    code, out, err = cli("--demo", "generate", prompt_id, "--wait", "--json")
    assert code == 0, err
    assert "demo backend — placeholder media, no AI model" in err
    (result,) = json.loads(out)
    assert result["status"] == "done" and Path(result["artifacts"][0]["path"]).is_file()
    assert (home / "demo-comfyui").is_dir()  # the demo server's files stay inside the home
