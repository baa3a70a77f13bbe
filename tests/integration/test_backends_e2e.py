"""A WanGP server and a Gradio app as real pool members: prompts routed to them through the
CLI become artifacts with previews, like ComfyUI takes."""

from __future__ import annotations

import av

from tests.gradio_app import gradio_app  # noqa: F401  (the fixture)
from tests.wangp_server import wangp_server_fixture  # noqa: F401  (the fixture)


def test_a_quick_video_preview_runs_on_wangp_and_gets_a_poster_frame(cli, home, wangp_server):
    wangp_server.steps, wangp_server.step_delay_s = 4, 0.01
    cli.configure(backends={"wangp": [{"name": "wangp", "url": wangp_server.url}]})
    prompt_id = cli.add_prompt("video", {"prompt": "waves at dusk", "quality": "low"})
    code, _, err = cli("generate", prompt_id, "--wait")
    assert code == 0, err
    (job,) = cli.json("jobs", "list")
    assert (job["status"], job["backend"], job["function"]) == ("done", "wangp", "wangp_video")
    (artifact,) = cli.json("artifacts", "list")
    with av.open(artifact["path"]) as video:
        assert video.streams.video[0].frames > 0
    assert artifact["preview_path"] and artifact["metadata"]["backend"] == "wangp"  # a poster
    sent = artifact["metadata"]["request"]["inputs"]
    assert sent["prompt"] == "waves at dusk" and sent["num_inference_steps"] == 10  # low tier
    (generate,) = wangp_server.tool_calls("wangp_generate")
    assert generate["source"]["seed"] == artifact["metadata"]["seed"]


def test_a_sound_effect_prompt_runs_on_the_gradio_app(cli, home, gradio_app):  # noqa: F811
    cli.configure(backends={"gradio": [{"name": "sfx", "url": gradio_app.url}]})
    data = {"task": "sfx", "prompt": "rain on a tin roof", "duration_s": 1}
    prompt_id = cli.add_prompt("audio", data)
    code, _, err = cli("generate", prompt_id, "--wait")
    assert code == 0, err
    (job,) = cli.json("jobs", "list")
    assert (job["status"], job["backend"], job["function"]) == ("done", "sfx", "sound_effect")
    (artifact,) = cli.json("artifacts", "list")
    assert artifact["metadata"]["media"]["duration_s"] == 1.0
    assert artifact["metadata"]["request"]["api_name"] == "/sound_effect"
    assert artifact["preview_path"]  # a waveform


def test_a_gradio_app_that_is_down_fails_the_job_with_how_to_start_it(cli, home):
    cli.configure(
        retry={"attempts": 1, "initial_s": 0.05, "max_s": 0.2, "jitter_s": 0.01},
        backends={"gradio": [{"name": "sfx", "url": "http://127.0.0.1:9"}]},
    )
    prompt_id = cli.add_prompt("audio", {"task": "sfx", "prompt": "thunder"})
    code, _, _ = cli("generate", prompt_id, "--wait")
    assert code == 1
    (job,) = cli.json("jobs", "list")
    assert job["status"] == "failed" and "http://127.0.0.1:9" in job["error"]
    assert cli.json("artifacts", "list") == []


def test_a_wangp_video_that_cannot_be_downloaded_fails_its_job_in_one_line_and_retries(
    cli, home, wangp_server
):
    wangp_server.steps, wangp_server.step_delay_s = 2, 0.01
    wangp_server.fail_downloads(3)  # every try of the first job
    cli.configure(
        retry={"attempts": 1, "initial_s": 0.05, "max_s": 0.2, "jitter_s": 0.01},
        backends={"wangp": [{"name": "wangp", "url": wangp_server.url}]},
    )
    prompt_id = cli.add_prompt("video", {"prompt": "waves at dusk", "quality": "low"})
    code, _, _ = cli("generate", prompt_id, "--wait")
    assert code == 1
    (job,) = cli.json("jobs", "list")
    assert job["status"] == "failed" and cli.json("artifacts", "list") == []  # never done
    assert "WanGP made " in job["error"] and "\n" not in job["error"]
    assert "could not be downloaded (3 tries)" in job["error"]

    code, _, err = cli("jobs", "retry", str(job["id"]))
    assert code == 0, err
    code, _, err = cli("worker", "--until-idle")
    assert code == 0, err
    (job,) = cli.json("jobs", "list")
    (artifact,) = cli.json("artifacts", "list")
    assert job["status"] == "done" and artifact["metadata"]["backend"] == "wangp"
