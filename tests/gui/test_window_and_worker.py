"""The window and a `worker` process on one library share the queue: every job runs once,
counted on the protocol test server's side."""

from __future__ import annotations

import json

from app.application import Application
from tests.gui.conftest import pump_until, wired
from tests.integration.test_two_processes import (
    CONFIG,
    check_each_ran_once,
    ended,
    owners,
    some_job_runs,
    spawn,
)


def test_window_and_worker_never_run_a_job_twice(root, ctx, cli, home, comfy_server):
    comfy_server.set_step_delay(0.02)  # about half a second a job
    (home / "config.json").write_text(json.dumps(CONFIG))
    prompts = [
        ctx.prompts.add("image", f"p{n}", {"prompt": f"a lighthouse, take {n}"}).id
        for n in range(8)
    ]
    app = Application(root, wired(ctx, comfy_server.url))
    try:
        app.generate(prompts)
        assert pump_until(root, lambda: some_job_runs(comfy_server)), "the window started nothing"
        worker = spawn(home, comfy_server.url, "worker", "--until-idle")  # must not steal
        finished = lambda: {j.status.value for j in ctx.jobs.list()} == {"done"}  # noqa: E731
        assert pump_until(root, finished, 60), [j.status for j in ctx.jobs.list()]
        code, _, err = ended(worker)
        assert code == 0, err
    finally:
        app.stop_engine()
        app.bridge.stop()
    check_each_ran_once(cli, comfy_server, 8)
    assert len(set(owners(home).values())) <= 2
