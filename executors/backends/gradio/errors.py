"""What goes wrong with a Gradio app, as core errors with one line that fits what happened.

`App` names the app an error is about; `translate` turns a gradio_client / httpx exception into
one of ours. Any thread (pure apart from the lazy gradio_client import in `translate`).
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from core.errors import BackendError, OutOfMemory, PermanentBackendError, TransientBackendError
from core.json_types import JsonObject, JsonValue
from executors.backends.base import looks_like_oom

RETRY_STATUSES = (429, 502, 503, 504)
OLD_GRADIO_FIX = "use a command backend (e.g. Applio `core.py infer`) or a Gradio ≥4 app"


@dataclass(frozen=True)
class App:
    """The app an error is about."""

    name: str
    url: str

    def permanent(
        self, message: str, *, status: int | None = None, detail: object = None
    ) -> PermanentBackendError:
        return PermanentBackendError(
            message, backend=self.name, url=self.url, status=status, detail=detail
        )

    def transient(
        self, message: str, *, status: int | None = None, detail: object = None
    ) -> TransientBackendError:
        return TransientBackendError(
            message, backend=self.name, url=self.url, status=status, detail=detail
        )

    def down_text(self) -> str:
        return (
            f"the Gradio app at {self.url} is not answering — start it or fix the URL in Settings"
        )

    def old_gradio_text(self, version: str, protocol: str) -> str:
        return (
            f"{self.name} ({self.url}) runs Gradio {version} (protocol {protocol!r}), "
            f"a Gradio 3.x app, which gradio_client cannot call — {OLD_GRADIO_FIX}"
        )


def translate(app: App, exc: BaseException, doing: str) -> BackendError:
    """A gradio_client / httpx exception as one of ours. `doing`: the api_name or
    "connecting"."""
    import httpx
    from gradio_client import exceptions as gexc

    where = f"{app.name} ({app.url})"
    if isinstance(exc, gexc.AppError):
        return _app_error(app, exc, doing)
    if isinstance(exc, gexc.ValidationError):
        return app.permanent(f"{doing} on {where} rejected the inputs: {exc}")
    if isinstance(exc, gexc.AuthenticationError):
        return app.permanent(
            f"{where} needs a login: {exc} — set token_env for it in Settings, or launch the "
            "app without auth"
        )
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        message = f"{doing} on {where} failed: HTTP {status} from {exc.request.url}"
        if status in RETRY_STATUSES:
            return app.transient(message, status=status)
        return app.permanent(message, status=status)
    if isinstance(exc, httpx.TransportError | requests.ConnectionError):
        return app.transient(app.down_text(), detail=str(exc))
    return _dropped_or_other(app, exc, doing)


def _app_error(app: App, exc: BaseException, doing: str) -> BackendError:
    """The app's own function raised (gradio_client's AppError)."""
    where = f"{app.name} ({app.url})"
    message = getattr(exc, "message", None)
    message = message if isinstance(message, str) else str(exc)
    if looks_like_oom(message):
        return OutOfMemory(
            f"{doing} on {where} ran out of GPU memory: {message} — try a lower quality "
            "or free the GPU",
            backend=app.name,
            url=app.url,
            detail=message,
        )
    return app.permanent(
        f"{doing} on {where} failed: {message} — check the inputs and the app's console",
        detail=message,
    )


def _dropped_or_other(app: App, exc: BaseException, doing: str) -> BackendError:
    """A busy queue, a dropped connection, an unknown protocol, or anything else."""
    import concurrent.futures

    from gradio_client import utils as gutils

    where = f"{app.name} ({app.url})"
    if isinstance(exc, gutils.QueueError | gutils.TooManyRequestsError):
        return app.transient(f"{where} is busy ({exc}) — the job will be tried again")
    if isinstance(exc, concurrent.futures.CancelledError) or str(exc) == "Server stopped.":
        return app.transient(
            f"the connection to {where} dropped while {doing} was running — is the app "
            "still up? The job will be tried again"
        )
    if "Unknown protocol" in str(exc):
        return app.permanent(
            f"{where} speaks a protocol gradio_client cannot call ({exc}) — {OLD_GRADIO_FIX}"
        )
    return app.permanent(
        f"{doing} on {where} failed: {type(exc).__name__}: {exc} — check the app's console"
    )


def endpoint_error(
    app: App, api: JsonObject, api_name: str, exc: Exception
) -> PermanentBackendError:
    """A submit refused before any work: no such endpoint, or inputs it does not take.
    `api` is the app's view_api dict."""
    endpoints = api.get("named_endpoints", {})
    if api_name not in endpoints:
        names = ", ".join(endpoints) or "none"
        return app.permanent(
            f"{app.name} has no endpoint {api_name} — its named endpoints are: "
            f"{names}; fix api_name in the template",
            detail=str(exc),
        )
    parameters = endpoints[api_name].get("parameters", [])
    return app.permanent(
        f"{api_name} on {app.name} does not take these inputs ({exc}) — its "
        f"parameters are: {_parameters_text(parameters)}",
        detail=str(exc),
    )


def outputs_text(api: JsonObject, api_name: str) -> str:
    """The endpoint's outputs in words, for a request whose "output" does not fit."""
    returns = api.get("named_endpoints", {}).get(api_name, {}).get("returns", [])
    described = "; ".join(
        f"{i}: {r.get('component', '?')} {r.get('label') or ''}".rstrip()
        for i, r in enumerate(returns)
    )
    return f'its outputs are {described or "unknown"} — set "output" in the template\'s call'


def _parameters_text(parameters: list[JsonValue]) -> str:
    words = []
    for p in parameters:
        name = p.get("parameter_name") or p.get("label") or "?"
        default = (
            f"default {p.get('parameter_default')!r}"
            if p.get("parameter_has_default")
            else "required"
        )
        words.append(f"{name} ({p.get('component', '?')}, {default})")
    return ", ".join(words) or "none"
