"""HTTP for one discovery target, used by one worker thread: a session, a deadline, what it
heard. A target that stops answering (timeout, reset, not HTTP, budget spent) raises Gone."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import requests

from core.json_types import JsonValue

MAX_BODY = 32 * 1024 * 1024  # a WanGP /config is large; nothing we read is larger


class Gone(Exception):
    """The target stopped answering (timeout, reset, not HTTP, budget spent): probe no more."""


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str  # after redirects

    def json(self) -> JsonValue:
        """The body as JSON when the status is 200, else None."""
        if self.status != 200:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Http:
    """HTTP for one target, used by one worker thread: a session, a deadline, what it heard."""

    timeout_s: float
    deadline: float
    session: requests.Session = field(default_factory=requests.Session)
    spoke: bool = False  # some request got an HTTP answer
    server: str = ""  # the Server header of the last answer
    locked: bool = False  # some request was answered 401 or 403

    def __post_init__(self) -> None:
        self.session.trust_env = False  # no proxies, no .netrc: only the target is contacted

    def get(self, url: str) -> Reply:
        return self.request("GET", url)

    def request(
        self,
        method: str,
        url: str,
        *,
        json: JsonValue = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """One request; raises Gone when the target did not answer HTTP in time."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Gone("budget spent")
        timeout = (min(self.timeout_s, left), min(self.timeout_s, left))
        try:
            with self.session.request(
                method, url, timeout=timeout, stream=True, json=json, headers=headers
            ) as r:
                body = _read_body(r, self.deadline)
        except requests.RequestException as exc:  # timeout, refused, reset, not HTTP
            raise Gone(str(exc)) from exc
        self.spoke = True
        self.server = r.headers.get("Server", "")
        self.locked = self.locked or r.status_code in (401, 403)
        return Reply(r.status_code, r.headers, body, r.url)

    def close(self) -> None:
        self.session.close()


def _read_body(response: requests.Response, deadline: float) -> bytes:
    """The body, up to MAX_BODY and the deadline; what arrived when either is reached."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY or time.monotonic() >= deadline:
            break
    return b"".join(chunks)
