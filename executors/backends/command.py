"""A configured command line as a backend: run a program once per job, collect its files.

Examples users configure: a ComfyUI workflow script (``{python} script.py --prompt {prompt}
--output {output_dir}``), Applio (``{python} core.py infer --input-path {source_audio}
--output-path {output_dir}/voice.wav --pth-path … --pitch {pitch}``) and WanGP's headless CLI
(``{python} wgp.py --process {request_file} --output-dir {output_dir}``; exit 0 ok, 1 error,
130 interrupted; progress lines like ``[12/30] Prompt 1/3 - Denoising``).

The command (`CommandConfig.command`) is a list of words; one word is one argv item, never a
shell. Placeholders ``{name}`` inside a word are replaced by:

* a request input (``request["inputs"][name]``): text as is, true/false for booleans, numbers
  as written, lists and objects as JSON;
* ``{python}`` — ``config.python``, else the Python running Takeboard;
* ``{output_dir}`` — ``config.output_dir`` (relative to ``cwd``), else a fresh ``workdir/out``;
* ``{workdir}`` — the job's folder;
* ``{request_file}`` — ``workdir/request.json``: the inputs as JSON (like ``wgp.py --process``).

Built-in names win over inputs of the same name. An input that is present but null drops its
word; when the word is just ``{name}`` and the word before it is a flag (starts with ``-``, no
placeholder, not a negative number), the flag goes too, so ``--negative-prompt
{negative_prompt}`` disappears cleanly. A name that is neither an input of the request nor a
built-in is a PermanentBackendError naming it and the known names (templates list every input,
optional ones as null). Words with other braces (``{"a": 1}``) are left as they are.

Threads: `run` and `health` are called on a worker thread. `run` starts the program in its own
process group (POSIX session), reads its stdout and stderr on two daemon reader threads (so big
output never fills a pipe), and supervises it on the calling thread: progress events parsed by
the readers are handed over through a queue, so ``on_event`` is only called on the caller's
thread. Cancel, the deadline, or any error in the caller stops the whole process group
(SIGTERM, a grace period, then SIGKILL); whatever the program left running in its group when it
exits is stopped too.

Errors (core.errors): exit status ≠ 0 → PermanentBackendError with the last stderr lines, or
OutOfMemory when they report a CUDA/torch out-of-memory; exit 0 without new files, a missing or
non-executable program, a missing cwd, an unknown placeholder, the deadline → Permanent;
``cancel`` → JobCancelled.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from core.config import CommandConfig
from core.errors import JobCancelled, OutOfMemory, PermanentBackendError
from executors.backends.base import Event, Health, Progress, looks_like_oom

log = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
BUILTINS = ("python", "output_dir", "workdir", "request_file")
REQUEST_FILE = "request.json"
NEGATIVE_NUMBER = re.compile(r"^-\d|^-\.\d")
STEP_LINE = re.compile(r"^\s*\[\s*(\d+)\s*/\s*(\d+)\s*\]\s*(.*)$")
TQDM_LINE = re.compile(r"^(?P<desc>.*?):?\s*(?P<pct>\d{1,3})%\|[^|]*\|\s*(?P<n>\d+)/(?P<total>\d+)")
PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s?%")
PARTIAL_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload", ".lock", ".temp", "~")
TAIL_LINES = 20  # stderr/stdout lines kept for error messages
MESSAGE_LINES = 6  # of which the message shows the last few
MAX_LINE = 64 * 1024  # a longer run without a line end is cut into pieces
LABEL_MAX = 120


# ---------------------------------------------------------------- progress lines (reader threads)


def parse_progress(line: str) -> Progress | None:
    """A progress event from one output line, or None. Pure; called on the reader threads.

    ``[12/30] Prompt 1/3 - Denoising`` → Progress(0.4, "Prompt 1/3 - Denoising 12/30");
    a tqdm bar ``Sampling:  40%|████  | 12/30 [..]`` → Progress(0.4, "Sampling 12/30");
    any other line with ``NN%`` → Progress(NN/100, the line).
    """
    text = line.strip()
    if not text:
        return None
    step = STEP_LINE.match(text)
    if step:
        done, total, words = int(step[1]), int(step[2]), step[3].strip()
        if total > 0:
            label = f"{words} {done}/{total}" if words else f"{done}/{total}"
            return Progress(_clamp(done / total), _short(label))
    bar = TQDM_LINE.match(text)
    if bar and int(bar["pct"]) <= 100:
        label = f"{bar['desc'].strip()} {bar['n']}/{bar['total']}".strip()
        return Progress(_clamp(int(bar["pct"]) / 100), _short(label))
    percent = PERCENT.search(text)
    if percent and float(percent[1]) <= 100:
        return Progress(_clamp(float(percent[1]) / 100), _short(text))
    return None


def _clamp(fraction: float) -> float:
    return min(1.0, max(0.0, fraction))


def _short(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


class _OutputReader:
    """Reads a process's stdout and stderr on two daemon threads until both pipes close.

    Reader threads split the bytes into lines (``\\n``, ``\\r\\n`` and tqdm's bare ``\\r`` all
    end a line), keep the last lines of each stream (``\\r`` updates are progress redraws and
    are not kept), and put parsed Progress events on `events`, which the supervising thread
    drains. Nothing here calls back into the caller.
    """

    def __init__(self, proc: subprocess.Popen[bytes]):
        self.events: queue.Queue[Event] = queue.Queue()
        self.stdout_tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.stderr_tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._threads = [
            threading.Thread(
                target=self._read, args=(stream, tail), name=f"command-{label}", daemon=True
            )
            for stream, tail, label in (
                (proc.stdout, self.stdout_tail, "stdout"),
                (proc.stderr, self.stderr_tail, "stderr"),
            )
        ]
        for thread in self._threads:
            thread.start()

    def join(self, timeout_s: float) -> bool:
        """Supervising thread: waits for both pipes to close; False if one is still open
        (something outside the process group still holds it)."""
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def _read(self, stream: IO[bytes] | None, tail: deque[str]) -> None:
        """Reader thread: one stream until end of file."""
        if stream is None:
            return
        pending = b""
        try:
            while chunk := stream.read1(65536):  # type: ignore[attr-defined]
                pending = self._split(pending + chunk, tail)
            if pending:
                self._line(pending, tail, redraw=False)
        except (OSError, ValueError):  # the pipe was closed under us: the job is over
            pass
        finally:
            stream.close()

    def _split(self, data: bytes, tail: deque[str]) -> bytes:
        """Handles every complete line in `data`; returns the unfinished rest."""
        start = 0
        for match in re.finditer(rb"\r\n|\n|\r", data):
            self._line(data[start : match.start()], tail, redraw=match[0] == b"\r")
            start = match.end()
        rest = data[start:]
        if len(rest) > MAX_LINE:
            self._line(rest, tail, redraw=False)
            return b""
        return rest

    def _line(self, raw: bytes, tail: deque[str], *, redraw: bool) -> None:
        text = raw.decode("utf-8", "replace").rstrip()
        if not text.strip():
            return
        if not redraw:
            tail.append(text)
        event = parse_progress(text)
        if event is not None:
            self.events.put(event)


# ---------------------------------------------------------------- the client


@dataclass(frozen=True)
class _Job:
    """What one run needs after its argv is built."""

    argv: list[str]
    cwd: Path | None
    output_dir: Path
    workdir: Path


class CommandClient:
    """Runs one configured command line per job (see the module docstring)."""

    kind = "command"
    stop_grace_s = 2.0  # SIGTERM → SIGKILL; tests lower it
    poll_s = 0.1  # how often the supervising thread looks at cancel and the deadline

    def __init__(self, config: CommandConfig):
        self.config = config
        self.name = config.name
        self.url = self._program_label()

    # ---- argv (pure; any thread)

    def build_argv(
        self, inputs: Mapping[str, Any], *, workdir: Path, output_dir: Path
    ) -> list[str]:
        """The argv for these inputs, by the placeholder rules of the module docstring."""
        values: dict[str, Any] = dict(inputs)
        values |= self._builtins(workdir, output_dir)
        self._check_names(values)
        argv: list[str] = []
        for index, word in enumerate(self.config.command):
            names = PLACEHOLDER.findall(word)
            if any(values[name] is None for name in names):
                previous = self.config.command[index - 1] if index else ""
                if PLACEHOLDER.fullmatch(word) and _is_flag(previous) and argv:
                    argv.pop()  # a flag word has no placeholder, so it is the last one kept
                continue
            argv.append(PLACEHOLDER.sub(lambda m: _as_word(values[m[1]]), word))
        if not argv:
            raise PermanentBackendError(
                f"{self.name}: the command is empty after leaving out unset inputs — make its "
                "first word the program (e.g. {python}) in config.json (backends.command)",
                backend=self.name,
                url=self.url,
            )
        return argv

    def _builtins(self, workdir: Path, output_dir: Path) -> dict[str, Any]:
        return {
            "python": self._python(),
            "output_dir": str(output_dir),
            "workdir": str(workdir),
            "request_file": str(workdir / REQUEST_FILE),
        }

    def _check_names(self, values: Mapping[str, Any]) -> None:
        unknown = sorted(
            {n for w in self.config.command for n in PLACEHOLDER.findall(w)} - set(values)
        )
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
        found = _find_program(program, cwd, self._env())
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
        request: dict[str, Any],
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
        before = _snapshot(job.output_dir)
        log.info("%s: starting %s", self.name, job.argv)
        proc = self._start(job)
        try:
            reader = _OutputReader(proc)
            last = self._supervise(proc, reader, on_event, cancel, time.monotonic() + limit, limit)
        finally:
            self._stop_group(proc)  # cancel, deadline, an error in on_event, or leftovers
        reader.join(self.stop_grace_s)
        _deliver(reader.events, on_event, last)
        if cancel.is_set():
            raise JobCancelled(f"{self.name}: cancelled")
        self._check_exit(proc.returncode, reader)
        return self._collect(job, before)

    def _prepare(self, request: Mapping[str, Any], workdir: Path) -> _Job:
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
            return subprocess.Popen(
                job.argv,
                cwd=job.cwd,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                **_new_group_kwargs(),
            )
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
        reader: _OutputReader,
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
            last = _deliver(reader.events, on_event, last, wait_s=self.poll_s)
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

    def _stop_group(self, proc: subprocess.Popen[bytes]) -> None:
        """Stops the program and everything it started: SIGTERM to the process group, up to
        `stop_grace_s` for it to go, then SIGKILL. Also clears leftovers after a normal exit."""
        if not hasattr(os, "killpg"):
            # Windows: no process groups to signal; stop the program itself (its children may
            # outlive it).
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(self.stop_grace_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            return
        if not _signal_group(proc.pid, signal.SIGTERM):
            proc.wait()
            return
        deadline = time.monotonic() + self.stop_grace_s
        while time.monotonic() < deadline:
            proc.poll()  # reap the leader, so only live members keep the group
            if proc.returncode is not None and not _signal_group(proc.pid, 0):
                return
            time.sleep(0.02)
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()

    def _check_exit(self, code: int | None, reader: _OutputReader) -> None:
        """Exit status ≠ 0 → OutOfMemory or PermanentBackendError with the last lines."""
        if code == 0:
            return
        tail = list(reader.stderr_tail) or list(reader.stdout_tail)
        text = "\n".join(tail[-MESSAGE_LINES:]) or "(it printed nothing)"
        detail = {"exit_code": code, "stderr_tail": tail}
        how = _exit_words(code)
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

    def _collect(self, job: _Job, before: Mapping[Path, tuple[int, int, int]]) -> list[Path]:
        """The files made or changed in the output folder, in (or copied into) the workdir."""
        made = sorted(_changed(job.output_dir, before), key=lambda p: (p.name, str(p)))
        if not made:
            raise self._error(
                f"{self.name} finished but wrote no file into {job.output_dir} — check the "
                "output argument of its command ({output_dir}) and its 'output_dir' in Settings "
                "(config.json backends.command)"
            )
        if _is_inside(job.output_dir, job.workdir):
            return made
        try:
            return sorted(_copy_into(made, job.workdir), key=lambda p: p.name)
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


# ---------------------------------------------------------------- helpers


def _is_flag(word: str) -> bool:
    """`--negative-prompt` or `-n`, but not `-1` and not a word with a placeholder."""
    return word.startswith("-") and not NEGATIVE_NUMBER.match(word) and not PLACEHOLDER.search(word)


def _as_word(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _new_group_kwargs() -> dict[str, Any]:
    """Popen arguments that put the program in a process group of its own."""
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}


def _signal_group(pgid: int, sig: int) -> bool:
    """Sends `sig` to a process group; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # macOS answers EPERM for a group of only zombies
        return sig != 0
    return True


