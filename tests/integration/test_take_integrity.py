"""A take is all its files or none; records of vanished files and unmade previews are mended on
start (issue 15 item 3). Real SQLite files, real files on disk, the project's ComfyUI server."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from core.errors import StorageError
from core.jobs import JobSpec
from core.models import JobRecord
from executors.demo_server.media import SAMPLES  # recorded from ComfyUI 0.3.64
from executors.storage import ArtifactStore
from executors.takes import TakeFile, TakeRecorder

BUNDLED = Path(__file__).parents[2] / "workflows" / "create_image" / "standard"
PNG = SAMPLES / "b1_fx_basic_no_workflow.png"


def two_output_template(home: Path) -> None:
    """The bundled image template with a second SaveImage: every run saves two files."""
    folder = home / "workflows" / "create_image" / "standard"
    shutil.copytree(BUNDLED, folder)
    graph = json.loads((folder / "workflow.json").read_text())
    inputs = {"filename_prefix": "second", "images": ["8", 0]}
    graph["10"] = {"class_type": "SaveImage", "inputs": inputs}
    (folder / "workflow.json").write_text(json.dumps(graph))


def take_files(home: Path) -> list[Path]:
    return [p for p in (home / "artifacts").rglob("*") if p.is_file()]


def test_a_bad_second_output_leaves_no_record_and_no_folder(cli, comfy_server, home):
    """The first output is stored, the second is refused (a PNG under a .webp name): the job
    fails and neither the folder nor any record of the first file stays."""
    two_output_template(home)
    cli.configure(comfyui={"servers": [{"name": "fake", "url": comfy_server.url}]})
    comfy_server.hostile_outputs(("first.png", ""), ("second.webp", ""))
    prompt_id = cli.add_prompt("image", {"prompt": "a fox"})
    code, out, err = cli("generate", prompt_id, "--wait", "--json")
    assert code == 1, err
    (result,) = json.loads(out)
    assert result["status"] == "failed" and "second.webp" in result["error"]
    assert "nothing was stored" in result["error"]
    assert cli.json("artifacts", "list") == []
    assert take_files(home) == []
    assert list((home / "artifacts" / "image").iterdir()) == []


def test_both_outputs_of_a_good_run_are_one_take(cli, comfy_server, home):
    two_output_template(home)
    cli.configure(comfyui={"servers": [{"name": "fake", "url": comfy_server.url}]})
    prompt_id = cli.add_prompt("image", {"prompt": "a fox"})
    code, out, err = cli("generate", prompt_id, "--wait", "--json")
    assert code == 0, err
    artifacts = json.loads(out)[0]["artifacts"]
    assert len(artifacts) == 2
    assert len({Path(a["path"]).parent for a in artifacts}) == 1  # one take folder


# --- the recorder on its own: real library, real files -------------------------------------


@pytest.fixture
def recorder(ctx, home):
    return TakeRecorder(ArtifactStore(home), ctx.artifacts, home / "thumbnails")


def job_for(ctx, prompt) -> JobRecord:
    return ctx.jobs.add(prompt_id=prompt.id, spec=JobSpec("create_image", "standard"))


def copy_png(store: ArtifactStore, name: str):
    return lambda take_dir: TakeFile(store.store_file(PNG, take_dir / name), {"n": name})


def test_a_failing_fetch_writes_no_record(recorder, ctx, home):
    prompt = ctx.prompts.add("image", "t", {"prompt": "x"})
    events: list = []

    def broken(_take_dir: Path) -> TakeFile:
        raise StorageError("the second file broke")

    fetches = [copy_png(recorder.store, "a.png"), broken]
    with pytest.raises(StorageError, match="second file broke"):
        recorder.save_take(job_for(ctx, prompt), prompt, fetches, events.append)
    assert ctx.artifacts.count() == 0 and take_files(home) == [] and events == []


def test_a_failing_record_insert_removes_the_files(recorder, ctx, home):
    prompt = ctx.prompts.add("image", "t", {"prompt": "x"})
    job = job_for(ctx, prompt)
    (first,) = recorder.save_take(job, prompt, [copy_png(recorder.store, "a.png")], [].append)

    def same_path(take_dir: Path) -> TakeFile:  # a record whose path is taken: UNIQUE fails
        stored = recorder.store.store_file(PNG, take_dir / "b.png")
        return TakeFile(dataclasses.replace(stored, path=home / first.path), {})

    with pytest.raises(Exception):  # noqa: B017 - whichever error, nothing may stay
        recorder.save_take(job, prompt, [copy_png(recorder.store, "c.png"), same_path], [].append)
    assert ctx.artifacts.count() == 1
    assert take_files(home) == [home / first.path]
    recorder.drain()


def test_recover_forgets_vanished_files_and_makes_missing_previews(recorder, ctx, home, caplog):
    prompt = ctx.prompts.add("image", "t", {"prompt": "x"})
    job = job_for(ctx, prompt)
    kept, gone, unpreviewed = (
        recorder.save_take(job, prompt, [copy_png(recorder.store, f"{n}.png")], [].append)[0]
        for n in ("kept", "gone", "unpreviewed")
    )
    recorder.drain()
    (home / gone.path).unlink()
    with ctx.artifacts.db.write():  # as a kill -9 before the thumbnail thread ran leaves it
        ctx.artifacts.db.peewee.execute_sql(
            "UPDATE artifact SET preview_path = NULL WHERE id = ?", (unpreviewed.id,)
        )
    events: list = []
    recovery = recorder.recover(events.append)
    assert (recovery.removed, recovery.previews, recovery.missing) == (1, 1, (gone.path,))
    assert [a.id for a in ctx.artifacts.page()] == [kept.id, unpreviewed.id]
    healed = ctx.artifacts.get(unpreviewed.id)
    assert healed.preview_path and (home / healed.preview_path).is_file()
    assert [e.artifact_id for e in events] == [unpreviewed.id]
    assert f"take record {gone.id}" in caplog.text and "removed 1 take records" in caplog.text


def test_recover_keeps_the_records_when_every_file_is_gone(recorder, ctx, home):
    prompt = ctx.prompts.add("image", "t", {"prompt": "x"})
    job = job_for(ctx, prompt)
    for name in ("a.png", "b.png"):
        recorder.save_take(job, prompt, [copy_png(recorder.store, name)], [].append)
    recorder.drain()
    shutil.rmtree(home / "artifacts")  # an unmounted or moved folder, not damage
    recovery = recorder.recover([].append)
    assert recovery.removed == 0 and "none of the 2 take files" in recovery.held_back
    assert ctx.artifacts.count() == 2
    assert recorder.recover([].append, force=True).removed == 2


def test_on_start_previews_always_and_the_file_sweep_once_a_day(recorder, ctx, home):
    prompt = ctx.prompts.add("image", "t", {"prompt": "x"})
    job = job_for(ctx, prompt)
    gone, unpreviewed, kept = (
        recorder.save_take(job, prompt, [copy_png(recorder.store, f"{n}.png")], [].append)[0]
        for n in ("gone", "unpreviewed", "kept")
    )
    recorder.drain()
    (home / gone.path).unlink()
    with ctx.artifacts.db.write():
        ctx.artifacts.db.peewee.execute_sql(
            "UPDATE artifact SET preview_path = NULL WHERE id = ?", (unpreviewed.id,)
        )
    (home / ".takes-checked").touch()  # swept today: only the previews are made
    recorder.recover_later([].append)
    recorder.drain()
    assert ctx.artifacts.get(unpreviewed.id).preview_path
    assert ctx.artifacts.count() == 3
    os.utime(home / ".takes-checked", (0, 0))  # a day later: the sweep runs too
    recorder.recover_later([].append)
    recorder.drain()
    assert [a.id for a in ctx.artifacts.page()] == [unpreviewed.id, kept.id]


def test_quitting_stops_the_start_up_sweep_at_the_next_take(recorder, ctx, home, monkeypatch):
    prompt = ctx.prompts.add("image", "t", {"prompt": "x"})
    job = job_for(ctx, prompt)
    for n in range(5):
        recorder.save_take(job, prompt, [copy_png(recorder.store, f"{n}.png")], [].append)
    recorder.drain()
    with ctx.artifacts.db.write():
        ctx.artifacts.db.peewee.execute_sql("UPDATE artifact SET preview_path = NULL")
    (home / ".takes-checked").touch()
    started, release, made = threading.Event(), threading.Event(), []
    real = recorder._make_preview

    def slow_preview(*args):
        started.set()
        release.wait(10)
        made.append(args)
        return real(*args)

    monkeypatch.setattr(recorder, "_make_preview", slow_preview)
    recorder.recover_later([].append)
    assert started.wait(10)
    recorder.stop_sweep()  # what Engine.stop does first
    release.set()
    recorder.drain()
    assert len(made) == 1  # the take in hand finished; the other four wait for the next start
