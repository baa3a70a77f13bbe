"""`CloudMonitor`: the cloud as a running engine sees it.

On each health tick (`tick`, engine thread) a Ready machine that holds jobs counts as used, the
idle and budget stops run, and the pool's members follow the Ready machine — one started from
the window, or by `cloud start` in another process, joins; a stopped one leaves. The window
reads `snapshot()` (memory only) and runs `start`/`stop` on worker threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from core.config import CloudSettings, ServerConfig
from executors.cloud.manager import CloudManager
from executors.cloud.state import CloudStatus

if TYPE_CHECKING:
    from executors.backends.comfyui import ComfyClient
    from executors.pool import ServerPool

log = logging.getLogger(__name__)


class CloudMonitor:
    """The cloud manager joined to the engine's server pool (see the module docstring)."""

    def __init__(
        self,
        manager: CloudManager,
        pool: ServerPool,
        make_client: Callable[[ServerConfig], ComfyClient],
    ):
        self.manager, self.pool, self._make_client = manager, pool, make_client
        self._member: ServerConfig | None = None
        self._stops: tuple[str, ...] = ()  # what the last automatic stop said, for the window
        self._sync(manager.ready_servers())  # reads the state file, no request

    def tick(self) -> None:
        member = self._member
        busy = member is not None and any(
            s.name == member.name and (s.slots_used or s.queue_running or s.queue_pending)
            for s in self.pool.states()
        )
        notices = self.manager.enforce(used=busy)
        for notice in notices:
            log.warning("cloud: %s", notice)
        self._stops = tuple(notices) or self._stops
        self._sync(self.manager.ready_servers(read=False))

    def start(self, on_progress: Callable[[str], None] | None = None) -> CloudStatus:
        try:
            return self.manager.start(on_progress)
        finally:
            self._sync(self.manager.ready_servers(read=False))

    def stop(self) -> CloudStatus:
        try:
            return self.manager.stop()
        finally:
            self._sync(self.manager.ready_servers(read=False))

    def at_quit(self) -> list[str]:
        return self.manager.at_quit()

    def snapshot(self) -> CloudStatus:
        status = self.manager.snapshot()
        return replace(status, notices=(*self._stops, *status.notices))

    def unavailable_reason(self) -> str | None:
        return self.manager.unavailable_reason()

    def configure(self, settings: CloudSettings) -> None:
        self.manager.configure(settings)
        self._sync(self.manager.ready_servers(read=False))

    def _sync(self, machines: list[ServerConfig]) -> None:
        ready = machines[0] if machines else None
        if ready == self._member:
            return
        if self._member is not None:
            self.pool.remove(self._member.name)
            log.info("cloud: %s left the pool", self._member.name)
        if ready is not None:
            self.pool.add(ready, self._make_client(ready))
            log.info("cloud: %s joined the pool (%s)", ready.name, ready.shown_url())
        self._member = ready
