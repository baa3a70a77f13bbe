"""ComfyUI's refusals and failures → one line that names the node and says what to do.

Shapes: 0.3.64 (recorded, d_errors.jsonl) and the newest execution.py@04e2a914 validate_prompt:
`missing_node_type` with `extra_info {node_id, class_type, node_title}` (0.3.64 said
`invalid_prompt`), `value_not_in_list` with `extra_info {input_name, input_config,
received_value}`.
"""

from __future__ import annotations

import re
from typing import Any

from core.errors import BackendError, OutOfMemory, PermanentBackendError

from .http import Http

OLD_MISSING_NODE = re.compile(
    r"node (?P<class_type>.+) does not exist\. Node ID '#(?P<node>[^']+)'"
)
MODEL_EXTS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx")
SHOWN_CHOICES = 8


def describe_rejection(body: Any, workflow: dict[str, Any], server: str) -> str:
    """ "node 4 (CheckpointLoaderSimple): model file 'x' (ckpt_name) is not on … (it has: …)"."""
    body = body if isinstance(body, dict) else {}
    node_errors = body.get("node_errors")
    parts = [
        _node_error(node_id, entry, error, workflow, server)
        for node_id, entry in (node_errors.items() if isinstance(node_errors, dict) else ())
        if isinstance(entry, dict)
        for error in entry.get("errors") or []
        if isinstance(error, dict)
    ]
    return "; ".join(parts) if parts else _prompt_error(body.get("error"), workflow, server)


def execution_error(http: Http, data: dict[str, Any]) -> BackendError:
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


def missing_node(node_id: str, class_type: Any, title: Any, server: str) -> str:
    named = f'{class_type}, "{title}"' if title and title != class_type else f"{class_type}"
    return (
        f"node {node_id} ({named}): node type {class_type} is not installed on {server} — "
        "install the custom node that provides it, or use another server"
    )


def missing_model(node_id: str, class_type: str, name: str, value: Any, server: str, have: Any):
    choices = [str(c) for c in have] if isinstance(have, list) else []
    listed = ", ".join(choices[:SHOWN_CHOICES]) + (", …" if len(choices) > SHOWN_CHOICES else "")
    return (
        f"node {node_id} ({class_type}): model file {value!r} ({name}) is not on {server} "
        f"(it has: {listed or 'none'}) — download it into ComfyUI's models folder or pick another"
    )


def _prompt_error(error: Any, workflow: dict[str, Any], server: str) -> str:
    if isinstance(error, str):
        return error
    error = error if isinstance(error, dict) else {}
    extra = error.get("extra_info") if isinstance(error.get("extra_info"), dict) else {}
    if error.get("type") == "missing_node_type" and extra.get("class_type"):
        node_id = str(extra.get("node_id"))
        return missing_node(node_id, extra["class_type"], extra.get("node_title"), server)
    missing = OLD_MISSING_NODE.search(f"{error.get('message')} {error.get('details')}")
    if error.get("type") == "invalid_prompt" and missing:  # 0.3.64's words for it
        node_id, class_type = missing.group("node"), missing.group("class_type")
        title = (workflow.get(node_id, {}).get("_meta") or {}).get("title")
        return missing_node(node_id, class_type, title, server)
    details = f" ({error['details']})" if error.get("details") else ""
    return f"{error.get('message', 'invalid prompt')}{details}"


def _node_error(
    node_id: str, entry: dict[str, Any], error: dict[str, Any], workflow: dict, server: str
) -> str:
    class_type = entry.get("class_type") or workflow.get(node_id, {}).get("class_type", "?")
    extra = error.get("extra_info") if isinstance(error.get("extra_info"), dict) else {}
    value = extra.get("received_value")
    if error.get("type") == "value_not_in_list" and is_model_file(value):
        options = combo_options(extra.get("input_config"))
        return missing_model(node_id, class_type, extra.get("input_name"), value, server, options)
    text = str(error.get("message", "invalid"))
    if error.get("details"):
        text += f": {error['details']}"
    return f"node {node_id} ({class_type}): {text}"


def combo_options(spec: Any) -> list[Any] | None:
    """The choices of a combo input spec: `[[a, b], {…}]` or V3's `["COMBO", {"options": …}]`."""
    if not isinstance(spec, list) or not spec:
        return None
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        options = spec[1].get("options")
        return options if isinstance(options, list) else []
    return None


def is_model_file(value: Any) -> bool:
    return isinstance(value, str) and value.lower().endswith(MODEL_EXTS)
