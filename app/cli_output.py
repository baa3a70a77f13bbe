"""How the command line prints records: the JSON shape of prompts, takes and jobs (what
scripts read with --json), the plain-text rows and the one-prompt description."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.models import ArtifactRecord, JobRecord, PromptRecord


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def prompt_dict(record: PromptRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind.value,
        "title": record.title,
        "data": record.data,
        "status": record.status.value,
        "error": record.error or None,
        "tags": list(record.tags),
        "favorite": record.favorite,
        "take_count": record.take_count,
        "version": record.version,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "deleted_at": iso(record.deleted_at),
    }


def artifact_dict(record: ArtifactRecord, home: Path) -> dict[str, Any]:
    return {
        "id": record.id,
        "prompt_id": record.prompt_id,
        "kind": record.kind.value,
        "path": str(home / record.path),
        "preview_path": str(home / record.preview_path) if record.preview_path else None,
        "sha256": record.sha256,
        "size": record.size,
        "width": record.width,
        "height": record.height,
        "duration_s": record.duration_s,
        "metadata": record.metadata,
        "job_id": record.job_id,
        "created_at": iso(record.created_at),
        "rating": record.rating,
        "circled": record.circled,
    }


def export_dict(record: PromptRecord) -> dict[str, Any]:
    return {
        "kind": record.kind.value,
        "title": record.title,
        "data": record.data,
        "tags": list(record.tags),
        "favorite": record.favorite,
    }


def job_dict(job: JobRecord) -> dict[str, Any]:
    return {
        "id": job.id,
        "prompt_id": job.prompt_id,
        "function": job.function,
        "quality": job.quality,
        "status": job.status.value,
        "attempts": job.attempts,
        "error": job.error or None,
        "error_kind": job.error_kind or None,
        "note": job.note or None,
        "backend": job.backend or None,
        "remote_id": job.remote_id or None,
        "priority": job.priority,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "retry_at": iso(job.retry_at),
    }


def emit(rows: list[dict[str, Any]], as_json: bool, columns: tuple[str, ...]) -> None:
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        print("  ".join(str(row[c]) for c in columns))


def describe_prompt(record: dict[str, Any]) -> str:
    lines = [f"{record['id']}  {record['kind']}  {record['status']}  {record['title']}"]
    lines += [
        f"  {key}: {value}"
        for key, value in record["data"].items()
        if value not in (None, "", [], {})
    ]
    if record["error"]:
        lines.append(f"  last error: {record['error']}")
    return "\n".join(lines)
