"""The cloud's two failures a user sees."""

from __future__ import annotations

from core.errors import PermanentBackendError, UserError


class CloudUnavailable(UserError):
    """A cloud action cannot run: offline, not configured, or over budget. Says why."""


class CloudStartFailed(PermanentBackendError):
    """A launched machine did not become Ready (or stopped while starting); it was stopped."""
