"""Artifact records: one row per file a take produced (paths relative to the home)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from peewee import SQL

from core.errors import InputError, NotFound
from core.json_types import JsonObject
from core.models import ArtifactFile, ArtifactRecord, MediaKind, NewArtifact
from repositories.database import Database
from repositories.tables import Artifact, tuples


class ArtifactRepository:
    def __init__(self, database: Database):
        self.db = database

    def add(
        self,
        *,
        prompt_id: int,
        kind: MediaKind | str,
        path: str,
        sha256: str,
        size: int,
        preview_path: str | None = None,
        width: int | None = None,
        height: int | None = None,
        duration_s: float | None = None,
        metadata: JsonObject | None = None,
        job_id: int | None = None,
    ) -> ArtifactRecord:
        with self.db.write():
            artifact_id = Artifact.insert(
                prompt=prompt_id,
                job=job_id,
                kind=MediaKind(kind).value,
                path=path,
                preview_path=preview_path,
                sha256=sha256,
                size=size,
                width=width,
                height=height,
                duration_s=duration_s,
                metadata=json.dumps(metadata or {}, ensure_ascii=False),
                created_at=time.time(),
            ).execute()
        return self.get(artifact_id)

    def add_take(self, files: Sequence[NewArtifact]) -> list[ArtifactRecord]:
        """The records of one take, written in ONE transaction: all of them or, if any insert
        fails, none."""
        with self.db.write():
            return [self.add(**vars(file)) for file in files]

    def add_many(self, rows: list[JsonObject]) -> None:
        """Insert many artifacts (keyword sets as for add) in one transaction."""
        now = time.time()
        values = [
            {
                **row,
                "prompt": row.pop("prompt_id"),
                "kind": MediaKind(row["kind"]).value,
                "metadata": json.dumps(row.get("metadata") or {}, ensure_ascii=False),
                "created_at": now,
            }
            for row in map(dict, rows)
        ]
        with self.db.write():
            for start in range(0, len(values), 500):
                Artifact.insert_many(values[start : start + 500]).execute()

    def files(
        self, *, after_id: int = 0, limit: int = 5000, without_preview: bool = False
    ) -> list[ArtifactFile]:
        """A page of file locations in id order (no metadata is read); only those without a
        preview if asked."""
        columns = (Artifact.id, Artifact.prompt, Artifact.job, Artifact.path, Artifact.preview_path)
        query = Artifact.select(*columns).where(Artifact.id > after_id)
        if without_preview:
            query = query.where(Artifact.preview_path.is_null())
        return [ArtifactFile(*row) for row in tuples(query.order_by(Artifact.id).limit(limit))]

    def forget(self, artifact_ids: list[int]) -> int:
        """Remove the records (not the files) in one transaction; how many were removed."""
        with self.db.write():
            return sum(
                Artifact.delete().where(Artifact.id.in_(artifact_ids[n : n + 500])).execute()
                for n in range(0, len(artifact_ids), 500)
            )

    def known_sha256(self, digests: list[str]) -> set[str]:
        """Which of these SHA-256 digests a stored file already has (index artifact_sha256)."""
        found: set[str] = set()
        for n in range(0, len(digests), 500):
            page = Artifact.sha256.in_(digests[n : n + 500])
            found.update(row[0] for row in tuples(Artifact.select(Artifact.sha256).where(page)))
        return found

    def prompt_for_settings(self, settings: str) -> int | None:
        """The prompt of an imported take made with these settings (metadata import.settings,
        index artifact_import_settings), or None."""
        key = SQL("json_extract(metadata, '$.import.settings')")  # literal: as the index reads
        row = Artifact.select(Artifact.prompt).where(key == settings).limit(1).tuples().first()
        return row[0] if row else None

    def set_preview(self, artifact_id: int, preview_path: str) -> None:
        with self.db.write():
            Artifact.update(preview_path=preview_path).where(Artifact.id == artifact_id).execute()

    def rate(self, artifact_ids: list[int], rating: int) -> None:
        """Give these takes 0 (no rating) to 5 stars, in one transaction; NotFound (nothing
        written) when any id is unknown."""
        if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 5:
            raise InputError(f"rating {rating!r} is out of range — give a whole number 0 to 5")
        with self.db.write():
            for artifact_id in artifact_ids:
                if not Artifact.update(rating=rating).where(Artifact.id == artifact_id).execute():
                    raise _not_found(artifact_id)

    def circle(self, artifact_id: int, circled: bool = True) -> ArtifactRecord:
        """Make this take "the take" of its prompt (the one circled before is uncircled, in the
        same transaction), or with circled=False uncircle it."""
        with self.db.write():
            record = self.get(artifact_id)
            if circled:
                mine = (Artifact.prompt == record.prompt_id) & Artifact.circled
                Artifact.update(circled=False).where(mine).execute()
            Artifact.update(circled=circled).where(Artifact.id == artifact_id).execute()
            return self.get(artifact_id)

    def get(self, artifact_id: int) -> ArtifactRecord:
        row = Artifact.get_or_none(Artifact.id == artifact_id)
        if row is None:
            raise _not_found(artifact_id)
        return _record(row)

    def for_prompt(self, prompt_id: int) -> list[ArtifactRecord]:
        rows = (
            Artifact.select()
            .where(Artifact.prompt == prompt_id)
            .order_by(Artifact.created_at.desc(), Artifact.id.desc())
        )
        return [_record(row) for row in rows]

    def page(self, *, limit: int = 1000, after_id: int = 0) -> list[ArtifactRecord]:
        rows = Artifact.select().where(Artifact.id > after_id).order_by(Artifact.id).limit(limit)
        return [_record(row) for row in rows]

    def count(self) -> int:
        return Artifact.select().count()

    def delete(self, artifact_id: int) -> ArtifactRecord:
        """Forget the record and return it, so the caller can remove its files."""
        with self.db.write():
            record = self.get(artifact_id)
            Artifact.delete().where(Artifact.id == artifact_id).execute()
        return record


def _not_found(artifact_id: int) -> NotFound:
    return NotFound(f"artifact {artifact_id} does not exist — list ids with 'artifacts list'")


def _record(row: Artifact) -> ArtifactRecord:
    return ArtifactRecord(
        id=row.id,
        prompt_id=row.prompt_id,
        kind=MediaKind(row.kind),
        path=row.path,
        preview_path=row.preview_path,
        sha256=row.sha256,
        size=row.size,
        width=row.width,
        height=row.height,
        duration_s=row.duration_s,
        metadata=json.loads(row.metadata),
        job_id=row.job_id,
        created_at=row.created_at,
        rating=row.rating,
        circled=bool(row.circled),
    )
