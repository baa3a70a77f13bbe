import sqlite3
import threading
import time

import pytest

from core.errors import DatabaseError, InputError, NotFound
from core.jobs import JobSpec, RunState
from core.models import JobStatus, MediaKind, PromptQuery, PromptStatus
from repositories.database import SCHEMA_VERSION, Database
from repositories.prompts import fts_expression

IMAGE = {"prompt": "a red fox in deep snow"}


def add_image(ctx, title="Fox", prompt="a red fox in deep snow", **kw):
    return ctx.prompts.add("image", title, {"prompt": prompt}, **kw)


def test_add_get_update_round_trip(ctx):
    record = add_image(ctx, tags=["animals", "winter"], favorite=True)
    again = ctx.prompts.get(record.id)
    assert again == record
    assert again.kind is MediaKind.IMAGE and again.tags == ("animals", "winter")
    assert again.favorite and again.status is PromptStatus.DRAFT
    updated = ctx.prompts.update(record.id, data={"prompt": "an arctic fox"}, favorite=False)
    assert updated.data["prompt"] == "an arctic fox" and not updated.favorite
    assert updated.tags == ("animals", "winter") and updated.updated_at >= record.updated_at


def test_invalid_update_writes_nothing(ctx):
    record = add_image(ctx)
    with pytest.raises(InputError, match="data.prompt"):
        ctx.prompts.update(record.id, data={"prompt": ""})
    assert ctx.prompts.get(record.id) == record


def test_unknown_ids_raise_not_found(ctx):
    for call in (
        lambda: ctx.prompts.get(9),
        lambda: ctx.prompts.update(9, title="x"),
        lambda: ctx.prompts.delete(9),
        lambda: ctx.artifacts.get(9),
        lambda: ctx.jobs.get(9),
        lambda: ctx.jobs.update(9, status="done"),
        lambda: ctx.prompts.set_status(9, PromptStatus.READY),
    ):
        with pytest.raises(NotFound):
            call()


@pytest.mark.parametrize(
    "words",
    [
        "fox",
        "FOX",
        "snow fox",
        "fo",
        "title:x",
        'red "fox',
        "fox AND",
        "foo-bar",
        "c++",
        "NEAR(",
        "*",
        "fox)",
    ],
)
def test_search_never_breaks_on_user_text(ctx, words):
    add_image(ctx)
    results = ctx.prompts.page(PromptQuery(search=words))
    assert isinstance(results, list)


def test_search_covers_title_prompt_lyrics_and_tags(ctx):
    fox = add_image(ctx, title="Winter")
    song = ctx.prompts.add(
        "audio", "Shanty", {"lyrics": "[verse]\nheave away", "tags": ["folk"]}, tags=["sea"]
    )
    ids = lambda q: {r.id for r in ctx.prompts.page(PromptQuery(search=q))}  # noqa: E731
    assert ids("fox") == {fox.id}
    assert ids("winter") == {fox.id}
    assert ids("heave") == {song.id}
    assert ids("folk") == {song.id} and ids("sea") == {song.id}
    assert ids("foxes") == {fox.id}  # porter stemming
    assert ids("shan") == {song.id}  # prefix on the last word, for search-as-you-type
    assert ctx.prompts.count(PromptQuery(search="fox")) == 1


def test_search_follows_edits(ctx):
    record = add_image(ctx, title="Animal")
    ctx.prompts.update(record.id, data={"prompt": "a grey wolf"})
    assert ctx.prompts.page(PromptQuery(search="fox")) == []
    assert [r.id for r in ctx.prompts.page(PromptQuery(search="wolf"))] == [record.id]


def test_filters(ctx):
    fox = add_image(ctx, tags=["animals"], favorite=True)
    add_image(ctx, title="Car", prompt="a red car")
    song = ctx.prompts.add("audio", "Song", {"lyrics": "la"})
    ctx.prompts.set_status(song.id, PromptStatus.ERROR, "boom")
    ids = lambda **kw: [r.id for r in ctx.prompts.page(PromptQuery(**kw))]  # noqa: E731
    assert ids(kind=MediaKind.AUDIO) == [song.id]
    assert ids(status=PromptStatus.ERROR) == [song.id]
    assert ctx.prompts.get(song.id).error == "boom"
    assert ids(tag="animals") == [fox.id]
    assert ids(favorite=True) == [fox.id]
    assert ids(search="red", kind=MediaKind.IMAGE, tag="animals") == [fox.id]
    assert ctx.prompts.count_by_status() == {"draft": 2, "error": 1}


