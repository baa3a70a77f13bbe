"""ComfyUI's refusals and failures → one line that names the node and says what to do, in the
words of the one object_info check (executors/object_info.py), so a problem found before the
POST and the same problem refused by the server read alike.

Shapes: 0.3.64 (recorded, d_errors.jsonl: a missing class is `invalid_prompt` "Cannot execute
because node X does not exist.") and the newest execution.py@04e2a914 validate_prompt:
`missing_node_type` with `extra_info {node_id, class_type, node_title}`, `value_not_in_list`
with `extra_info {input_name, input_config, received_value}`.
"""

from __future__ import annotations

import re

from core.errors import BackendError, OutOfMemory, PermanentBackendError
from core.json_types import JsonObject, JsonValue
from executors.object_info import INSTALL_ADVICE, is_model_file, missing_nodes, value_problems

from .http import Http

OLD_MISSING_NODE = re.compile(
    r"node (?P<class_type>.+) does not exist\. Node ID '#(?P<node>[^']+)'"
)


def describe_rejection(body: JsonValue, workflow: JsonObject) -> str:
    """Every node error of a refused prompt, or its prompt-level error, on one line."""
    body = body if isinstance(body, dict) else {}
    node_errors = body.get("node_errors")
    parts = [
        _node_error(node_id, entry, error, workflow)
        for node_id, entry in (node_errors.items() if isinstance(node_errors, dict) else ())
        if isinstance(entry, dict)
        for error in entry.get("errors") or []
        if isinstance(error, dict)
    ]
    return "; ".join(parts) if parts else _prompt_error(body.get("error"), workflow)


def execution_error(http: Http, data: JsonObject) -> BackendError:
    node, node_type = data.get("node_id"), data.get("node_type")
    exception_type = str(data.get("exception_type", ""))
    message = str(data.get("exception_message", "")).strip()
    if is_oom(exception_type, message):
        msg = (
            f"{http.name} ran out of GPU memory in node {node} ({node_type}) — try a lower "
            f"quality tier or free VRAM: {message}"
        )
        return http.error(OutOfMemory, msg, detail=data)
    msg = f"node {node} ({node_type}) failed on {http.name}: {exception_type}: {message}"
    return http.error(PermanentBackendError, msg, detail=data)


def is_oom(exception_type: str, message: str) -> bool:
    lowered = message.lower()
    return (
        "OutOfMemoryError" in exception_type
        or "out of memory" in lowered
        or "allocation on device" in lowered
    )


def _prompt_error(error: JsonValue, workflow: JsonObject) -> str:
    if isinstance(error, str):
        return error
    error = error if isinstance(error, dict) else {}
    missing = _missing_class(error, workflow)
    if missing is not None:
        return missing
    details = f" ({error['details']})" if error.get("details") else ""
    return f"{error.get('message', 'invalid prompt')}{details}"


def _missing_class(error: JsonObject, workflow: JsonObject) -> str | None:
    """A node class the server lacks, as the current (`missing_node_type`) or the 0.3.64
    (`invalid_prompt` "… does not exist") server says it; None for any other error."""
    extra = _extra_info(error)
    if error.get("type") == "missing_node_type" and extra.get("class_type"):
        node_id, class_type, title = (
            extra.get("node_id"),
            extra["class_type"],
            extra.get("node_title"),
        )
    else:
        found = OLD_MISSING_NODE.search(f"{error.get('message')} {error.get('details')}")
        if error.get("type") != "invalid_prompt" or not found:
            return None
        node_id, class_type = found.group("node"), found.group("class_type")
        title = (workflow.get(node_id, {}).get("_meta") or {}).get("title")
    shown = f' "{title}"' if title and title != class_type else ""
    return missing_nodes([(f"node {node_id} ({class_type}{shown})", class_type)], INSTALL_ADVICE)


def _node_error(node_id: str, entry: JsonObject, error: JsonObject, workflow: JsonObject) -> str:
    class_type = entry.get("class_type") or workflow.get(node_id, {}).get("class_type", "?")
    where = f"node {node_id} ({class_type})"
    extra = _extra_info(error)
    value = extra.get("received_value")
    if error.get("type") == "value_not_in_list" and is_model_file(value):
        spec = extra.get("input_config")
        named = value_problems(where, str(extra.get("input_name")), value, spec, {})
        if named:
            return named[0]
    text = str(error.get("message", "invalid"))
    if error.get("details"):
        text += f": {error['details']}"
    return f"{where}: {text}"


def _extra_info(error: JsonObject) -> JsonObject:
    """The error's `extra_info` object (the newer servers'), or {}."""
    extra = error.get("extra_info")
    return extra if isinstance(extra, dict) else {}
