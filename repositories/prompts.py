"""Prompt records: validated on the way in, searched with FTS5, paged by index.

Threads: reads from any thread (the Tk thread included: a page is ~1 ms); writes from any
thread through Database.write().
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

import peewee
from peewee import fn

from core.errors import InputError, NotFound
from core.json_types import JsonObject, JsonValue
from core.models import (
    MediaKind,
    PromptQuery,
    PromptRecord,
    PromptStatus,
    PromptVersion,
    parse_enum,
    search_text,
    validate_data,
    validate_tags,
    validate_title,
)
from repositories.database import Database
from repositories.tables import Artifact, Prompt, PromptSearch, PromptTag, tuples
from repositories.tables import PromptVersion as VersionRow

SORT_COLUMNS: dict[str, peewee.Field[Any]] = {
    "updated": Prompt.updated_at,
    "created": Prompt.created_at,
    "title": Prompt.title,
    "status": Prompt.status,
    "kind": Prompt.kind,
    "id": Prompt.id,
}
KEYSET_SORTS = ("updated", "created", "id")
EVERYTHING = PromptQuery()
IMPORT_KEYS = ("kind", "title", "data", "tags", "favorite")  # what 'prompt export' writes
# The very terms of the partial indexes artifact_circled and artifact_rated (literals: SQLite
# uses a partial index only when the query's WHERE names its condition, not a bound value).
CIRCLED, RATED = peewee.SQL("circled = 1"), peewee.SQL("rating > 0")


def fts_expression(words: str) -> str:
    """User words as a safe FTS5 query: each token quoted, the last one a prefix. A NUL would
    end SQLite's string early ("unterminated string"): it separates words instead."""
    tokens = ['"' + token.replace('"', '""') + '"' for token in _words(words)]
    if tokens:
        tokens[-1] += "*"
    return " ".join(tokens)


