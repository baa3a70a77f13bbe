"""Engine.reload_templates: a function imported after the engine started runs at once, with no
restart, on the project's ComfyUI protocol server; the swap is safe while jobs dispatch."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from core.config import load_config
from core.errors import TemplateError
from executors.templates import BUNDLED_DIR
from main import build_engine


def _engine(ctx):
    return build_engine(load_config(ctx.config.home), ctx.prompts, ctx.jobs, ctx.artifacts, print)


def _add_function(home: Path, name: str) -> None:
    """A user function made after start: the bundled SDXL low tier under a new name."""
    folder = home / "workflows" / name / "standard"
    shutil.copytree(BUNDLED_DIR / "create_image" / "low", folder)
    template = json.loads((folder / "template.json").read_text())
    (folder / "template.json").write_text(
        json.dumps({**template, "function": name, "quality": "standard"})
    )


def test_a_function_added_after_start_runs_after_reload(ctx, comfy_server, home):
    (home / "config.json").write_text(
        json.dumps({"comfyui": {"servers": [{"name": "gpu", "url": comfy_server.url}]}})
    )
    engine = _engine(ctx)
    # the prompt names its function (the editor's choice): no --function needed
    prompt = ctx.prompts.add("image", "p", {"prompt": "a lighthouse", "function": "late_image"})
    _add_function(home, "late_image")
    with pytest.raises(TemplateError, match="unknown function 'late_image'"):
        engine.queue([prompt.id])
    reloaded = engine.reload_templates()
    assert "late_image" in reloaded.names()
    assert engine.executor.templates is reloaded and engine.tools.templates is reloaded
    (job,) = engine.queue([prompt.id])
    assert job.function == "late_image"
    engine.run_until_done([job.id], stall_s=30)
    assert ctx.jobs.get(job.id).status.value == "done"
    (take,) = ctx.artifacts.for_prompt(prompt.id)
    assert take.metadata["template"]["function"] == "late_image"


def test_reloading_while_jobs_dispatch_loses_none(ctx, comfy_server, home):
    """Reloads on another thread while a batch runs: every job still runs once and is done."""
    (home / "config.json").write_text(
        json.dumps({"comfyui": {"servers": [{"name": "gpu", "url": comfy_server.url}]}})
    )
    engine = _engine(ctx)
    ids = [ctx.prompts.add("image", f"p{n}", {"prompt": f"sea {n}"}).id for n in range(6)]
    jobs = engine.queue(ids)
    done = threading.Event()

    def reload_until_done() -> None:
        while not done.is_set():
            engine.reload_templates()

    reloader = threading.Thread(target=reload_until_done, daemon=True)
    reloader.start()
    try:
        engine.run_until_done([job.id for job in jobs], stall_s=30)
    finally:
        done.set()
        reloader.join(timeout=10)
    assert [ctx.jobs.get(job.id).status.value for job in jobs] == ["done"] * 6
    assert ctx.artifacts.count() == 6
