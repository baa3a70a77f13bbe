"""The command's process: where its program is, its own process group, stopping that group,
and its exit status in words. Called on the worker thread that runs the job."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path


def find_program(program: str, cwd: Path | None, env: Mapping[str, str]) -> Path | None:
    """Where the program is: a path (relative to cwd, as Popen does) or a name on PATH."""
    path = Path(program).expanduser()
    if os.sep in program or (os.altsep and os.altsep in program) or path.is_absolute():
        path = (cwd / path) if cwd is not None and not path.is_absolute() else path
        return path if path.exists() else None
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    return Path(found) if found else None


def start_in_new_group(
    argv: list[str], cwd: Path | None, env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    """Starts the program in a process group of its own (a POSIX session), output piped."""
    posix = os.name == "posix"
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=posix,
        creationflags=0 if posix else getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
    )


def stop_group(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """Stops the program and everything it started: SIGTERM to the process group, up to
    `grace_s` for it to go, then SIGKILL. Also clears leftovers after a normal exit."""
    if not hasattr(os, "killpg"):
        _stop_program(proc, grace_s)
        return
    if not _signal_group(proc.pid, signal.SIGTERM):
        proc.wait()
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        proc.poll()  # reap the leader, so only live members keep the group
        if proc.returncode is not None and not _signal_group(proc.pid, 0):
            return
        time.sleep(0.02)
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait()


def _stop_program(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """Windows: no process groups to signal; stop the program itself (its children may
    outlive it)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _signal_group(pgid: int, sig: int) -> bool:
    """Sends `sig` to a process group; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # macOS answers EPERM for a group of only zombies
        return sig != 0
    return True


def exit_words(code: int | None) -> str:
    """An exit status as words: "exit 1", "exit 130: interrupted", "stopped by SIGKILL …"."""
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
