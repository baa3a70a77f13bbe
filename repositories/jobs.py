"""Job records: the persistent queue. A job is written before anything runs, so it survives."""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Collection

from peewee import Case, Expression

from core.errors import DatabaseError, NotFound
from core.jobs import (
    Claim,
    JobDocument,
    JobSpec,
    RunState,
    Submission,
    job_document,
    read_job_document,
)
from core.models import JobRecord, JobStatus
from core.ports import UNCHANGED, Unchanged
from repositories.database import Database
from repositories.tables import Job, Setting

FINISHED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.SUSPECT)
PENDING = (JobStatus.QUEUED.value, JobStatus.WAITING.value)
PAUSED_KEY = "queue_paused"
Column = str | int | float | bool | None  # a job row's plain column values (and JobStatus)


class JobRepository:
    def __init__(self, database: Database):
        self.db = database

    def add(
        self,
        *,
        prompt_id: int,
        spec: JobSpec,
        priority: int = 0,
    ) -> JobRecord:
        """Store a job to run `spec` (it starts at the spec's function and tier)."""
        now = time.time()
        with self.db.write():
            job_id = Job.insert(
                prompt=prompt_id,
                function=spec.function,
                quality=spec.tier,
                params=_dumps(JobDocument(spec, None, RunState())),
                priority=priority,
                created_at=now,
                updated_at=now,
            ).execute()
        return self.get(job_id)

    def get(self, job_id: int) -> JobRecord:
        row = Job.get_or_none(Job.id == job_id)
        if row is None:
            raise NotFound(f"job {job_id} does not exist — list ids with 'jobs list'")
        return _record(row)

    def update(
        self,
        job_id: int,
        *,
        submission: Submission | None | Unchanged = UNCHANGED,
        run: RunState | Unchanged = UNCHANGED,
        **columns: Column,
    ) -> JobRecord:
        """Set the job's submission, run state and columns (status, backend, remote_id,
        attempts, error_kind, error, note, ...)."""
        changes = _columns(columns)
        status = changes.get("status")
        now = time.time()
        if status == JobStatus.RUNNING.value:
            changes.setdefault("started_at", now)
        if status in {s.value for s in FINISHED}:
            changes.setdefault("finished_at", now)
        with self.db.write():
            if submission is not UNCHANGED or run is not UNCHANGED:
                changes["params"] = _dumps(_changed(self.get(job_id), submission, run))
            if not Job.update(**changes, updated_at=now).where(Job.id == job_id).execute():
                raise NotFound(f"job {job_id} does not exist — list ids with 'jobs list'")
        return self.get(job_id)

    def list(
        self, *, status: JobStatus | None = None, prompt_id: int | None = None, limit: int = 1000
    ) -> builtins.list[JobRecord]:
        query = Job.select().order_by(Job.id.desc()).limit(limit)
        if status is not None:
            query = query.where(Job.status == JobStatus(status).value)
        if prompt_id is not None:
            query = query.where(Job.prompt == prompt_id)
        return [_record(row) for row in query]

    def eligible(
        self, now: float, limit: int = 50, only: Collection[int] | None = None
    ) -> builtins.list[JobRecord]:
        """Jobs the dispatcher may start now (of `only`, when given): front of queue (priority)
        first, then oldest."""
        query = Job.select().where(_startable(now)).order_by(Job.priority.desc(), Job.id)
        if only is not None:
            query = query.where(Job.id.in_(list(only)))
        return [_record(row) for row in query.limit(limit)]

    # --- claims: several processes may run one library's queue ---------------------------------

    def claim(
        self, job_id: int, owner: str, lease_until: float, **changes: Column
    ) -> JobRecord | None:
        """Start a pending job for `owner`, atomically (one conditional UPDATE in a write
        transaction): None when another process took it first or it changed meanwhile."""
        now = time.time()
        with self.db.write():
            taken = (
                Job.update(
                    **_columns(changes),
                    status=JobStatus.RUNNING.value,
                    owner=owner,
                    lease_until=lease_until,
                    attempts=Job.attempts + 1,
                    retry_at=None,
                    started_at=now,
                    updated_at=now,
                )
                .where(Job.id == job_id, _startable(now))
                .execute()
            )
        return self.get(job_id) if taken else None

    def renew(self, owner: str, job_ids: Collection[int], lease_until: float) -> set[int]:
        """Extend `owner`'s lease on its running jobs; the ids it no longer holds (another
        process took them over, or they ended)."""
        ids = list(job_ids)
        mine = Job.id.in_(ids) & (Job.owner == owner) & (Job.status == JobStatus.RUNNING.value)
        with self.db.write():
            Job.update(lease_until=lease_until).where(mine).execute()
            return set(ids) - {row.id for row in Job.select(Job.id).where(mine)}

    def claims(self) -> builtins.list[Claim]:
        """Every running job with its owner and lease."""
        rows = Job.select(Job.id, Job.owner, Job.lease_until).where(
            Job.status == JobStatus.RUNNING.value
        )
        return [Claim(row.id, row.owner, row.lease_until) for row in rows]

    def take_over(self, claim: Claim, note: str) -> bool:
        """Put a running job whose owner is gone back in the queue (or end it cancelled, when
        a cancel was asked for); False when it changed meanwhile (its owner ended it, or
        another process took it over first)."""
        now, asked = time.time(), Job.cancel_requested == True  # noqa: E712 — SQL comparison
        with self.db.write():
            changed = (
                Job.update(
                    status=Case(None, [(asked, JobStatus.CANCELLED.value)], JobStatus.QUEUED.value),
                    error=Case(None, [(asked, "cancelled by the user")], Job.error),
                    finished_at=Case(None, [(asked, now)], None),
                    cancel_requested=False,
                    note=note,
                    lease_until=None,
                    updated_at=now,
                )
                .where(
                    Job.id == claim.job_id,
                    Job.status == JobStatus.RUNNING.value,
                    Job.owner == claim.owner,
                )
                .execute()
            )
        return bool(changed)

    def unfinished(self) -> builtins.list[JobRecord]:
        """Queued, waiting and running jobs (what an idle check and a restart look at)."""
        live = (*PENDING, JobStatus.RUNNING.value)
        return [_record(row) for row in Job.select().where(Job.status.in_(live)).order_by(Job.id)]

    def request_cancel(self, job_id: int) -> JobRecord:
        """Cancel a pending job now; ask the process running it to stop it (any process)."""
        job = self.get(job_id)
        if job.status.value in PENDING:
            return self.update(job_id, status=JobStatus.CANCELLED, error="cancelled by the user")
        if job.status is JobStatus.RUNNING:
            return self.update(job_id, cancel_requested=True)
        return job

    def requeue(self, job_id: int, *, priority: int | None = None) -> JobRecord:
        """Put a finished job back in the queue (retry): it runs its spec again (the function
        and tier asked for, its route, its frozen prompt); attempts, errors, what the last run
        submitted and learned start over."""
        spec = self.get(job_id).spec
        changes: dict[str, Column] = {
            "function": spec.function,
            "quality": spec.tier,
            "status": JobStatus.QUEUED,
            "attempts": 0,
            "error": "",
            "error_kind": "",
            "note": "",
            "retry_at": None,
            "cancel_requested": False,
            "finished_at": None,
        }
        if priority is not None:
            changes["priority"] = priority
        return self.update(job_id, submission=None, run=RunState(), **changes)

    def paused(self) -> bool:
        row = Setting.get_or_none(Setting.key == PAUSED_KEY)
        return row is not None and row.value == "1"

    def set_paused(self, paused: bool) -> None:
        with self.db.write():
            Setting.replace(key=PAUSED_KEY, value="1" if paused else "0").execute()

    def release_thread(self) -> None:
        """Close the calling thread's connection (a worker thread that ends)."""
        self.db.close()


