"""A Gradio request checked into a Call, its local files, and the output files it returned.

Called on the job's worker thread. Request shape: the package docstring.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError
from core.json_types import JsonObject, JsonValue

from .errors import App


@dataclass(frozen=True)
class Call:
    """A checked request."""

    api_name: str
    inputs: JsonObject
    output: int | None
    files: tuple[str, ...]


def parse_call(app: App, request: JsonObject) -> Call:
    """The request as a Call; PermanentBackendError naming what is wrong in the template."""
    api_name = request.get("api_name")
    inputs = request.get("inputs", {})
    output = request.get("output")
    files = request.get("files", [])
    if not isinstance(api_name, str) or not api_name.strip("/"):
        raise app.permanent(
            f'the request for {app.name} has no "api_name" — set "call": '
            '{"api_name": "/endpoint"} in the template'
        )
    if not isinstance(inputs, dict):
        raise app.permanent(
            f'"inputs" for {api_name} must be an object of the endpoint\'s keyword arguments'
        )
    if output is not None and (isinstance(output, bool) or not isinstance(output, int)):
        raise app.permanent(
            f'"output" for {api_name} must be the index of a file output or null, got {output!r}'
        )
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise app.permanent(f'"files" for {api_name} must be a list of input names')
    api_name = api_name if api_name.startswith("/") else "/" + api_name
    return Call(api_name, dict(inputs), output, tuple(files))


def check_local_files(call: Call) -> None:
    """Every named file input must exist here (URLs are passed on as they are)."""
    for name in call.files:
        for value in _as_list(call.inputs.get(name)):
            if not isinstance(value, str | os.PathLike):
                raise InputError(f"{name}: expected a file path for {call.api_name}, got {value!r}")
            if not _is_url(str(value)) and not Path(value).expanduser().is_file():
                raise InputError(f"{name}: the file {value} does not exist — pick an existing file")


def with_files(call: Call) -> JsonObject:
    """The inputs, the named file inputs wrapped by gradio_client's handle_file."""
    from gradio_client import handle_file

    inputs = dict(call.inputs)
    for name in call.files:
        value = inputs.get(name)
        if isinstance(value, list):
            inputs[name] = [handle_file(_local(v)) for v in value]
        elif value is not None:
            inputs[name] = handle_file(_local(value))
    return inputs


def files_in(value: JsonValue, downloads: Path | None) -> list[Path]:
    """Files below `downloads` named in an output value (a path, or lists/dicts holding paths)."""
    if isinstance(value, str):
        path = Path(value)
        if (
            downloads is not None
            and path.is_file()
            and path.resolve().is_relative_to(downloads.resolve())
        ):
            return [path]
        return []
    if isinstance(value, dict):
        return [f for item in value.values() for f in files_in(item, downloads)]
    if isinstance(value, list | tuple):
        return [f for item in value for f in files_in(item, downloads)]
    return []


def move_into(workdir: Path, source: Path) -> Path:
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


def _as_list(value: JsonValue) -> list[JsonValue]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _local(value: JsonValue) -> str:
    text = str(value)
    return text if _is_url(text) else str(Path(text).expanduser())
