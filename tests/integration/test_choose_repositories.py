"""Ratings, the circled take and prompt versions in a real SQLite library (issue 14, part D)."""

from __future__ import annotations

import shutil
import threading

import peewee
import pytest

from core.errors import InputError, NotFound
from core.models import PromptQuery
from repositories.artifacts import ArtifactRepository
from repositories.database import Database
from repositories.prompts import PromptRepository


def take(ctx, prompt_id: int, name: str, preview: str | None = None):
    return ctx.artifacts.add(
        prompt_id=prompt_id, kind="image", path=name, sha256=name, size=1, preview_path=preview
    )


def fox(ctx, prompt: str = "a fox"):
    return ctx.prompts.add("image", "Fox", {"prompt": prompt})


def test_v5_library_with_takes_migrates(home):
    path = home / "v5.db"
    old = Database(path, migrate_to=5)
    old.peewee.execute_sql(
        "INSERT INTO prompt (kind, title, data, search_text, tags, created_at, updated_at) "
        "VALUES ('image', 'Old fox', '{\"prompt\": \"fox\"}', 'fox', '[\"a\"]', 1, 7)"
    )
    old.peewee.execute_sql(
        "INSERT INTO artifact (prompt_id, kind, path, sha256, size, metadata, created_at) "
        "VALUES (1, 'image', 'artifacts/a.png', 'x', 1, '{}', 1)"
    )
    old.close()
    upgraded = Database(path)
    prompts, artifacts = PromptRepository(upgraded), ArtifactRepository(upgraded)
    (version,) = prompts.history(1)
    assert (version.version, version.title, version.data, version.tags) == (
        1, "Old fox", {"prompt": "fox"}, ("a",)
    )  # fmt: skip
    assert version.saved_at == 7 and prompts.get(1).version == 1
    record = artifacts.get(1)
    assert (record.rating, record.circled) == (0, False)
    assert prompts.update(1, title="Fox").version == 2
    upgraded.close()


def test_one_circled_take_per_prompt(ctx, database):
    prompt, other = fox(ctx), fox(ctx)
    first, second = take(ctx, prompt.id, "a", "pa"), take(ctx, prompt.id, "b", "pb")
    elsewhere = take(ctx, other.id, "c")
    ctx.artifacts.circle(first.id)
    ctx.artifacts.circle(elsewhere.id)
    assert ctx.prompts.get(prompt.id).circled_preview == "pa"
    assert ctx.artifacts.circle(second.id).circled
    assert not ctx.artifacts.get(first.id).circled
    assert ctx.artifacts.get(elsewhere.id).circled  # another prompt's circle stays
    assert ctx.prompts.get(prompt.id).circled_preview == "pb"
    with pytest.raises(peewee.IntegrityError):  # the schema itself refuses a second one
        database.peewee.execute_sql("UPDATE artifact SET circled = 1 WHERE id = ?", (first.id,))
    assert not ctx.artifacts.circle(second.id, False).circled
    assert ctx.prompts.get(prompt.id).circled_preview is None
    with pytest.raises(NotFound, match="artifact 99 does not exist"):
        ctx.artifacts.circle(99)


def test_circling_from_threads_leaves_exactly_one(ctx):
    prompt = fox(ctx)
    ids = [take(ctx, prompt.id, f"t{n}").id for n in range(8)]
    threads = [threading.Thread(target=ctx.artifacts.circle, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(ctx.artifacts.get(i).circled for i in ids) == 1


@pytest.mark.parametrize("bad", [-1, 6, 2.5, True, "3", None])
def test_ratings_are_0_to_5(ctx, bad):
    one = take(ctx, fox(ctx).id, "a")
    ctx.artifacts.rate([one.id], 5)
    with pytest.raises(InputError, match="whole number 0 to 5"):
        ctx.artifacts.rate([one.id], bad)
    assert ctx.artifacts.get(one.id).rating == 5


def test_rating_many_is_all_or_nothing(ctx):
    prompt = fox(ctx)
    first, second = take(ctx, prompt.id, "a"), take(ctx, prompt.id, "b")
    ctx.artifacts.rate([first.id, second.id], 3)
    with pytest.raises(NotFound):
        ctx.artifacts.rate([first.id, 999], 1)
    assert [ctx.artifacts.get(i).rating for i in (first.id, second.id)] == [3, 3]


def test_filters_circled_and_rated_at_least(ctx):
    plain, rated, circled = fox(ctx), fox(ctx), fox(ctx)
    take(ctx, plain.id, "p")
    ctx.artifacts.rate([take(ctx, rated.id, "r").id], 4)
    ctx.artifacts.circle(take(ctx, circled.id, "c").id)
    assert [r.id for r in ctx.prompts.page(PromptQuery(circled=True))] == [circled.id]
    assert {r.id for r in ctx.prompts.page(PromptQuery(min_rating=1))} == {rated.id}
    assert ctx.prompts.count(PromptQuery(min_rating=5)) == 0
    assert ctx.prompts.count(PromptQuery(min_rating=4, circled=True)) == 0


def test_every_save_keeps_the_previous_version(ctx):
    record = fox(ctx, "a fox")
    ctx.prompts.update(record.id, data={"prompt": "a red fox"})
    ctx.prompts.update(record.id, favorite=True)  # not a version: only title, data, tags
    ctx.prompts.update(record.id, data={"prompt": "a red fox"})  # unchanged: no version
    ctx.prompts.update(record.id, tags=["winter"])
    history = ctx.prompts.history(record.id)
    assert [(v.version, v.data["prompt"], v.tags) for v in history] == [
        (3, "a red fox", ("winter",)),
        (2, "a red fox", ()),
        (1, "a fox", ()),
    ]
    restored = ctx.prompts.restore_version(record.id, 1)
    assert restored.version == 4 and restored.data["prompt"] == "a fox"
    assert restored.tags == ()
    assert len(ctx.prompts.history(record.id)) == 4
    with pytest.raises(NotFound, match="has no version 9"):
        ctx.prompts.version(record.id, 9)


def test_imported_prompts_start_at_version_1(ctx):
    ids = ctx.prompts.add_many([{"kind": "image", "title": "t", "data": {"prompt": "x"}}])
    assert [v.version for v in ctx.prompts.history(ids[0])] == [1]


def test_choices_survive_a_restart_and_a_moved_library(home, tmp_path):
    database = Database(home / "library.db")
    prompts, artifacts = PromptRepository(database), ArtifactRepository(database)
    prompt = prompts.add("image", "Fox", {"prompt": "fox"})
    one = artifacts.add(
        prompt_id=prompt.id, kind="image", path="artifacts/a.png", sha256="a", size=1,
        preview_path="thumbnails/a.jpg",
    )  # fmt: skip
    artifacts.rate([one.id], 5)
    artifacts.circle(one.id)
    database.close()
    moved = tmp_path / "elsewhere"
    shutil.move(home, moved)
    again = Database(moved / "library.db")
    record = ArtifactRepository(again).get(one.id)
    assert (record.rating, record.circled, record.path) == (5, True, "artifacts/a.png")
    assert PromptRepository(again).get(prompt.id).circled_preview == "thumbnails/a.jpg"
    again.close()