def test_paging_by_offset_and_keyset(ctx):
    ids = [add_image(ctx, title=f"p{n}").id for n in range(25)]
    newest_first = list(reversed(ids))
    offset_pages = [r.id for o in range(0, 25, 10) for r in ctx.prompts.page(limit=10, offset=o)]
    assert offset_pages == newest_first
    seen, after = [], None
    while page := ctx.prompts.page(limit=7, after=after):
        seen += [r.id for r in page]
        after = (page[-1].updated_at, page[-1].id)
    assert seen == newest_first
    by_title = ctx.prompts.page(PromptQuery(sort="title", descending=False), limit=3)
    assert [r.title for r in by_title] == ["p0", "p1", "p10"]
    with pytest.raises(ValueError, match="keyset"):
        ctx.prompts.page(PromptQuery(sort="title"), after=("p1", 1))


def test_trash_and_restore(ctx):
    record = add_image(ctx)
    ctx.prompts.delete(record.id)
    assert ctx.prompts.page() == [] and ctx.prompts.count() == 0
    assert [r.id for r in ctx.prompts.page(PromptQuery(trash=True))] == [record.id]
    with pytest.raises(NotFound):
        ctx.prompts.get(record.id)
    ctx.prompts.restore(record.id)
    assert ctx.prompts.get(record.id).deleted_at is None


def test_add_many_is_all_or_nothing(ctx):
    good = {"kind": "image", "title": "a", "data": IMAGE}
    with pytest.raises(InputError, match="item 2: data.prompt"):
        ctx.prompts.add_many([good, {"kind": "image", "title": "b", "data": {}}])
    assert ctx.prompts.count() == 0
    with pytest.raises(InputError, match="item 1: expected an object"):
        ctx.prompts.add_many(["x"])
    assert len(ctx.prompts.add_many([good, good])) == 2


def test_artifacts_and_take_count(ctx):
    record = add_image(ctx)
    job = ctx.jobs.add(
        prompt_id=record.id, spec=JobSpec("create_image", "standard", overrides={"seed": 7})
    )
    first = ctx.artifacts.add(
        prompt_id=record.id,
        kind="image",
        path="artifacts/image/a.png",
        sha256="00",
        size=3,
        width=64,
        height=32,
        job_id=job.id,
        metadata={"seed": 7, "tier": "standard"},
    )
    ctx.artifacts.add(
        prompt_id=record.id, kind="image", path="artifacts/image/b.png", sha256="11", size=4
    )
    assert ctx.prompts.get(record.id).take_count == 2
    assert [a.path for a in ctx.artifacts.for_prompt(record.id)][-1] == "artifacts/image/a.png"
    assert ctx.artifacts.get(first.id).metadata == {"seed": 7, "tier": "standard"}
    assert ctx.artifacts.count() == 2 and len(ctx.artifacts.page(limit=1)) == 1
    assert ctx.artifacts.delete(first.id).path == "artifacts/image/a.png"
    assert ctx.prompts.get(record.id).take_count == 1


def test_job_lifecycle_timestamps(ctx):
    record = add_image(ctx)
    job = ctx.jobs.add(prompt_id=record.id, spec=JobSpec("create_image", "high"), priority=1)
    low = ctx.jobs.add(prompt_id=record.id, spec=JobSpec("create_image", "low"))
    assert ctx.jobs.eligible(time.time())[0].id == job.id  # priority first
    running = ctx.jobs.update(job.id, status=JobStatus.RUNNING, backend="local", attempts=1)
    assert running.started_at and running.finished_at is None
    failed = ctx.jobs.update(
        job.id, status="failed", error_kind="permanent", error="node 4 …", run=RunState(lost=1)
    )
    assert failed.finished_at and failed.run == RunState(lost=1)
    assert [j.id for j in ctx.jobs.list(status=JobStatus.QUEUED)] == [low.id]
    assert [j.id for j in ctx.jobs.list(prompt_id=record.id)] == [low.id, job.id]


