"""Fetching the files WanGP made, over its one-use gallery download links (worker thread).

`wangp_create_gallery_download` answers a relative URL that works once and expires after
10 minutes (shared/mcp_server.py `_MediaTransferStore`), so every try asks for a fresh one.
Files are written atomically (core.atomic: a temporary file renamed when complete); a failure
leaves nothing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import requests

from core.atomic import write_chunks
from core.errors import BackendError, JobCancelled, PermanentBackendError, TransientBackendError

from .errors import Where

CHUNK = 1 << 20
DOWNLOAD_TRIES = 3  # transfers of one made file before the job fails (retryable)
RETRY_PAUSE_S = 0.5  # times the try number, between download tries


@dataclass(frozen=True)
class Ticket:
    """A one-use download URL (absolute) for one output file."""

    url: str
    size: int | None


class Downloader:
    """Downloads from one WanGP server; `url` is its MCP endpoint (the links' origin)."""

    def __init__(
        self,
        url: str,
        headers: Callable[[], dict[str, str]],
        where: Where,
        connect_s: float,
        read_s: float,
    ):
        self.url, self.headers, self.where = url, headers, where
        self.connect_s, self.read_s = connect_s, read_s

    def fetch(
        self, job_id: str, ticket_of: Callable[[], Ticket], target: Path, cancel: threading.Event
    ) -> Path:
        """Downloads one file WanGP made, asking `ticket_of` for a fresh one-use URL each try,
        up to DOWNLOAD_TRIES times while the failures are transient. A file that cannot be
        fetched fails the job with one line saying WanGP made it (retryable): never a job
        done without its take."""
        for attempt in range(1, DOWNLOAD_TRIES + 1):
            try:
                return self._download(ticket_of(), target, cancel)
            except BackendError as exc:
                failure = exc
            if not isinstance(failure, TransientBackendError) or attempt == DOWNLOAD_TRIES:
                break
            if cancel.wait(RETRY_PAUSE_S * attempt):
                raise JobCancelled("The job was cancelled while its video was downloading.")
        raise type(failure)(
            f"WanGP made {target.name} (job {job_id}) but it could not be downloaded "
            f"({attempt} {'try' if attempt == 1 else 'tries'}): {failure}",
            status=failure.status,
            **self.where,
        ) from failure

    def _download(self, ticket: Ticket, target: Path, cancel: threading.Event) -> Path:
        """Streams one file into `target` (atomically: core.atomic); the URL is used exactly
        once. A transfer cut short leaves nothing."""
        headers = self.headers() if _same_origin(ticket.url, self.url) else {}
        try:
            with requests.get(
                ticket.url, stream=True, headers=headers, timeout=(self.connect_s, self.read_s)
            ) as response:
                self._check_download_status(response.status_code)
                chunks = _until_cancelled(response.iter_content(CHUNK), cancel)
                write_chunks(chunks, target, check=partial(self._check_size, ticket.size))
        except requests.RequestException as exc:
            raise TransientBackendError(
                f"the transfer from {self.url} broke off ({type(exc).__name__}); check the "
                "network to WanGP.",
                **self.where,
            ) from exc
        return target

    def _check_size(self, size: int | None, staged: Path) -> None:
        """The whole file arrived (when WanGP said how big it is)."""
        got = staged.stat().st_size
        if size is not None and got != size:
            raise TransientBackendError(
                f"the transfer stopped after {got} of {size} bytes; check the network to WanGP.",
                **self.where,
            )

    def _check_download_status(self, status: int) -> None:
        if status < 400:
            return
        if status == 404:  # a link is used once and lasts 10 minutes: the next try gets a new one
            raise TransientBackendError(
                "its download link had expired (HTTP 404); look at WanGP's console.",
                status=404,
                **self.where,
            )
        error = TransientBackendError if status >= 500 else PermanentBackendError
        raise error(
            f"WanGP answered HTTP {status} to the download; look at WanGP's console.",
            status=status,
            **self.where,
        )


def _until_cancelled(chunks: Iterator[bytes], cancel: threading.Event) -> Iterator[bytes]:
    for chunk in chunks:
        if cancel.is_set():
            raise JobCancelled("The job was cancelled while its video was downloading.")
        yield chunk


def unique_names(filenames: list[str]) -> list[str]:
    """Safe, distinct file names (a bare name; a counter for repeats)."""
    seen: set[str] = set()
    out = []
    for n, filename in enumerate(filenames, start=1):
        name = re.sub(r"[^\w.\- ]", "_", Path(filename.replace("\\", "/")).name).strip()
        if not name or name.startswith("."):
            name = f"wangp_{n}.mp4"
        stem, suffix = Path(name).stem, Path(name).suffix
        candidate, k = name, 2
        while candidate.lower() in seen:
            candidate, k = f"{stem}_{k}{suffix}", k + 1
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)
