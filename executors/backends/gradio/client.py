"""GradioClient: one Gradio (≥ 4) app's named endpoints as a backend (see the package docstring).

Threads: `health()` runs on the pool's health thread, `run()` on job worker threads (several at
once may share one client); `close()` on whichever thread shuts the backends down.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from core.config import UrlBackendConfig
from core.errors import BackendError, JobCancelled, TransientBackendError
from core.json_types import JsonObject, JsonValue
from executors.backends.base import Event, Health, Progress

from .app_config import AppInfo, read_app_info
from .errors import App, endpoint_error, outputs_text, translate
from .hub_env import quiet_hub_env
from .progress import progress_of
from .request import Call, check_local_files, files_in, move_into, parse_call, with_files

if TYPE_CHECKING:
    from gradio_client import Client, Job

log = logging.getLogger(__name__)

STREAM_READ_S = 60.0  # httpx read timeout: well above the server's 15 s SSE heartbeat


class GradioClient:
    kind = "gradio"

    def __init__(self, config: UrlBackendConfig, *, connect_s: float = 5.0, poll_s: float = 0.2):
        self.name = config.name
        self.url = config.url.rstrip("/")
        self._app = App(self.name, self.url)
        self._config = config
        self._connect_s = connect_s
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._downloads: Path | None = None
        self._cleanup: weakref.finalize | None = None

    # --- health ---------------------------------------------------------------------------------

    def health(self) -> Health:
        """Health thread: one GET /config; never raises."""
        try:
            info = read_app_info(self._app, self._auth_headers(), self._connect_s)
        except requests.RequestException:
            return Health(online=False, detail=self._app.down_text())
        except BackendError as exc:
            return Health(online=False, detail=str(exc))
        except Exception as exc:  # a health probe must not take the pool down
            log.warning("health check of %s failed", self.url, exc_info=True)
            return Health(online=False, detail=f"the check of {self.url} failed: {exc}")
        extra = {"version": info.version, "endpoints": list(info.endpoints)}
        if not info.callable:
            return Health(online=True, detail=self._old_gradio_text(info), extra=extra)
        return Health(online=True, detail=f"Gradio {info.version}", extra=extra)

    # --- run ------------------------------------------------------------------------------------

    def run(
        self,
        request: JsonObject,
        *,
        workdir: Path,
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        timeout_s: float | None,
    ) -> list[Path]:
        """Worker thread: call the endpoint, report progress, return its file(s) in `workdir`."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        call = parse_call(self._app, request)
        check_local_files(call)
        if cancel.is_set():
            raise JobCancelled(f"{call.api_name} on {self.name} was cancelled before it started")
        client = self._connected()
        job = self._submit(client, call)
        try:
            result = self._wait(job, call, on_event, cancel, deadline, timeout_s)
        except TransientBackendError:
            self._forget(client)
            raise
        except BaseException:
            self._stop(job)
            raise
        return self._collect(client, call, result, Path(workdir))

    def close(self) -> None:
        """Any thread, once no job runs here: stop the Client's heartbeat thread and remove the
        download folder. A later run connects afresh."""
        with self._lock:
            client, self._client = self._client, None
            cleanup, self._cleanup, self._downloads = self._cleanup, None, None
        if client is not None:
            client.close()
        if cleanup is not None:
            cleanup()

    # --- the Client -----------------------------------------------------------------------------

    def _connected(self) -> Client:
        """Worker thread: the shared Client, made on first use (one thread makes it)."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Client:
        info = self._checked_app_info()
        if not info.callable:
            raise self._app.permanent(self._old_gradio_text(info))
        quiet_hub_env()
        try:
            import httpx
            from gradio_client import Client
        except ImportError as exc:
            raise self._app.permanent(
                "gradio_client is not installed — run `pip install gradio_client` in "
                "Takeboard's environment"
            ) from exc
        try:
            return Client(
                self.url,
                token=self._config.token() or False,
                verbose=False,
                download_files=str(self._download_dir()),
                analytics_enabled=False,
                httpx_kwargs={"timeout": httpx.Timeout(STREAM_READ_S, connect=self._connect_s)},
            )
        except Exception as exc:
            raise translate(self._app, exc, "connecting") from exc

    def _download_dir(self) -> Path:
        if self._downloads is None:
            self._downloads = Path(tempfile.mkdtemp(prefix="takeboard-gradio-"))
            self._cleanup = weakref.finalize(
                self, shutil.rmtree, str(self._downloads), ignore_errors=True
            )
        return self._downloads

    def _forget(self, client: Client) -> None:
        """The app stopped answering: the next job connects afresh (its config may differ)."""
        with self._lock:
            if self._client is client:
                self._client = None
        try:
            client.close()
        except Exception:
            log.debug("closing the gradio client of %s failed", self.url, exc_info=True)

    def _checked_app_info(self) -> AppInfo:
        try:
            return read_app_info(self._app, self._auth_headers(), self._connect_s)
        except requests.RequestException as exc:
            raise self._app.transient(self._app.down_text(), detail=str(exc)) from exc

    def _auth_headers(self) -> dict[str, str]:
        token = self._config.token()
        return {"x-hf-authorization": f"Bearer {token}"} if token else {}

    def _old_gradio_text(self, info: AppInfo) -> str:
        return self._app.old_gradio_text(info.version, info.protocol)

    # --- calling and waiting --------------------------------------------------------------------

    def _submit(self, client: Client, call: Call) -> Job:
        """Start the job; a wrong api_name or wrong keyword names fail here, before any work."""
        inputs = with_files(call)
        try:
            return client.submit(api_name=call.api_name, **inputs)
        except (ValueError, TypeError) as exc:
            raise endpoint_error(self._app, self._api(client), call.api_name, exc) from exc

    def _wait(
        self,
        job: Job,
        call: Call,
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        deadline: float | None,
        timeout_s: float | None,
    ) -> JsonValue:
        """Worker thread: wait in slices of poll_s, reporting changed progress in between."""
        last: Progress | None = None
        while True:
            if cancel.is_set():
                raise JobCancelled(f"{call.api_name} on {self.name} was cancelled")
            wait = (
                self._poll_s if deadline is None else min(self._poll_s, deadline - time.monotonic())
            )
            if wait <= 0:
                raise self._app.permanent(
                    f"{call.api_name} on {self.name} did not finish within its {timeout_s:g} s "
                    "limit — raise timeout_s in the template or pick a faster quality (the app "
                    "may still finish the work it had started)"
                )
            try:
                return job.result(timeout=wait)
            except TimeoutError as exc:
                if job.done():  # the job itself raised a TimeoutError
                    raise translate(self._app, exc, call.api_name) from exc
            except Exception as exc:
                if cancel.is_set():
                    raise JobCancelled(f"{call.api_name} on {self.name} was cancelled") from exc
                raise translate(self._app, exc, call.api_name) from exc
            event = progress_of(job.status())
            if event is not None and event != last:
                on_event(event)
                last = event

    def _stop(self, job: Job) -> None:
        """Drop an unfinished job from the app's queue (or stop its generator); best effort."""
        if job.done():
            return
        try:
            job.cancel()
        except Exception:
            log.debug("cancelling a job on %s failed", self.url, exc_info=True)

    # --- outputs --------------------------------------------------------------------------------

    def _collect(self, client: Client, call: Call, result: JsonValue, workdir: Path) -> list[Path]:
        """The chosen output's file(s), moved from the download folder into `workdir`."""
        values = list(result) if isinstance(result, tuple) else [result]
        if call.output is not None:
            if not -len(values) <= call.output < len(values):
                raise self._app.permanent(
                    f"{call.api_name} has no output {call.output}: "
                    f"{outputs_text(self._api(client), call.api_name)}"
                )
            files = files_in(values[call.output], self._downloads)
            if not files:
                raise self._app.permanent(
                    f"output {call.output} of {call.api_name} is not a file: "
                    f"{outputs_text(self._api(client), call.api_name)}"
                )
        else:
            files = next((f for v in values if (f := files_in(v, self._downloads))), [])
            if not files:
                raise self._app.permanent(
                    f"{call.api_name} returned no file: "
                    f"{outputs_text(self._api(client), call.api_name)}"
                )
        workdir.mkdir(parents=True, exist_ok=True)
        return [move_into(workdir, path) for path in files]

    def _api(self, client: Client) -> JsonObject:
        """The app's view_api dict; {} when it cannot be read."""
        try:
            return client.view_api(print_info=False, return_format="dict") or {}
        except Exception:
            log.debug("view_api of %s failed", self.url, exc_info=True)
            return {}