def test_old_database_is_upgraded(home):
    path = home / "old.db"
    old = Database(path, migrate_to=1)
    assert old.version() == 1
    old.peewee.execute_sql(
        "INSERT INTO prompt (kind, title, data, search_text, tags, created_at, updated_at) "
        "VALUES ('image', 'Old fox', '{\"prompt\": \"fox\"}', 'fox', '[]', 1, 1)"
    )
    old.close()
    upgraded = Database(path)
    assert upgraded.version() == SCHEMA_VERSION
    from repositories.prompts import PromptRepository

    assert [r.title for r in PromptRepository(upgraded).page(PromptQuery(search="fox"))] == [
        "Old fox"
    ]
    upgraded.close()


def test_newer_database_is_refused(home):
    path = home / "new.db"
    Database(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(DatabaseError, match="newer Takeboard"):
        Database(path)


def test_corrupt_database_is_a_clear_error(home):
    path = home / "bad.db"
    path.write_bytes(b"this is not sqlite" * 100)
    damaged = r"is damaged \(file is not a database\).*library repair"
    with pytest.raises(DatabaseError, match=damaged):
        Database(path)


def test_fts_expression_quotes_every_token():
    assert fts_expression('red "fox') == '"red" """fox"*'
    assert fts_expression("  ") == ""


def test_four_writer_threads_and_a_reader_never_see_locked(ctx):
    """tk-notes' case: read-then-write transactions in 4 threads while the main thread reads."""
    seeds = [add_image(ctx, title=f"seed {n}").id for n in range(20)]
    errors: list[BaseException] = []
    stop = time.monotonic() + 2.0

    def writer(n: int) -> None:
        try:
            count = 0
            while time.monotonic() < stop and count < 400:
                prompt_id = seeds[(n + count) % len(seeds)]
                ctx.prompts.update(prompt_id, data={"prompt": f"fox {n} {count}"})
                ctx.artifacts.add(
                    prompt_id=prompt_id,
                    kind="image",
                    sha256="0",
                    size=1,
                    path=f"artifacts/{n}/{count}.png",
                )
                count += 1
        except BaseException as exc:  # noqa: BLE001 — collected and asserted below
            errors.append(exc)
        finally:
            ctx.prompts.db.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    reads = 0
    while any(t.is_alive() for t in threads):
        ctx.prompts.page(PromptQuery(search="fox"), limit=50)
        ctx.prompts.count_by_status()
        reads += 1
    for thread in threads:
        thread.join()
    assert errors == []
    assert reads > 0 and ctx.artifacts.count() > 0


def test_prompt_status_follows_all_its_jobs(ctx):
    record = add_image(ctx)
    status = lambda: ctx.prompts.get(record.id).status.value  # noqa: E731
    first = ctx.jobs.add(prompt_id=record.id, spec=JobSpec("create_image", "low"))
    second = ctx.jobs.add(prompt_id=record.id, spec=JobSpec("create_image", "high"))
    assert status() == "queued"
    ctx.jobs.update(first.id, status="running")
    assert status() == "processing"
    ctx.jobs.update(first.id, status="done")
    assert status() == "queued"  # the second take still waits
    ctx.jobs.update(second.id, status="running")
    ctx.jobs.update(second.id, status="failed", error="node 3 (KSampler): boom")
    assert status() == "error" and ctx.prompts.get(record.id).error == "node 3 (KSampler): boom"
    third = ctx.jobs.add(prompt_id=record.id, spec=JobSpec("create_image", "low"))
    ctx.jobs.update(third.id, status="cancelled")
    assert status() == "cancelled"
    fourth = ctx.jobs.add(prompt_id=record.id, spec=JobSpec("create_image", "low"))
    ctx.jobs.update(fourth.id, status="done")
    assert status() == "ready" and ctx.prompts.get(record.id).error == ""


def test_bulk_artifact_insert(ctx):
    record = add_image(ctx)
    ctx.artifacts.add_many(
        [
            {
                "prompt_id": record.id,
                "kind": "image",
                "sha256": "0",
                "size": 1,
                "path": f"artifacts/image/{n}.png",
                "metadata": {"n": n},
            }
            for n in range(3)
        ]
    )
    assert ctx.prompts.get(record.id).take_count == 3
    assert sorted(a.metadata["n"] for a in ctx.artifacts.for_prompt(record.id)) == [0, 1, 2]
