"""Any Gradio (≥ 4) app with named endpoints as a Takeboard backend, through gradio_client.

`GradioClient(config)` follows the `ToolClient` contract (base.py). A request is

    {"inputs": {<the endpoint's keyword arguments>}, "api_name": "/voice_convert",
     "output": <index of the output that is the file, or null: the first file output>,
     "files": [<names of inputs whose values are local file paths (or URLs)>]}

* One gradio_client `Client` per GradioClient, made on the first `run` (under a lock) and shared
  by every job that runs on this app; dropped when the app stops answering, so the next job
  connects afresh. Its downloads go to a private temp folder; the chosen output files are
  moved from there into the caller's `workdir`.
* Before the Client is made, `GET <url>/config` tells a Gradio 3 app (websocket protocol) apart:
  gradio_client 2.x cannot call it, and for apps ≤ 3.36.1 its constructor would ask an internet
  service for the API description. Such an app gets a PermanentBackendError saying what to do.
* Progress comes from `job.status()`, polled every `poll_s` while `job.result(timeout=poll_s)`
  waits; the deadline is kept the same way (httpx's own timeouts stay above the server's 15 s
  SSE heartbeat). A deadline or a cancel calls `job.cancel()`, which drops queued work and stops
  generators; a plain function the app is already running finishes on the server regardless.
* The machine's saved Hugging Face token is never sent: `token=False` unless the user named an
  environment variable (`token_env`), whose value is then sent as `x-hf-authorization`.
* gradio_client (and so huggingface_hub and httpx) is imported on the first connect, after
  `quiet_hub_env()`; importing this module costs only `requests`.

Threads: `health()` runs on the pool's health thread, `run()` on job worker threads (several at
once may share one client); `close()` on whichever thread shuts the backends down.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from core.config import UrlBackendConfig
from core.errors import (
    BackendError,
    InputError,
    JobCancelled,
    OutOfMemory,
    PermanentBackendError,
    TransientBackendError,
)
from executors.backends.base import Event, Health, Progress, looks_like_oom

log = logging.getLogger(__name__)

# Read by huggingface_hub when it is imported (and GRADIO_ANALYTICS_ENABLED by every Client):
# no telemetry, no agent-registry fetch, no implicit token.
QUIET_HUB_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
}
HUB_FLAGS = ("HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "HF_HUB_DISABLE_IMPLICIT_TOKEN")
SSE_PROTOCOLS = ("sse", "sse_v1", "sse_v2", "sse_v2.1", "sse_v3")  # what gradio_client 2.x speaks
STREAM_READ_S = 60.0  # httpx read timeout: well above the server's 15 s SSE heartbeat
CONFIG_READ_S = 10.0
RETRY_STATUSES = (429, 502, 503, 504)
OLD_GRADIO_FIX = "use a command backend (e.g. Applio `core.py infer`) or a Gradio ≥4 app"


def quiet_hub_env() -> None:
    """Turn off Hugging Face telemetry, hub lookups and the implicit token for this process.

    Main thread at app start-up, and again right before gradio_client is imported (worker
    thread). The variables only work when set before huggingface_hub is imported; if it was
    imported earlier, its flags are set too so the late import changes nothing."""
    os.environ.update(QUIET_HUB_ENV)
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        for flag in HUB_FLAGS:
            setattr(constants, flag, True)


@dataclass(frozen=True)
class AppInfo:
    """What an app's /config says about it."""

    version: str
    protocol: str
    endpoints: tuple[str, ...]  # callable named endpoints, "/name"

    @property
    def callable(self) -> bool:
        return self.protocol in SSE_PROTOCOLS


@dataclass(frozen=True)
class Call:
    """A checked request."""

    api_name: str
    inputs: dict[str, Any]
    output: int | None
    files: tuple[str, ...]


