"""CommandClient: one configured command line run once per job (rules: the package docstring).

Threads: `health` and `run` are called on a worker thread, which also supervises the program
and calls `on_event`.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from core.config import CommandConfig
from core.errors import JobCancelled, OutOfMemory, PermanentBackendError
from core.json_types import JsonObject, JsonValue
from executors.backends.base import Event, Health, Progress, looks_like_oom

from . import files
from .argv import BUILTINS, PLACEHOLDER, fill, unknown_names
from .process import exit_words, find_program, start_in_new_group, stop_group
from .progress import OutputReader, deliver

log = logging.getLogger(__name__)

REQUEST_FILE = "request.json"
MESSAGE_LINES = 6  # of the stderr lines kept, the message shows the last few


@dataclass(frozen=True)
class _Job:
    """What one run needs after its argv is built."""

    argv: list[str]
    cwd: Path | None
    output_dir: Path
    workdir: Path


class CommandClient:
    """Runs one configured command line per job (see the package docstring)."""

    kind = "command"
    stop_grace_s = 2.0  # SIGTERM → SIGKILL; tests lower it
    poll_s = 0.1  # how often the supervising thread looks at cancel and the deadline

    def __init__(self, config: CommandConfig):
        self.config = config
        self.name = config.name
        self.url = self._program_label()

    # ---- argv (pure; any thread)

    def build_argv(
        self, inputs: Mapping[str, JsonValue], *, workdir: Path, output_dir: Path
    ) -> list[str]:
        """The argv for these inputs, by the placeholder rules of the package docstring."""
        values: dict[str, JsonValue] = dict(inputs)
        values |= self._builtins(workdir, output_dir)
        self._check_names(values)
        argv = fill(self.config.command, values)
        if not argv:
            raise PermanentBackendError(
                f"{self.name}: the command is empty after leaving out unset inputs — make its "
                "first word the program (e.g. {python}) in config.json (backends.command)",
                backend=self.name,
                url=self.url,
            )
        return argv

    def _builtins(self, workdir: Path, output_dir: Path) -> dict[str, str]:
        return {
            "python": self._python(),
            "output_dir": str(output_dir),
            "workdir": str(workdir),
            "request_file": str(workdir / REQUEST_FILE),
        }

    def _check_names(self, values: Mapping[str, JsonValue]) -> None:
        unknown = unknown_names(self.config.command, values)
        if unknown:
            inputs = sorted(set(values) - set(BUILTINS))
            raise PermanentBackendError(
                f"{self.name}: the command uses {', '.join('{' + n + '}' for n in unknown)}, "
                f"which is neither an input of this function's request nor a built-in — "
                f"known: inputs {', '.join(inputs) or '(none)'}; built-ins "
                f"{', '.join(BUILTINS)}. Fix the command in config.json (backends.command) "
                "or add the input to the template's request (null when optional)",
                backend=self.name,
                url=self.url,
            )

    def _python(self) -> str:
        return os.path.expanduser(self.config.python) if self.config.python else sys.executable

    def _cwd(self) -> Path | None:
        return Path(self.config.cwd).expanduser() if self.config.cwd else None

    def _output_dir(self, workdir: Path) -> Path:
        if not self.config.output_dir:
            return workdir / "out"
        folder = Path(self.config.output_dir).expanduser()
        cwd = self._cwd()
        return cwd / folder if cwd is not None and not folder.is_absolute() else folder

    def _program_label(self) -> str:
        """The program as the user sees it: the first word with {python} filled in."""
        if not self.config.command:
            return ""
        return self.config.command[0].replace("{python}", self._python())

    # ---- health (worker thread; never raises)

    def health(self) -> Health:
        """Online when the program and cwd exist (and a `.py` script after a Python does)."""
        try:
            problem = self._problem()
        except Exception as exc:  # health never raises: report instead
            problem = f"{self.name}: could not check the command ({exc}) — check it in Settings"
        if problem:
            return Health(online=False, detail=problem)
        return Health(online=True, detail="command ready")

    def _problem(self) -> str | None:
        """What keeps the command from starting, in words, or None."""
        if not self.config.command:
            return f"{self.name}: no command is set — add one in config.json (backends.command)"
        cwd = self._cwd()
        if cwd is not None and not cwd.is_dir():
            return self._cwd_missing(cwd)
        program = self._program_label()
        if PLACEHOLDER.search(program):
            return (
                f"{self.name}: the first word {program!r} must be a program, not an input — "
                "fix the command in config.json (backends.command)"
            )
        found = find_program(program, cwd, self._env())
        if found is None:
            return self._not_found(program)
        if not os.access(found, os.X_OK) or found.is_dir():
            return self._not_executable(str(found))
        return self._missing_script(program, cwd)

    def _missing_script(self, program: str, cwd: Path | None) -> str | None:
        """`python script.py`: the script must exist (relative to cwd)."""
        words = self.config.command
        is_python = words[0] == "{python}" or Path(program).name.startswith("python")
        if not is_python or len(words) < 2:
            return None
        script = words[1]
        if not script.endswith(".py") or PLACEHOLDER.search(script):
            return None
        path = Path(script).expanduser()
        path = (cwd / path) if cwd is not None and not path.is_absolute() else path
        if path.is_file():
            return None
        return (
            f"{self.name}: the script {str(path)!r} does not exist — fix the command or its "
            "'cwd' in config.json (backends.command)"
        )

    # ---- run (worker thread)

    def run(
        self,
        request: JsonObject,
        *,
        workdir: Path,
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        timeout_s: float | None,
    ) -> list[Path]:
        """Runs the program once and returns its new files (in `workdir`), sorted by name.

        Called on a worker thread, which also calls `on_event`; see the module docstring.
        """
        job = self._prepare(request, Path(workdir))
        limit = timeout_s if timeout_s is not None else self.config.timeout_s
        before = files.snapshot(job.output_dir)
        log.info("%s: starting %s", self.name, job.argv)
        proc = self._start(job)
        try:
            reader = OutputReader(proc)
            last = self._supervise(proc, reader, on_event, cancel, time.monotonic() + limit, limit)
        finally:
            stop_group(
                proc, self.stop_grace_s
            )  # cancel, deadline, an error in on_event, or leftovers
        reader.join(self.stop_grace_s)
        deliver(reader.events, on_event, last)
        if cancel.is_set():
            raise JobCancelled(f"{self.name}: cancelled")
        self._check_exit(proc.returncode, reader)
        return self._collect(job, before)

    def _prepare(self, request: JsonObject, workdir: Path) -> _Job:
        """Builds the argv, writes the request file when used, checks cwd, makes the folders."""
        inputs = request.get("inputs", {}) if isinstance(request, Mapping) else None
        if not isinstance(inputs, Mapping):
            raise PermanentBackendError(
                f"{self.name}: the request has no 'inputs' object — the function's template "
                'must render {"inputs": {...}}',
                backend=self.name,
                url=self.url,
            )
        output_dir = self._output_dir(workdir)
        argv = self.build_argv(inputs, workdir=workdir, output_dir=output_dir)
        cwd = self._cwd()
        if cwd is not None and not cwd.is_dir():
            raise self._error(self._cwd_missing(cwd))
        try:
            workdir.mkdir(parents=True, exist_ok=True)
            output_dir.mkdir(parents=True, exist_ok=True)
            if any("{request_file}" in word for word in self.config.command):
                text = json.dumps(dict(inputs), ensure_ascii=False, indent=2, default=str)
                (workdir / REQUEST_FILE).write_text(text, "utf-8")
        except OSError as exc:
            raise self._error(
                f"{self.name}: could not prepare the folders for the job ({exc}) — check that "
                f"{output_dir} can be written, or fix 'output_dir' in Settings"
            ) from exc
        return _Job(argv, cwd, output_dir, workdir)

    def _env(self) -> dict[str, str]:
        """Takeboard's environment plus the config's; Python output unbuffered unless set."""
        env = {**os.environ, **self.config.env}
        env.setdefault("PYTHONUNBUFFERED", "1")  # progress lines arrive as they are printed
        env.setdefault("PYTHONIOENCODING", "utf-8")
        return env

    def _start(self, job: _Job) -> subprocess.Popen[bytes]:
        """Starts the program in a new process group; start errors become PermanentBackendError."""
        program = job.argv[0]
        try:
            return start_in_new_group(job.argv, job.cwd, self._env())
        except FileNotFoundError as exc:
            raise self._error(self._not_found(program)) from exc
        except PermissionError as exc:
            raise self._error(self._not_executable(program)) from exc
        except OSError as exc:
            if exc.errno == errno.ENOEXEC:
                raise self._error(self._not_executable(program)) from exc
            raise self._error(
                f"{self.name}: could not start {program!r} ({exc}) — check the command in "
                "config.json (backends.command)"
            ) from exc

    def _supervise(
        self,
        proc: subprocess.Popen[bytes],
        reader: OutputReader,
        on_event: Callable[[Event], None],
        cancel: threading.Event,
        deadline: float,
        limit: float,
    ) -> Progress | None:
        """Calling thread: hands events to `on_event` until the program exits; raises on
        cancel or at the deadline (the caller then stops the process group). Returns the last
        progress delivered."""
        last: Progress | None = None
        while proc.poll() is None:
            last = deliver(reader.events, on_event, last, wait_s=self.poll_s)
            if cancel.is_set():
                raise JobCancelled(f"{self.name}: cancelled; the program was stopped")
            if time.monotonic() >= deadline:
                raise PermanentBackendError(
                    f"{self.name} ran longer than {limit:g} s and was stopped — raise timeout_s "
                    "in its config or check it is not stuck",
                    backend=self.name,
                    url=self.url,
                    detail={"stderr_tail": list(reader.stderr_tail)},
                )
        return last

    def _check_exit(self, code: int | None, reader: OutputReader) -> None:
        """Exit status ≠ 0 → OutOfMemory or PermanentBackendError with the last lines."""
        if code == 0:
            return
        tail = list(reader.stderr_tail) or list(reader.stdout_tail)
        text = "\n".join(tail[-MESSAGE_LINES:]) or "(it printed nothing)"
        detail = {"exit_code": code, "stderr_tail": tail}
        how = exit_words(code)
        if looks_like_oom("\n".join([*reader.stderr_tail, *reader.stdout_tail])):
            raise OutOfMemory(
                f"{self.name} ran out of GPU memory ({how}): {tail[-1] if tail else text} — "
                "try a lower quality tier or free GPU memory",
                backend=self.name,
                url=self.url,
                detail=detail,
            )
        raise PermanentBackendError(
            f"{self.name} failed ({how}): {text}\n— fix what the lines above report, or check "
            "the command's arguments in config.json (backends.command)",
            backend=self.name,
            url=self.url,
            detail=detail,
        )

    def _collect(self, job: _Job, before: files.Snapshot) -> list[Path]:
        """The files made or changed in the output folder, in (or copied into) the workdir."""
        made = sorted(files.changed(job.output_dir, before), key=lambda p: (p.name, str(p)))
        if not made:
            raise self._error(
                f"{self.name} finished but wrote no file into {job.output_dir} — check the "
                "output argument of its command ({output_dir}) and its 'output_dir' in Settings "
                "(config.json backends.command)"
            )
        if files.is_inside(job.output_dir, job.workdir):
            return made
        try:
            return sorted(files.copy_into(made, job.workdir), key=lambda p: p.name)
        except OSError as exc:
            raise self._error(
                f"{self.name}: could not copy its output into {job.workdir} ({exc}) — check the "
                "free disk space"
            ) from exc

    # ---- messages

    def _error(self, message: str) -> PermanentBackendError:
        return PermanentBackendError(message, backend=self.name, url=self.url)

    def _not_found(self, program: str) -> str:
        return (
            f"{self.name}: the program {program!r} was not found — install it, or put its full "
            "path as the first word of the command (or set 'python') in Settings "
            "(config.json backends.command)"
        )

    def _not_executable(self, program: str) -> str:
        return (
            f"{self.name}: {program!r} cannot be run as a program — make it executable "
            "(chmod +x, with a #! line) or start it through an interpreter such as {python} "
            "in config.json (backends.command)"
        )

    def _cwd_missing(self, cwd: Path) -> str:
        return (
            f"{self.name}: its working folder {str(cwd)!r} does not exist — create it or fix "
            "'cwd' for this command in config.json (backends.command)"
        )
