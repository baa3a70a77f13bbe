"""Who runs which job when several processes share one library's queue.

An engine claims a job with one conditional UPDATE in a write transaction (it only succeeds
while the job is still pending) that records the engine as its `Owner` (host/pid/token) and a
lease until now + lease_s; the engine renews the leases of the jobs it holds every lease_s / 3.
A `running` job is taken over (queued again) only when its owner is gone: its lease ran out,
or it was on this host and its process — or, in this process, its engine — has ended.

Threads: the dispatcher claims, the engine's lease thread renews and takes over; `lock` keeps a
claim and its registration by the engine (`holds`) atomic with respect to both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection

from core.jobs import Claim, Owner, pid_alive
from core.models import JobRecord
from core.ports import JobStore

LEASE_S = 30.0  # a claim lasts this long unless its owner renews it (every LEASE_S / 3)
TAKEN_OVER = "picked up again: the process running it had stopped"
_LIVE_TOKENS: set[str] = set()  # the tokens of this process's started engines


class Leases:
    def __init__(self, jobs: JobStore, holds: Callable[[int], bool], lease_s: float = LEASE_S):
        """`holds(job_id)`: does a thread of this engine hold the job (running or ending)?"""
        self.jobs, self.holds, self.lease_s = jobs, holds, lease_s
        self.owner = Owner.new()
        self.lock = threading.Lock()

    def live(self, alive: bool) -> None:
        """The engine started (True) or stopped (False)."""
        (_LIVE_TOKENS.add if alive else _LIVE_TOKENS.discard)(self.owner.token)

    def claim(self, job_id: int, *, function: str, backend: str, note: str) -> JobRecord | None:
        """The job, now running here with `function` on `backend`; None when another process
        took it first. Call with `lock` held, and register the job before releasing it."""
        return self.jobs.claim(
            job_id, str(self.owner), self._until(), function=function, backend=backend, note=note
        )

    def renew(self, held: Collection[int]) -> set[int]:
        """Extend the leases of the jobs held here; those no longer ours (taken over, ended)."""
        with self.lock:
            return self.jobs.renew(str(self.owner), held, self._until()) if held else set()

    def take_over(self) -> list[Claim]:
        """Queue again the running jobs whose owner is gone; the claims taken over."""
        now = time.time()
        with self.lock:
            return [
                claim
                for claim in self.jobs.claims()
                if self._gone(claim, now) and self.jobs.take_over(claim, TAKEN_OVER)
            ]

    def _gone(self, claim: Claim, now: float) -> bool:
        if claim.owner == str(self.owner):  # ours: gone only when no thread here holds it
            return not self.holds(claim.job_id)
        owner = Owner.parse(claim.owner)
        if owner is None or claim.lease_until is None or claim.lease_until < now:
            return True
        if owner.host != self.owner.host:
            return False
        if owner.pid == self.owner.pid:
            return owner.token not in _LIVE_TOKENS
        return not pid_alive(owner.pid)

    def _until(self) -> float:
        return time.time() + self.lease_s
