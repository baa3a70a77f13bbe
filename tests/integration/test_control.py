"""The engine API (executors/control.py) as main.py wires it, on a real library: job control is
one path with or without an engine, retry refuses what cannot run again, a URL is probed as
the pool would, and the demo backend joins and leaves the pool (a real server on loopback)."""

from __future__ import annotations

import urllib.request

import pytest

from core.errors import InputError
from core.jobs import JobEvent, JobFinished, JobQueued
from core.models import JobStatus
from executors.control import DEMO_NAME
from main import build_context


def queued(ctx, events: list[JobEvent], count: int = 1) -> list[int]:
    """`count` jobs of a new prompt, queued through an opened (not started) engine."""
    ctx.control.open(events.append)
    prompt = ctx.prompts.add("image", "Fox", {"prompt": "a red fox"})
    return [job.id for job in ctx.control.queue([prompt.id] * count)]


def test_cancel_is_one_path_with_or_without_an_engine(ctx):
    events: list[JobEvent] = []
    first, second = queued(ctx, events, 2)
    assert [type(e) for e in events] == [JobQueued, JobQueued]
    assert ctx.control.cancel(first).status is JobStatus.CANCELLED
    assert events[-1] == JobFinished(first, "cancelled", "cancelled by the user")
    terminal = build_context(ctx.config, ctx.prompts.db)  # a terminal's `jobs cancel`: no engine
    assert terminal.control.cancel(second).status is JobStatus.CANCELLED
    assert ctx.control.counts().queued == 0


def test_retry_refuses_a_job_that_cannot_run_again_and_requeues_failed_ones(ctx):
    waiting, failed = queued(ctx, [], 2)
    ctx.jobs.update(failed, status=JobStatus.FAILED, error="boom")
    with pytest.raises(InputError, match=f"job {waiting} is queued"):
        ctx.control.retry(waiting)
    assert ctx.control.counts().failed == 1  # nothing was queued again
    (again,) = ctx.control.retry(front=True)  # every failed job
    assert again.id == failed and again.status is JobStatus.QUEUED
    assert ctx.control.counts().queued == 2


def test_pause_and_resume_reach_every_process(ctx):
    ctx.control.pause()
    assert ctx.jobs.paused()
    ctx.control.resume()
    assert not ctx.jobs.paused()


def test_probe_asks_one_url_as_the_pool_would(ctx, comfy_server):
    answering = ctx.control.probe(comfy_server.url)
    assert answering.online and answering.kind == "comfyui"
    silent = ctx.control.probe("http://127.0.0.1:9")
    assert silent.online is False and "not answering" in (silent.last_error or "")


def test_the_demo_backend_joins_the_pool_and_stops_when_it_leaves(ctx):
    ctx.control.open(lambda event: None)
    assert not ctx.control.demo_on
    ctx.control.start_demo()
    (demo,) = [s for s in ctx.control.backends() if s.name == DEMO_NAME]
    assert ctx.control.demo_on and demo.online
    ctx.control.shutdown()  # as quitting does: the demo started here stops
    assert not ctx.control.demo_on
    with pytest.raises(OSError):
        urllib.request.urlopen(demo.url + "/system_stats", timeout=2)
