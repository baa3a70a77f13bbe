"""peewee models mirroring the schema in database.MIGRATIONS (private to repositories/).

The schema itself is created by the versioned migrations, never by create_tables().
"""

from __future__ import annotations

from typing import Any, cast

import peewee
from playhouse.sqlite_ext import FTS5Model, RowIDField, SearchField

# deferred: Database() points it at the library file; every write transaction is BEGIN IMMEDIATE
DB = peewee.SqliteDatabase(None, lock_type="IMMEDIATE")


class Base(peewee.Model):
    class Meta:
        database = DB


class Prompt(Base):
    id = peewee.AutoField()
    kind = peewee.TextField()
    title = peewee.TextField()
    data = peewee.TextField()
    status = peewee.TextField(default="draft")
    error = peewee.TextField(default="")
    tags = peewee.TextField(default="[]")
    favorite = peewee.BooleanField(default=False)
    search_text = peewee.TextField(default="")
    created_at = peewee.FloatField()
    updated_at = peewee.FloatField()
    deleted_at = peewee.FloatField(null=True)

    class Meta:
        table_name = "prompt"


class PromptTag(Base):
    tag = peewee.TextField()
    prompt = peewee.ForeignKeyField(Prompt, column_name="prompt_id", on_delete="CASCADE")

    class Meta:
        table_name = "prompt_tag"
        primary_key = peewee.CompositeKey("tag", "prompt")


class PromptSearch(FTS5Model):
    rowid = RowIDField()
    title = SearchField()
    search_text = SearchField()
    tags = SearchField()

    class Meta:
        database = DB
        table_name = "prompt_fts"


class Job(Base):
    id = peewee.AutoField()
    prompt = peewee.ForeignKeyField(Prompt, column_name="prompt_id", on_delete="CASCADE")
    prompt_id: int  # the id accessor peewee adds for the foreign key (no query)
    function = peewee.TextField()
    quality = peewee.TextField()
    status = peewee.TextField(default="queued")
    backend = peewee.TextField(default="")
    remote_id = peewee.TextField(default="")
    attempts = peewee.IntegerField(default=0)
    error_kind = peewee.TextField(default="")
    error = peewee.TextField(default="")
    params = peewee.TextField(default="{}")
    priority = peewee.IntegerField(default=0)
    created_at = peewee.FloatField()
    started_at = peewee.FloatField(null=True)
    finished_at = peewee.FloatField(null=True)
    updated_at = peewee.FloatField()
    retry_at = peewee.FloatField(null=True)
    cancel_requested = peewee.BooleanField(default=False)
    note = peewee.TextField(default="")
    owner = peewee.TextField(default="")  # "host/pid/token" of the process running it
    lease_until = peewee.FloatField(null=True)  # its owner renews this while the job runs

    class Meta:
        table_name = "job"


class Artifact(Base):
    id = peewee.AutoField()
    prompt = peewee.ForeignKeyField(Prompt, column_name="prompt_id", on_delete="CASCADE")
    job = peewee.ForeignKeyField(Job, column_name="job_id", null=True, on_delete="SET NULL")
    prompt_id: int  # the id accessors peewee adds for the foreign keys (no query)
    job_id: int | None
    kind = peewee.TextField()
    path = peewee.TextField(unique=True)
    preview_path = peewee.TextField(null=True)
    sha256 = peewee.TextField()
    size = peewee.IntegerField()
    width = peewee.IntegerField(null=True)
    height = peewee.IntegerField(null=True)
    duration_s = peewee.FloatField(null=True)
    metadata = peewee.TextField(default="{}")
    created_at = peewee.FloatField()
    rating = peewee.IntegerField(default=0)  # 0: not rated; 1-5
    circled = peewee.BooleanField(default=False)  # at most one per prompt (index artifact_circled)

    class Meta:
        table_name = "artifact"


class PromptVersion(Base):
    """Every saved version of a prompt; the highest number is the current one."""

    prompt = peewee.ForeignKeyField(Prompt, column_name="prompt_id", on_delete="CASCADE")
    prompt_id: int  # the id accessor peewee adds for the foreign key (no query)
    version = peewee.IntegerField()
    title = peewee.TextField()
    data = peewee.TextField()
    tags = peewee.TextField(default="[]")
    saved_at = peewee.FloatField()

    class Meta:
        table_name = "prompt_version"
        primary_key = peewee.CompositeKey("prompt", "version")


class Setting(Base):
    key = peewee.TextField(primary_key=True)
    value = peewee.TextField()

    class Meta:
        table_name = "setting"


def tuples(query: peewee.ModelSelect[Any]) -> list[tuple[Any, ...]]:
    """A query's rows as plain tuples (the peewee stubs type `.tuples()` as model rows)."""
    return cast("list[tuple[Any, ...]]", list(query.tuples()))
