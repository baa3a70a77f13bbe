"""WanGP's one-use downloads cut short: a real HTTP server on loopback sends fewer bytes than the
ticket promised, or the job is cancelled while the file streams. Either way nothing is left in
the job's folder (the files are written through core.atomic)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.errors import JobCancelled, TransientBackendError
from executors.backends.wangp import files
from executors.backends.wangp.files import Downloader, Ticket

BODY = b"0123456789"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _downloader(url: str) -> Downloader:
    return Downloader(url + "/mcp", lambda: {}, {"backend": "wangp", "url": url}, 2.0, 5.0)


def test_a_short_transfer_is_retried_then_fails_in_one_line_leaving_nothing(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(files, "RETRY_PAUSE_S", 0.01)
    tickets: list[Ticket] = []

    def ticket() -> Ticket:
        tickets.append(Ticket(f"{server}/file/{len(tickets)}", len(BODY) * 2))
        return tickets[-1]

    with pytest.raises(TransientBackendError) as caught:
        _downloader(server).fetch("job-1", ticket, tmp_path / "clip.mp4", threading.Event())

    message = str(caught.value)
    assert "\n" not in message
    assert "clip.mp4 (job job-1)" in message and "3 tries" in message
    assert f"stopped after {len(BODY)} of {len(BODY) * 2} bytes" in message
    assert len(tickets) == files.DOWNLOAD_TRIES
    assert list(tmp_path.iterdir()) == []


def test_a_cancel_while_streaming_leaves_no_file(server: str, tmp_path: Path):
    cancel = threading.Event()
    cancel.set()

    with pytest.raises(JobCancelled, match="cancelled while its video was downloading"):
        _downloader(server).fetch(
            "job-2", lambda: Ticket(f"{server}/file", None), tmp_path / "clip.mp4", cancel
        )

    assert list(tmp_path.iterdir()) == []


def test_a_whole_transfer_lands_under_its_name(server: str, tmp_path: Path):
    target = tmp_path / "clip.mp4"
    got = _downloader(server).fetch(
        "job-3", lambda: Ticket(f"{server}/file", len(BODY)), target, threading.Event()
    )

    assert got == target and target.read_bytes() == BODY
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