class PromptRepository:
    def __init__(self, database: Database):
        self.db = database

    # --- writes ---------------------------------------------------------------------------------

    def add(
        self,
        kind: MediaKind | str,
        title: str,
        data: JsonValue,
        *,
        tags: JsonValue = (),
        favorite: bool = False,
    ) -> PromptRecord:
        fields = self._validated(kind, title, data, tags)
        with self.db.write():
            return self.get(self._insert(fields, favorite))

    def add_many(self, items: Iterable[JsonObject]) -> list[int]:
        """Validate every item first, then insert all in one transaction (all or nothing)."""
        rows = [self._validated_item(n, item) for n, item in enumerate(items, 1)]
        with self.db.write():
            return [self._insert(fields, favorite) for fields, favorite in rows]

    def update(
        self,
        prompt_id: int,
        *,
        title: JsonValue = None,
        data: JsonValue = None,
        tags: JsonValue = None,
        favorite: bool | None = None,
    ) -> PromptRecord:
        with self.db.write():
            current = self.get(prompt_id)
            fields = self._validated(
                current.kind,
                current.title if title is None else title,
                current.data if data is None else data,
                current.tags if tags is None else tags,
            )
            changes = {**fields, "updated_at": time.time()}
            if favorite is not None:
                changes["favorite"] = favorite
            Prompt.update(changes).where(Prompt.id == prompt_id).execute()
            self._set_tags(prompt_id, json.loads(fields["tags"]))
            before = self._validated(current.kind, current.title, current.data, current.tags)
            if _content(fields) != _content(before):
                _save_version(prompt_id, current.version + 1, fields, changes["updated_at"])
            return self.get(prompt_id)

    def restore_version(self, prompt_id: int, version: int) -> PromptRecord:
        """Save an old version's title, data and tags as the new current version."""
        old = self.version(prompt_id, version)
        return self.update(prompt_id, title=old.title, data=old.data, tags=old.tags)

    def set_status(self, prompt_id: int, status: PromptStatus, error: str = "") -> None:
        with self.db.write():
            updated = (
                Prompt.update(status=status.value, error=error, updated_at=time.time())
                .where(Prompt.id == prompt_id)
                .execute()
            )
        if not updated:
            raise self._not_found(prompt_id)

    def delete(self, prompt_id: int) -> None:
        """Move to the trash (restorable); artifacts and files stay."""
        self._set_deleted(prompt_id, time.time())

    def restore(self, prompt_id: int) -> None:
        self._set_deleted(prompt_id, None)

    def _set_deleted(self, prompt_id: int, when: float | None) -> None:
        with self.db.write():
            self.get(prompt_id, include_trash=True)
            Prompt.update(deleted_at=when).where(Prompt.id == prompt_id).execute()

    # --- reads ----------------------------------------------------------------------------------

    def get(self, prompt_id: int, *, include_trash: bool = False) -> PromptRecord:
        query = self._select().where(Prompt.id == prompt_id)
        if not include_trash:
            query = query.where(Prompt.deleted_at.is_null())
        row = query.first()
        if row is None:
            raise self._not_found(prompt_id)
        return _record(row)

    def history(self, prompt_id: int) -> list[PromptVersion]:
        """Every saved version of a prompt, newest first."""
        self.get(prompt_id, include_trash=True)
        rows = VersionRow.select().where(VersionRow.prompt == prompt_id)
        return [_version(row) for row in rows.order_by(VersionRow.version.desc())]

    def version(self, prompt_id: int, version: int) -> PromptVersion:
        row = VersionRow.get_or_none(VersionRow.prompt == prompt_id, VersionRow.version == version)
        if row is None:
            raise NotFound(
                f"prompt {prompt_id} has no version {version} — list them with "
                f"'prompt history {prompt_id}'"
            )
        return _version(row)

    def page(
        self,
        query: PromptQuery = EVERYTHING,
        *,
        limit: int = 100,
        offset: int = 0,
        after: tuple[float, int] | None = None,
    ) -> list[PromptRecord]:
        """One page in the query's order; `after` = (sort value, id) of the last row seen."""
        ids = self._filtered(Prompt.select(Prompt.id), query)
        column = SORT_COLUMNS[query.sort]
        if after is not None:
            ids = ids.where(_keyset(column, query, after))
        order = (column.desc(), Prompt.id.desc()) if query.descending else (column, Prompt.id)
        ids = ids.order_by(*order).limit(limit).offset(offset)
        # Take counts are computed for the page's rows only, not for every candidate.
        rows = self._select().where(Prompt.id.in_(ids)).order_by(*order)
        return [_record(row) for row in rows]

    def count(self, query: PromptQuery = EVERYTHING) -> int:
        select = self._filtered(Prompt.select(fn.COUNT(Prompt.id)), query)
        return select.scalar()

    def count_by_status(self) -> dict[str, int]:
        rows = (
            Prompt.select(Prompt.status, fn.COUNT(Prompt.id))
            .where(Prompt.deleted_at.is_null())
            .group_by(Prompt.status)
        )
        return {str(status): int(count) for status, count in tuples(rows)}

    def iter_all(self, batch: int = 1000) -> Iterator[PromptRecord]:
        last_id = 0
        while rows := list(
            self._select()
            .where(Prompt.id > last_id, Prompt.deleted_at.is_null())
            .order_by(Prompt.id)
            .limit(batch)
        ):
            yield from (_record(row) for row in rows)
            last_id = rows[-1].id

    # --- helpers --------------------------------------------------------------------------------

    def _validated(
        self, kind: JsonValue, title: JsonValue, data: JsonValue, tags: JsonValue
    ) -> JsonObject:
        kind = parse_enum(MediaKind, kind, "kind")
        data = validate_data(kind, data)
        tags = validate_tags(tags)
        return {
            "kind": kind.value,
            "title": validate_title(title),
            "data": json.dumps(data, ensure_ascii=False),
            "tags": json.dumps(tags, ensure_ascii=False),
            "search_text": search_text(kind, data),
        }

    def _validated_item(self, number: int, item: JsonValue) -> tuple[JsonObject, bool]:
        """(the fields to insert, favorite) of an imported record, or InputError naming it."""
        if not isinstance(item, dict):
            raise InputError(f"item {number}: expected an object with kind, title and data")
        try:
            _check_import_keys(item)
            tags = [] if item.get("tags") is None else item["tags"]
            fields = self._validated(item.get("kind"), item.get("title"), item.get("data"), tags)
            return fields, _favorite(item.get("favorite"))
        except InputError as exc:
            raise InputError(f"item {number}: {exc}") from None

    def _insert(self, fields: JsonObject, favorite: bool) -> int:
        now = time.time()
        prompt_id = Prompt.insert(
            **fields, favorite=favorite, created_at=now, updated_at=now
        ).execute()
        self._set_tags(prompt_id, json.loads(fields["tags"]))
        _save_version(prompt_id, 1, fields, now)
        return prompt_id

    def _set_tags(self, prompt_id: int, tags: Iterable[str]) -> None:
        PromptTag.delete().where(PromptTag.prompt == prompt_id).execute()
        rows = [{"tag": tag, "prompt": prompt_id} for tag in tags]
        if rows:
            PromptTag.insert_many(rows).execute()

    def _select(self) -> peewee.ModelSelect[Prompt]:
        takes = (
            Artifact.select(fn.COUNT(Artifact.id))
            .where(Artifact.prompt == Prompt.id)
            .alias("take_count")
        )
        version = (
            VersionRow.select(fn.MAX(VersionRow.version))
            .where(VersionRow.prompt == Prompt.id)
            .alias("version")
        )
        circled = (  # index artifact_circled: one probe per row
            Artifact.select(Artifact.preview_path)
            .where(Artifact.prompt == Prompt.id, CIRCLED)
            .alias("circled_preview")
        )
        return Prompt.select(Prompt, takes, version, circled)

    def _filtered(
        self, select: peewee.ModelSelect[Prompt], query: PromptQuery
    ) -> peewee.ModelSelect[Prompt]:
        conditions: list[peewee.ColumnBase] = [
            Prompt.deleted_at.is_null(False) if query.trash else Prompt.deleted_at.is_null()
        ]
        if _words(query.search):
            conditions.append(_matching(query.search))
        if query.kind:
            conditions.append(Prompt.kind == MediaKind(query.kind).value)
        if query.status:
            conditions.append(Prompt.status == PromptStatus(query.status).value)
        if query.favorite is not None:
            conditions.append(Prompt.favorite == query.favorite)
        if query.tag:
            tagged = PromptTag.select(PromptTag.prompt).where(PromptTag.tag == query.tag)
            conditions.append(Prompt.id.in_(tagged))
        conditions += _chosen(query)
        return select.where(*conditions)

    @staticmethod
    def _not_found(prompt_id: int) -> NotFound:
        return NotFound(f"prompt {prompt_id} does not exist — list ids with 'prompt list'")


