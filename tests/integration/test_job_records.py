"""A job's typed records (JobSpec, Submission, RunState) on a real library file: `jobs retry`
runs the same spec again, route included, and a library written by an earlier version reads
its jobs as they were stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import DatabaseError
from core.jobs import JobDocument, JobSpec, RunState, Submission, job_document, read_job_document
from core.models import JobStatus
from repositories.database import Database
from repositories.jobs import JobRepository
from tests.integration.test_routing import FAST, GENERATOR, add_template, drawer

ROUTING = [{"name": "sketches", "when": {"kind": "image", "tags": ["sketch"]},
            "use": ["draw_a", "draw_b"]}]  # fmt: skip

SUBMITTED = {  # a ComfyUI submission as the engine has stored it since it stored them
    "remote_id": "0b9c8d1e-0000-4000-8000-000000000001",
    "server": "local",
    "workflow": {"3": {"class_type": "KSampler", "inputs": {"seed": 5}}},
    "template": {"function": "create_image", "quality": "standard", "version": 1, "path": "x"},
    "tier": "standard",
    "requested_tier": "standard",
    "tier_reason": None,
    "seed": 5,
    "values": {"prompt": "fox"},
    "timeout_s": 600.0,
    "accepted": True,
}


def stored_job(home: Path, job_id: int):
    database = Database(home / "takeboard.db")
    try:
        return JobRepository(database).get(job_id)
    finally:
        database.close()


def test_jobs_retry_keeps_the_route_and_runs_the_same_spec(cli, home):
    """The first run falls back to draw_b (draw_a's program is missing), which fails; once
    draw_a's program is there, `jobs retry` runs the route again from its first function —
    not the function that failed last (which is all a retry without the route would run)."""
    missing = home / "generator.py"
    failing = {**drawer("b"), "command": [*drawer("b")["command"], "--mode", "fail"]}
    cli.configure(**FAST, routing=ROUTING, backends={"command": [drawer("a", str(missing)),
                                                                  failing]})  # fmt: skip
    add_template(home, "draw_a", "a")
    add_template(home, "draw_b", "b")
    prompt_id = cli.add_prompt("image", {"prompt": "a fox", "style_tags": ["sketch"]})
    code, _, _ = cli("generate", prompt_id, "--wait")
    assert code == 1
    (job,) = cli.json("jobs", "list")
    assert (job["status"], job["function"], job["backend"]) == ("failed", "draw_b", "b")
    first = stored_job(home, job["id"])
    assert first.spec.route == ("draw_a", "draw_b") and first.spec.function == "draw_a"

    missing.write_text(Path(GENERATOR).read_text())  # draw_a's program is there now
    code, _, err = cli("jobs", "retry", str(job["id"]))
    assert code == 0, err
    assert stored_job(home, job["id"]).spec == first.spec
    code, _, err = cli("worker", "--until-idle")
    assert code == 0, err
    (again,) = cli.json("jobs", "list")
    assert (again["status"], again["function"], again["backend"]) == ("done", "draw_a", "a")
    retried = stored_job(home, job["id"])
    assert retried.spec == first.spec and retried.submission.server == "a"


def test_a_library_of_an_earlier_version_reads_its_jobs_and_retries_them(home):
    """Jobs stored before the spec recorded its function and tier (and one from before routes
    were stored) read as they were queued; the upgrade loses nothing."""
    path = home / "takeboard.db"
    old = Database(path, migrate_to=4)
    old.peewee.execute_sql(
        "INSERT INTO prompt (kind, title, data, search_text, tags, created_at, updated_at) "
        "VALUES ('image', 'fox', '{\"prompt\": \"fox\"}', 'fox', '[]', 1, 1)"
    )
    routed = {"data": {"prompt": "fox"}, "prompt_version": 1, "overrides": {"seed": 9},
              "route": ["draw_a", "draw_b"], "submission": SUBMITTED, "avoid": ["b"],
              "dropped_from": "high"}  # fmt: skip
    before_routes = {"data": {"prompt": "fox"}, "overrides": {}}
    for function, quality, params in (
        ("draw_b", "standard", routed),
        ("create_image", "low", before_routes),
    ):
        old.peewee.execute_sql(
            "INSERT INTO job (prompt_id, function, quality, status, params, created_at, "
            "updated_at) VALUES (1, ?, ?, 'failed', ?, 1, 1)",
            (function, quality, json.dumps(params)),
        )
    old.close()
    database = Database(path)
    jobs = JobRepository(database)
    first, second = jobs.get(1), jobs.get(2)
    assert first.spec == JobSpec(
        "draw_a", "high", {"prompt": "fox"}, 1, {"seed": 9}, ("draw_a", "draw_b")
    )
    assert first.spec.seed == 9
    assert first.submission == Submission.from_json(SUBMITTED) and first.submission.accepted
    assert first.run == RunState(avoid=("b",), dropped_from="high")
    assert second.spec == JobSpec("create_image", "low", {"prompt": "fox"}, overrides={})
    assert second.spec.functions == ("create_image",)
    retried = jobs.requeue(1)
    assert (retried.status, retried.function, retried.quality) == (JobStatus.QUEUED, "draw_a",
                                                                   "high")  # fmt: skip
    assert retried.spec == first.spec and retried.submission is None and retried.run == RunState()
    database.close()


def test_a_damaged_job_document_is_one_line_that_names_the_job(home):
    database = Database(home / "takeboard.db")
    database.peewee.execute_sql(
        "INSERT INTO prompt (kind, title, data, search_text, tags, created_at, updated_at) "
        "VALUES ('image', 'fox', '{\"prompt\": \"fox\"}', 'fox', '[]', 1, 1)"
    )
    database.peewee.execute_sql(
        "INSERT INTO job (prompt_id, function, quality, params, created_at, updated_at) "
        "VALUES (1, 'create_image', 'low', '{\"route\": \"create_image\"}', 1, 1)"
    )
    with pytest.raises(DatabaseError, match=r"^job 1: its stored parameters are damaged \(route"):
        JobRepository(database).get(1)
    database.close()


def test_the_stored_document_round_trips_every_record():
    spec = JobSpec("draw_a", "high", {"prompt": "fox"}, 3, {"seed": 1}, ("draw_a", "draw_b"),
                   {"id": "b1", "axes": [], "cell": []})  # fmt: skip
    tool = Submission.from_json({**SUBMITTED, "backend": "command", "request": {"prompt": "x"}})
    document = JobDocument(spec, tool, RunState(2, ("a",), ("b",), "premium"))
    stored = json.loads(json.dumps(job_document(document)))
    assert "request" in stored["submission"] and "workflow" not in stored["submission"]
    assert read_job_document(stored, "ignored", "ignored") == document