def _startable(now: float) -> Expression:
    """The SQL condition of a job a dispatcher may start now."""
    return (
        Job.status.in_(PENDING)
        & (Job.retry_at.is_null() | (Job.retry_at <= now))
        & (Job.cancel_requested == False)  # noqa: E712 — SQL comparison
    )


def _columns(changes: dict[str, Column]) -> dict[str, Column]:
    out = dict(changes)
    if "status" in out:
        out["status"] = JobStatus(str(out["status"])).value
    return out


def _changed(
    job: JobRecord, submission: Submission | None | Unchanged, run: RunState | Unchanged
) -> JobDocument:
    return JobDocument(
        job.spec,
        job.submission if isinstance(submission, Unchanged) else submission,
        job.run if isinstance(run, Unchanged) else run,
    )


def _dumps(document: JobDocument) -> str:
    return json.dumps(job_document(document), ensure_ascii=False)


def _document(row: Job) -> JobDocument:
    try:
        return read_job_document(json.loads(row.params), row.function, row.quality)
    except (ValueError, TypeError, KeyError) as exc:
        raise DatabaseError(
            f"job {row.id}: its stored parameters are damaged ({exc}) — queue its prompt "
            "again (this job cannot run)"
        ) from exc


def _record(row: Job) -> JobRecord:
    document = _document(row)
    return JobRecord(
        id=row.id,
        prompt_id=row.prompt_id,
        function=row.function,
        quality=row.quality,
        spec=document.spec,
        submission=document.submission,
        run=document.run,
        status=JobStatus(row.status),
        backend=row.backend,
        remote_id=row.remote_id,
        attempts=row.attempts,
        error_kind=row.error_kind,
        error=row.error,
        priority=row.priority,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        updated_at=row.updated_at,
        note=row.note,
        retry_at=row.retry_at,
        cancel_requested=bool(row.cancel_requested),
    )