def _check_import_keys(item: JsonObject) -> None:
    for key in item:
        if key not in IMPORT_KEYS:
            close = difflib.get_close_matches(str(key), IMPORT_KEYS, n=1, cutoff=0.7)
            hint = f"did you mean {close[0]!r}?" if close else "remove it"
            raise InputError(
                f"unknown key {key!r} — {hint} (a prompt has: {', '.join(IMPORT_KEYS)})"
            )


def _chosen(query: PromptQuery) -> list[peewee.ColumnBase]:
    """The filters on a prompt's takes: one circled, one rated at least min_rating. EXISTS
    probes the partial indexes per prompt while the list walks its order (a page stops early);
    at 100,000 circled prompts a count takes ~45 ms, a page 0.1 ms (bench/RESULTS.md)."""
    takes = Artifact.select(Artifact.id).where(Artifact.prompt == Prompt.id)
    conditions: list[peewee.ColumnBase] = []
    if query.circled:
        conditions.append(fn.EXISTS(takes.where(CIRCLED)))
    if query.min_rating > 0:
        conditions.append(fn.EXISTS(takes.where(RATED, Artifact.rating >= query.min_rating)))
    return conditions


def _save_version(prompt_id: int, number: int, fields: JsonObject, saved_at: float) -> None:
    """Keep a saved version (inside the caller's write transaction)."""
    VersionRow.insert(
        prompt=prompt_id,
        version=number,
        title=fields["title"],
        data=fields["data"],
        tags=fields["tags"],
        saved_at=saved_at,
    ).execute()


def _content(fields: JsonObject) -> tuple[str, str, str]:
    """What makes a new version: title, data and tags (not status or favorite)."""
    return fields["title"], fields["data"], fields["tags"]


def _version(row: VersionRow) -> PromptVersion:
    return PromptVersion(
        prompt_id=row.prompt_id,
        version=row.version,
        title=row.title,
        data=json.loads(row.data),
        tags=tuple(json.loads(row.tags)),
        saved_at=row.saved_at,
    )


def _favorite(value: JsonValue) -> bool:
    if value is not None and not isinstance(value, bool):
        raise InputError(f"favorite: expected true or false, got {value!r}")
    return bool(value)


def _words(text: str) -> list[str]:
    return text.replace("\0", " ").split()


def _matching(words: str) -> peewee.Expression:
    """Prompts whose title, words or tags match. The unary + stops SQLite from driving the query
    by the match list, so it walks the ordered index and probes the match set instead: 5-40x
    faster for common words (bench/RESULTS.md)."""
    matches = PromptSearch.select(PromptSearch.rowid).where(
        PromptSearch.match(fts_expression(words))
    )
    return peewee.NodeList((peewee.SQL("+"), Prompt.id), glue="").in_(matches)


def _keyset(
    column: peewee.Field, query: PromptQuery, after: tuple[float | str, int]
) -> peewee.Expression:
    if query.sort not in KEYSET_SORTS:
        raise ValueError(f"keyset paging needs one of {KEYSET_SORTS}, not {query.sort!r}")
    left, right = peewee.Tuple(column, Prompt.id), peewee.Tuple(*after)
    return left < right if query.descending else left > right


def _record(row: Prompt) -> PromptRecord:
    return PromptRecord(
        id=row.id,
        kind=MediaKind(row.kind),
        title=row.title,
        data=json.loads(row.data),
        status=PromptStatus(row.status),
        error=row.error,
        tags=tuple(json.loads(row.tags)),
        favorite=bool(row.favorite),
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
        take_count=getattr(row, "take_count", 0) or 0,
        version=getattr(row, "version", None) or 1,
        circled_preview=getattr(row, "circled_preview", None),
    )
