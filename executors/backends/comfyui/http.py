"""One ComfyUI server's HTTP side: a requests session, errors translated, passing failures retried.

Errors say what really happened:
* the connection was refused or timed out → "is not answering" / "did not answer in time";
* a 5xx answer → "answered 503 to /history" (with what that status usually means);
* 401/403 → the access token (or ComfyUI's Origin check); other 4xx → the status and body.

Idempotent requests (every GET, and the POSTs that are safe to repeat: /interrupt, /queue
delete, /history delete, /free, /api/jobs/{id}/cancel, an upload of the same bytes) are retried
in place with exponential backoff and jitter when the server answers 5xx or drops the
connection mid-answer. POST /prompt is not: run.py asks the server whether it has the prompt
before sending it again. A refused connection or a timeout is not retried here either: the
server is down or stuck, and the engine's job-level retry (with its longer backoff) decides.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import IO, TypedDict, TypeVar, TypeVarTuple, Unpack

import requests
import tenacity
from urllib3.exceptions import NewConnectionError

from core.errors import BackendError, PermanentBackendError, TransientBackendError
from core.json_types import JsonValue

log = logging.getLogger(__name__)
T = TypeVar("T")
E = TypeVar("E", bound=BackendError)
Args = TypeVarTuple("Args")

STATUS_HINTS = {
    500: "an internal error — see the server's console",
    502: "a proxy in front of it could not reach ComfyUI — check ComfyUI runs behind it",
    503: "it may be overloaded or restarting",
    504: "a proxy in front of it timed out waiting for ComfyUI",
}


class PassingFailure(TransientBackendError):
    """A failure worth retrying in place: a 5xx answer or a connection dropped mid-answer."""


class RequestOptions(TypedDict, total=False):
    """What a request may carry besides its method and path (requests' keyword arguments)."""

    json: JsonValue
    params: Mapping[str, str]
    data: Mapping[str, str]
    files: Mapping[str, tuple[str, bytes | IO[bytes], str]]
    stream: bool


class Http:
    attempts = 4  # tries of an idempotent request
    backoff_s = 0.1  # first wait; doubles, with jitter, up to backoff_max_s
    backoff_max_s = 1.0

    def __init__(
        self,
        url: str,
        *,
        name: str,
        shown_url: str,
        token: str | None,
        verify_tls: bool,
        timeout: tuple[float, float],
    ):
        self.url, self.name, self.shown_url = url, name, shown_url
        self.timeout = timeout
        self.session = requests.Session()
        # Read proxy and CA-bundle settings from the environment once, not on every request
        # (requests re-scans os.environ and stats ~/.netrc per call: ~2 ms a job, bench/).
        self.session.trust_env = False
        self.session.proxies.update(requests.utils.get_environ_proxies(url))
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self.session.verify = (ca_bundle or True) if verify_tls else False
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(
        self,
        method: str,
        path: str,
        *,
        parse: bool = True,
        retry: bool = True,
        **options: Unpack[RequestOptions],
    ) -> JsonValue:
        """Send, check and (with `parse`) decode the JSON answer; retried in place when
        `retry` (the request is idempotent)."""
        if not retry:
            return self._once(method, path, parse, options)
        return self.retried(self._once, method, path, parse, options)

    def retried(self, attempt: Callable[[*Args], T], *args: *Args) -> T:
        """`attempt(*args)`, again after a passing failure (an idempotent request)."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_exponential_jitter(
                multiplier=self.backoff_s, max=self.backoff_max_s, jitter=self.backoff_s
            ),
            retry=tenacity.retry_if_exception_type(PassingFailure),
            before_sleep=self._retrying,
            reraise=True,
        )
        try:
            return retrying(attempt, *args)
        except PassingFailure as exc:
            raise self.error(
                TransientBackendError,
                f"{exc} (tried {self.attempts} times)",
                status=exc.status,
                detail=exc.detail,
            ) from exc

    def send(self, method: str, path: str, **options: Unpack[RequestOptions]) -> requests.Response:
        """One request; library errors become BackendErrors."""
        try:
            return self.session.request(method, self.url + path, timeout=self.timeout, **options)
        except requests.exceptions.SSLError as exc:
            msg = (
                f"TLS check failed for ComfyUI at {self.shown_url} — fix the certificate or turn "
                "off TLS verification for this server in Settings"
            )
            raise self.error(PermanentBackendError, msg, detail=str(exc)) from exc
        except requests.Timeout as exc:
            msg = f"ComfyUI at {self.shown_url} did not answer in time — it may be overloaded"
            raise self.error(TransientBackendError, msg, detail=str(exc)) from exc
        except requests.ConnectionError as exc:
            if _dropped_mid_answer(exc):
                msg = f"ComfyUI at {self.shown_url} dropped the connection during {path}"
                raise self.error(PassingFailure, msg, detail=str(exc)) from exc
            raise self.unreachable(str(exc)) from exc
        except requests.RequestException as exc:
            raise self.unreachable(str(exc)) from exc

    def check(self, response: requests.Response, path: str) -> None:
        status = response.status_code
        if status < 400:
            return
        if status in STATUS_HINTS:
            msg = f"ComfyUI at {self.shown_url} answered {status} to {path}: {STATUS_HINTS[status]}"
            raise self.error(PassingFailure, msg, status=status)
        if status in (401, 403):
            raise self.error(PermanentBackendError, _refused(self.shown_url, status), status=status)
        msg = f"ComfyUI at {self.shown_url} answered {status} to {path}: {response.text[:200]!r}"
        raise self.error(PermanentBackendError, msg, status=status)

    def json(self, response: requests.Response, path: str) -> JsonValue:
        try:
            body = response.json()
        except (ValueError, RecursionError) as exc:
            why = "nested too deep" if isinstance(exc, RecursionError) else "not JSON"
            msg = (
                f"{self.shown_url}{path} did not answer with JSON ({why}) — is this the URL "
                "of a ComfyUI?"
            )
            raise self.error(PermanentBackendError, msg, status=response.status_code) from exc
        if not isinstance(body, dict | list):
            msg = f"unexpected answer from {self.shown_url}{path}"
            raise self.error(PermanentBackendError, msg)
        return body

    def unreachable(self, detail: str) -> TransientBackendError:
        msg = (
            f"ComfyUI at {self.shown_url} is not answering — start it or change the URL in Settings"
        )
        return self.error(TransientBackendError, msg, detail=detail)

    def malformed(self, path: str, why: str) -> PermanentBackendError:
        msg = (
            f"ComfyUI at {self.shown_url} sent a malformed answer to {path}: {why} — a proxy or "
            "custom node may be interfering; check the server"
        )
        return self.error(PermanentBackendError, msg)

    def error(
        self,
        kind: type[E],
        message: str,
        *,
        status: int | None = None,
        detail: object = None,
    ) -> E:
        return kind(message, backend=self.name, url=self.shown_url, status=status, detail=detail)

    def close(self) -> None:
        self.session.close()

    def _once(self, method: str, path: str, parse: bool, options: RequestOptions) -> JsonValue:
        response = self.send(method, path, **options)
        self.check(response, path)
        return self.json(response, path) if parse else None

    def _retrying(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        message = f"{exc} — retrying ({state.attempt_number + 1} of {self.attempts})"
        log.info("%s", message)


def _dropped_mid_answer(exc: requests.ConnectionError) -> bool:
    """The connection was made, then lost (reset, closed without an answer), as opposed to
    refused or unresolvable: the server is there, the request may be repeated."""
    reason = exc.args[0] if exc.args else None
    cause = getattr(reason, "reason", reason)
    return not isinstance(cause, NewConnectionError) and "Connection aborted" in str(exc)


def _refused(url: str, status: int) -> str:
    if status == 401:
        return f"ComfyUI at {url} refused the request (401) — check the access token in Settings"
    return (
        f"ComfyUI at {url} refused the request (403) — check the access token in Settings; "
        "ComfyUI itself answers 403 when an Origin header does not match its host"
    )
