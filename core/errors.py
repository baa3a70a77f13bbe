"""One error tree for the whole app.

Every message a user can see says what happened and what to do. Library exceptions are
translated at the edge (backends/, repositories/) with ``raise ... from``.

AppError
├── UserError            shown verbatim (ConfigError, TemplateError, InputError, NotFound)
├── BackendError         backend, url, status, detail
│   ├── TransientBackendError   retry: connect/timeout, 502/503/504, WS dropped
│   ├── OutOfMemory             degrade: next lower quality tier
│   └── PermanentBackendError   no retry: validation (node_errors), execution_error
├── JobCancelled
└── StorageError
"""

from __future__ import annotations


class AppError(Exception):
    """Base of every error Takeboard raises on purpose."""


class UserError(AppError):
    """Bad input from the user; the message names the field and the fix."""


class InputError(UserError):
    """A value the user gave (CLI argument, prompt data, import file) is not valid."""


class NotFound(UserError):
    """An id the user named does not exist."""


class ConfigError(UserError):
    """config.json (shipped, the home's, or env) has an invalid key or value."""


class TemplateError(UserError):
    """A workflow template is broken; the message names its path and the reason."""


class DatabaseError(AppError):
    """The library database cannot be opened or used (too new, corrupt, locked)."""


class StorageError(AppError):
    """An artifact file could not be written, read or placed."""


class JobCancelled(AppError):
    """The job was cancelled by the user; not a failure."""


class BackendError(AppError):
    """A generative server failed. Carries where and why."""

    def __init__(
        self,
        message: str,
        *,
        backend: str = "",
        url: str = "",
        status: int | None = None,
        detail: object = None,
    ):
        super().__init__(message)
        self.backend = backend
        self.url = url
        self.status = status
        self.detail = detail


class TransientBackendError(BackendError):
    """Worth retrying: connection refused, timeout, 502/503/504, dropped socket."""


class OutOfMemory(BackendError):
    """The server ran out of GPU memory; retry at a lower quality tier."""


class PermanentBackendError(BackendError):
    """Retrying cannot help: validation errors, execution errors."""


class NotRunnableHere(PermanentBackendError):
    """This server lacks a node class or model file the workflow needs; another server of the
    pool may have it (a current ComfyUI beside a 0.3.x one)."""