class GradioClient:
    kind = "gradio"

    def __init__(self, config: UrlBackendConfig, *, connect_s: float = 5.0, poll_s: float = 0.2):
        self.name = config.name
        self.url = config.url.rstrip("/")
        self._config = config
        self._connect_s = connect_s
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self._client: Any = None
        self._downloads: Path | None = None
        self._cleanup: weakref.finalize | None = None

    # --- health ---------------------------------------------------------------------------------

    def health(self) -> Health:
        """Health thread: one GET /config; never raises."""
        try:
            info = self._app_info()
        except requests.RequestException:
            return Health(online=False, detail=self._down_text())
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
        request: dict[str, Any],
        *,
        workdir: Path,
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        timeout_s: float | None,
    ) -> list[Path]:
        """Worker thread: call the endpoint, report progress, return its file(s) in `workdir`."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        call = self._parse(request)
        self._check_local_files(call)
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

    # --- requests -------------------------------------------------------------------------------

    def _parse(self, request: dict[str, Any]) -> Call:
        api_name = request.get("api_name")
        inputs = request.get("inputs", {})
        output = request.get("output")
        files = request.get("files", [])
        if not isinstance(api_name, str) or not api_name.strip("/"):
            raise self._permanent(
                f'the request for {self.name} has no "api_name" — set "call": '
                '{"api_name": "/endpoint"} in the template'
            )
        if not isinstance(inputs, dict):
            raise self._permanent(
                f'"inputs" for {api_name} must be an object of the endpoint\'s keyword arguments'
            )
        if output is not None and (isinstance(output, bool) or not isinstance(output, int)):
            raise self._permanent(
                f'"output" for {api_name} must be the index of a file output or null, '
                f"got {output!r}"
            )
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise self._permanent(f'"files" for {api_name} must be a list of input names')
        api_name = api_name if api_name.startswith("/") else "/" + api_name
        return Call(api_name, dict(inputs), output, tuple(files))

    def _check_local_files(self, call: Call) -> None:
        """Every named file input must exist here (URLs are passed on as they are)."""
        for name in call.files:
            for value in _as_list(call.inputs.get(name)):
                if not isinstance(value, str | os.PathLike):
                    raise InputError(
                        f"{name}: expected a file path for {call.api_name}, got {value!r}"
                    )
                if not _is_url(str(value)) and not Path(value).expanduser().is_file():
                    raise InputError(
                        f"{name}: the file {value} does not exist — pick an existing file"
                    )

    def _with_files(self, call: Call) -> dict[str, Any]:
        from gradio_client import handle_file

        inputs = dict(call.inputs)
        for name in call.files:
            value = inputs.get(name)
            if isinstance(value, list):
                inputs[name] = [handle_file(_local(v)) for v in value]
            elif value is not None:
                inputs[name] = handle_file(_local(value))
        return inputs

    # --- the Client -----------------------------------------------------------------------------

    def _connected(self) -> Any:
        """Worker thread: the shared Client, made on first use (one thread makes it)."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        info = self._checked_app_info()
        if not info.callable:
            raise self._permanent(self._old_gradio_text(info))
        quiet_hub_env()
        try:
            import httpx
            from gradio_client import Client
        except ImportError as exc:
            raise self._permanent(
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
            raise self._translate(exc, "connecting") from exc

    def _download_dir(self) -> Path:
        if self._downloads is None:
            self._downloads = Path(tempfile.mkdtemp(prefix="takeboard-gradio-"))
            self._cleanup = weakref.finalize(
                self, shutil.rmtree, str(self._downloads), ignore_errors=True
            )
        return self._downloads

    def _forget(self, client: Any) -> None:
        """The app stopped answering: the next job connects afresh (its config may differ)."""
        with self._lock:
            if self._client is client:
                self._client = None
        try:
            client.close()
        except Exception:
            log.debug("closing the gradio client of %s failed", self.url, exc_info=True)

    # --- /config --------------------------------------------------------------------------------

    def _app_info(self) -> AppInfo:
        """GET /config. Raises requests.RequestException when the app does not answer and
        PermanentBackendError when what answers is not a usable Gradio app."""
        response = requests.get(
            self.url + "/config",
            headers=self._auth_headers(),
            timeout=(self._connect_s, CONFIG_READ_S),
        )
        if response.status_code == 401:
            raise self._permanent(
                f"the Gradio app at {self.url} asks for a login — Takeboard can send only a "
                "token: set token_env for it in Settings, or launch the app without auth"
            )
        if response.status_code in RETRY_STATUSES:
            raise TransientBackendError(
                f"the Gradio app at {self.url} answered HTTP {response.status_code} — it is "
                "busy or starting; try again shortly",
                backend=self.name,
                url=self.url,
                status=response.status_code,
            )
        try:
            config = response.json() if response.ok else None
        except ValueError:
            config = None
        if not isinstance(config, dict) or not isinstance(config.get("dependencies"), list):
            raise self._permanent(
                f"{self.url} does not look like a Gradio app (GET /config answered HTTP "
                f"{response.status_code}) — fix the URL in Settings",
                status=response.status_code,
            )
        return AppInfo(
            version=str(config.get("version", "unknown")),
            protocol=str(config.get("protocol", "ws")),
            endpoints=_named_endpoints(config["dependencies"]),
        )

    def _checked_app_info(self) -> AppInfo:
        try:
            return self._app_info()
        except requests.RequestException as exc:
            raise TransientBackendError(
                self._down_text(), backend=self.name, url=self.url, detail=str(exc)
            ) from exc

    def _auth_headers(self) -> dict[str, str]:
        token = self._config.token()
        return {"x-hf-authorization": f"Bearer {token}"} if token else {}

    # --- calling and waiting --------------------------------------------------------------------

    def _submit(self, client: Any, call: Call) -> Any:
        """Start the job; a wrong api_name or wrong keyword names fail here, before any work."""
        inputs = self._with_files(call)
        try:
            return client.submit(api_name=call.api_name, **inputs)
        except (ValueError, TypeError) as exc:
            raise self._endpoint_error(client, call, exc) from exc

    def _wait(
        self,
        job: Any,
        call: Call,
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        deadline: float | None,
        timeout_s: float | None,
    ) -> Any:
        """Worker thread: wait in slices of poll_s, reporting changed progress in between."""
        last: Progress | None = None
        while True:
            if cancel.is_set():
                raise JobCancelled(f"{call.api_name} on {self.name} was cancelled")
            wait = (
                self._poll_s if deadline is None else min(self._poll_s, deadline - time.monotonic())
            )
            if wait <= 0:
                raise self._permanent(
                    f"{call.api_name} on {self.name} did not finish within its {timeout_s:g} s "
                    "limit — raise timeout_s in the template or pick a faster quality (the app "
                    "may still finish the work it had started)"
                )
            try:
                return job.result(timeout=wait)
            except TimeoutError as exc:
                if job.done():  # the job itself raised a TimeoutError
                    raise self._translate(exc, call.api_name) from exc
            except Exception as exc:
                if cancel.is_set():
                    raise JobCancelled(f"{call.api_name} on {self.name} was cancelled") from exc
                raise self._translate(exc, call.api_name) from exc
            event = progress_of(job.status())
            if event is not None and event != last:
                on_event(event)
                last = event

    def _stop(self, job: Any) -> None:
        """Drop an unfinished job from the app's queue (or stop its generator); best effort."""
        if job.done():
            return
        try:
            job.cancel()
        except Exception:
            log.debug("cancelling a job on %s failed", self.url, exc_info=True)

    # --- outputs --------------------------------------------------------------------------------

    def _collect(self, client: Any, call: Call, result: Any, workdir: Path) -> list[Path]:
        """The chosen output's file(s), moved from the download folder into `workdir`."""
        values = list(result) if isinstance(result, tuple) else [result]
        if call.output is not None:
            if not -len(values) <= call.output < len(values):
                raise self._permanent(
                    f"{call.api_name} has no output {call.output}: "
                    f"{self._outputs_text(client, call.api_name)}"
                )
            files = self._files_in(values[call.output])
            if not files:
                raise self._permanent(
                    f"output {call.output} of {call.api_name} is not a file: "
                    f"{self._outputs_text(client, call.api_name)}"
                )
        else:
            files = next((f for f in map(self._files_in, values) if f), [])
            if not files:
                raise self._permanent(
                    f"{call.api_name} returned no file: {self._outputs_text(client, call.api_name)}"
                )
        workdir.mkdir(parents=True, exist_ok=True)
        return [_move_into(workdir, path) for path in files]

    def _files_in(self, value: Any) -> list[Path]:
        """Downloaded files in an output value (a path, or lists/dicts holding paths)."""
        if isinstance(value, str):
            path = Path(value)
            root = self._downloads
            if (
                root is not None
                and path.is_file()
                and path.resolve().is_relative_to(root.resolve())
            ):
                return [path]
            return []
        if isinstance(value, dict):
            return [f for item in value.values() for f in self._files_in(item)]
        if isinstance(value, list | tuple):
            return [f for item in value for f in self._files_in(item)]
        return []

    # --- errors ---------------------------------------------------------------------------------

    def _translate(self, exc: BaseException, doing: str) -> BackendError:
        """A gradio_client / httpx exception as one of ours. `doing`: the api_name or
        "connecting"."""
        import concurrent.futures

        import httpx
        from gradio_client import exceptions as gexc
        from gradio_client import utils as gutils

        where = f"{self.name} ({self.url})"
        if isinstance(exc, gexc.AppError):
            message = exc.message if isinstance(exc.message, str) else str(exc)
            if looks_like_oom(message):
                return OutOfMemory(
                    f"{doing} on {where} ran out of GPU memory: {message} — try a lower quality "
                    "or free the GPU",
                    backend=self.name,
                    url=self.url,
                    detail=message,
                )
            return self._permanent(
                f"{doing} on {where} failed: {message} — check the inputs and the app's console",
                detail=message,
            )
        if isinstance(exc, gexc.ValidationError):
            return self._permanent(f"{doing} on {where} rejected the inputs: {exc}")
        if isinstance(exc, gexc.AuthenticationError):
            return self._permanent(
                f"{where} needs a login: {exc} — set token_env for it in Settings, or launch the "
                "app without auth"
            )
        if isinstance(exc, httpx.HTTPStatusError):
            status = exc.response.status_code
            error = TransientBackendError if status in RETRY_STATUSES else PermanentBackendError
            return error(
                f"{doing} on {where} failed: HTTP {status} from {exc.request.url}",
                backend=self.name,
                url=self.url,
                status=status,
            )
        if isinstance(exc, httpx.TransportError | requests.ConnectionError):
            return TransientBackendError(
                self._down_text(), backend=self.name, url=self.url, detail=str(exc)
            )
        if isinstance(exc, gutils.QueueError | gutils.TooManyRequestsError):
            return TransientBackendError(
                f"{where} is busy ({exc}) — the job will be tried again",
                backend=self.name,
                url=self.url,
            )
        if isinstance(exc, concurrent.futures.CancelledError) or str(exc) == "Server stopped.":
            return TransientBackendError(
                f"the connection to {where} dropped while {doing} was running — is the app "
                "still up? The job will be tried again",
                backend=self.name,
                url=self.url,
            )
        if "Unknown protocol" in str(exc):
            return self._permanent(
                f"{where} speaks a protocol gradio_client cannot call ({exc}) — {OLD_GRADIO_FIX}"
            )
        return self._permanent(
            f"{doing} on {where} failed: {type(exc).__name__}: {exc} — check the app's console"
        )

    def _endpoint_error(self, client: Any, call: Call, exc: Exception) -> PermanentBackendError:
        endpoints = self._api(client).get("named_endpoints", {})
        if call.api_name not in endpoints:
            names = ", ".join(endpoints) or "none"
            return self._permanent(
                f"{self.name} has no endpoint {call.api_name} — its named endpoints are: "
                f"{names}; fix api_name in the template",
                detail=str(exc),
            )
        parameters = endpoints[call.api_name].get("parameters", [])
        return self._permanent(
            f"{call.api_name} on {self.name} does not take these inputs ({exc}) — its "
            f"parameters are: {_parameters_text(parameters)}",
            detail=str(exc),
        )

    def _outputs_text(self, client: Any, api_name: str) -> str:
        returns = self._api(client).get("named_endpoints", {}).get(api_name, {}).get("returns", [])
        described = "; ".join(
            f"{i}: {r.get('component', '?')} {r.get('label') or ''}".rstrip()
            for i, r in enumerate(returns)
        )
        return f'its outputs are {described or "unknown"} — set "output" in the template\'s call'

    def _api(self, client: Any) -> dict[str, Any]:
        try:
            return client.view_api(print_info=False, return_format="dict") or {}
        except Exception:
            log.debug("view_api of %s failed", self.url, exc_info=True)
            return {}

    def _permanent(self, message: str, **kwargs: Any) -> PermanentBackendError:
        return PermanentBackendError(message, backend=self.name, url=self.url, **kwargs)

    def _down_text(self) -> str:
        return (
            f"the Gradio app at {self.url} is not answering — start it or fix the URL in Settings"
        )

    def _old_gradio_text(self, info: AppInfo) -> str:
        return (
            f"{self.name} ({self.url}) runs Gradio {info.version} (protocol {info.protocol!r}), "
            f"a Gradio 3.x app, which gradio_client cannot call — {OLD_GRADIO_FIX}"
        )


# --- helpers ------------------------------------------------------------------------------------


def progress_of(status: Any) -> Progress | None:
    """A gradio_client StatusUpdate as a Progress event, or None when it says nothing new."""
    code = getattr(status.code, "value", status.code)
    if code == "IN_QUEUE" and status.rank is not None:
        return Progress(None, f"queued, position {status.rank + 1}")
    units = status.progress_data or []
    if units:
        return Progress(_fraction(units[0]), " · ".join(_unit_label(u) for u in units))
    if code in ("PROCESSING", "ITERATING", "PROGRESS"):
        return Progress(None, "running")
    return None


def _fraction(unit: Any) -> float | None:
    if unit.progress is not None:
        return max(0.0, min(1.0, float(unit.progress)))
    if unit.index is not None and unit.length:
        return max(0.0, min(1.0, unit.index / unit.length))
    return None


def _unit_label(unit: Any) -> str:
    desc = unit.desc or unit.unit or "working"
    if unit.index is not None and unit.length:
        return f"{desc} {unit.index}/{unit.length}"
    if unit.progress is not None:
        return f"{desc} {round(100 * unit.progress)}%"
    return desc


def _named_endpoints(dependencies: list[Any]) -> tuple[str, ...]:
    names = []
    for dep in dependencies:
        if not isinstance(dep, dict):
            continue
        api_name = dep.get("api_name")
        if isinstance(api_name, str) and dep.get("api_visibility") != "private":
            names.append("/" + api_name)
    return tuple(names)


def _parameters_text(parameters: list[dict[str, Any]]) -> str:
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


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _local(value: Any) -> str:
    text = str(value)
    return text if _is_url(text) else str(Path(text).expanduser())


def _move_into(workdir: Path, source: Path) -> Path:
    """Move a downloaded file into workdir under a free name; its sha folder goes too."""
    target = workdir / source.name
    n = 1
    while target.exists():
        target = workdir / f"{source.stem}-{n}{source.suffix}"
        n += 1
    shutil.move(str(source), target)
    with contextlib.suppress(OSError):
        source.parent.rmdir()  # the <sha256>/ folder gradio_client made for it
    return target