def _deliver(
    events: queue.Queue[Event],
    on_event: Callable[[Event], None],
    last: Progress | None,
    *,
    wait_s: float = 0.0,
) -> Progress | None:
    """Supervising thread: passes queued events to `on_event`, skipping a repeat of the last
    progress (tqdm redraws); waits up to `wait_s` for the first. Returns the last progress."""
    try:
        event = events.get(timeout=wait_s) if wait_s > 0 else events.get_nowait()
    except queue.Empty:
        return last
    while True:
        if event != last:
            on_event(event)
            if isinstance(event, Progress):
                last = event
        try:
            event = events.get_nowait()
        except queue.Empty:
            return last


def _find_program(program: str, cwd: Path | None, env: Mapping[str, str]) -> Path | None:
    """Where the program is: a path (relative to cwd, as Popen does) or a name on PATH."""
    path = Path(program).expanduser()
    if os.sep in program or (os.altsep and os.altsep in program) or path.is_absolute():
        path = (cwd / path) if cwd is not None and not path.is_absolute() else path
        return path if path.exists() else None
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    return Path(found) if found else None


def _exit_words(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " — the system may have run out of memory" if -code == signal.SIGKILL else ""
        return f"stopped by {name}{hint}"
    if code == 130:
        return "exit 130: interrupted"
    return f"exit {code}"


def _is_hidden_or_partial(relative: Path) -> bool:
    if any(part.startswith(".") for part in relative.parts):
        return True
    return relative.name.lower().endswith(PARTIAL_SUFFIXES)


def _snapshot(folder: Path) -> dict[Path, tuple[int, int, int]]:
    """Every visible, finished file below `folder` with (mtime_ns, size, inode)."""
    found: dict[Path, tuple[int, int, int]] = {}
    if not folder.is_dir():
        return found
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(root) / name
            if _is_hidden_or_partial(path.relative_to(folder)):
                continue
            try:
                st = path.stat()
            except OSError:  # vanished meanwhile
                continue
            if path.is_file():
                found[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return found


def _changed(folder: Path, before: Mapping[Path, tuple[int, int, int]]) -> list[Path]:
    return [path for path, sig in _snapshot(folder).items() if before.get(path) != sig]


def _is_inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _copy_into(files: Iterable[Path], folder: Path) -> list[Path]:
    """Copies each file into `folder` keeping its name (`name_1.ext` on a clash)."""
    copies = []
    for source in files:
        target = folder / source.name
        n = 1
        while target.exists():
            target = folder / f"{source.stem}_{n}{source.suffix}"
            n += 1
        shutil.copy2(source, target)
        copies.append(target)
    return copies
