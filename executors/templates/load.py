"""Loading templates from disk: every folder `<function>/<quality>/` with a template.json.

Bundled templates live in `workflows/` (package data); the user's `<home>/workflows/` override
them (same function and quality: the later folder wins). Every template is validated when it is
loaded; a broken one is collected as a `BrokenTemplate` error and never takes the others down.
A ComfyUI template names a workflow in API format; another backend family's template names a
flat JSON request, kept as the one-node graph `{"request": {"inputs": {…}}}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from core import jsontext
from core.json_types import JsonObject, JsonValue
from core.shipped import bundled_workflows
from executors.object_info import is_number
from executors.templates.model import (
    KINDS,
    NAME_RE,
    QUALITIES,
    REQUEST_NODE,
    BrokenTemplate,
    Graph,
    Invalid,
    ModelFile,
    Template,
)
from executors.templates.params import build_parameters, build_quality_parameters, resolve_target
from executors.templates.template_set import TemplateSet

BUNDLED_DIR = bundled_workflows()
TEMPLATE_FILE = "template.json"
REQUIRED_KEYS = ("function", "quality", "kind", "workflow")
BACKENDS = ("comfyui", "wangp", "gradio", "command")
NAMED_SERVER_BACKENDS = ("gradio", "command")  # app-specific: the template names its server


def template_dirs(home: Path) -> list[Path]:
    """Where templates are looked up: the bundled ones, then the user's (which win)."""
    return [BUNDLED_DIR, Path(home) / "workflows"]


def load_templates(dirs: Iterable[Path | str]) -> TemplateSet:
    """Every `*/*/template.json` under `dirs`, validated; later dirs override earlier ones."""
    result = TemplateSet()
    for directory in dirs:
        for path in sorted(Path(directory).glob(f"*/*/{TEMPLATE_FILE}")):
            key = (path.parent.parent.name, path.parent.name)
            try:
                template = load_template(path)
            except BrokenTemplate as exc:  # refused: a broken override never falls back
                result.errors.append(exc)
                result.broken[key] = exc
                result.templates.pop(key, None)
                continue
            result.broken.pop(key, None)
            result.templates[(template.function, template.quality)] = template
    return result


def load_template(path: Path) -> Template:
    """One validated template from its template.json; BrokenTemplate naming the file if not."""
    path = Path(path)
    try:
        return _build(path, _read_json(path))
    except Invalid as exc:
        raise BrokenTemplate(exc.path or path, exc.reason) from None


def _read_json(path: Path) -> JsonValue:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise Invalid(f"cannot be read ({exc.strerror or exc})", path) from None
    except UnicodeDecodeError as exc:
        raise Invalid(f"is not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    try:
        return jsontext.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", path
        ) from None
    except ValueError as exc:  # nested too deep, NaN, a lone surrogate (core.jsontext)
        raise Invalid(f"is not valid JSON: {exc}", path) from None


def _build(path: Path, data: JsonValue) -> Template:
    if not isinstance(data, dict):
        raise Invalid("must be a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise Invalid(f"missing required key(s): {', '.join(missing)}")
    function, quality, kind = data["function"], data["quality"], data["kind"]
    _check_identity(path, function, quality, kind)
    backend, servers, call = _backend(data)
    raw_parameters = data.get("parameters", {})
    raw_quality = data.get("quality_parameters", {})
    if backend == "comfyui":
        graph = _load_workflow(path.parent, data["workflow"])
    else:
        graph = _load_request(path.parent, data["workflow"], backend)
        raw_parameters, raw_quality = _request_targets(raw_parameters, raw_quality)
    parameters = build_parameters(graph, raw_parameters)
    quality_parameters = build_quality_parameters(graph, raw_quality)
    fallbacks = _build_fallbacks(graph, data.get("fallbacks", {}))
    targets = [spec.target for spec in parameters.values()] + list(quality_parameters)
    _check_fallback_targets(graph, fallbacks, targets)
    return Template(
        function=function,
        quality=quality,
        kind=kind,
        display_name=_text(data, "display_name", function),
        version=_version(data.get("version", 1)),
        description=_text(data, "description", ""),
        path=path.parent,
        workflow=graph,
        parameters=parameters,
        quality_parameters=quality_parameters,
        vram_gb=_optional_number(data, "vram_gb"),
        timeout_s=_optional_number(data, "timeout_s"),
        models=_build_models(data.get("models", [])),
        backend=backend,
        servers=servers,
        call=call,
        fallbacks=fallbacks,
        requires_comfyui=_requires(data.get("requires", {})),
    )


def _requires(raw: JsonValue) -> str:
    if not isinstance(raw, dict) or not isinstance(raw.get("comfyui", ""), str):
        raise Invalid('requires must look like {"comfyui": ">=0.11.1"}')
    unknown = set(raw) - {"comfyui"}
    if unknown:
        raise Invalid(
            f"requires: unknown key(s) {', '.join(sorted(unknown))} — only 'comfyui' "
            "(model files go in 'models')"
        )
    return raw.get("comfyui", "")


def _build_fallbacks(graph: Graph, raw: JsonValue) -> dict[str, list[JsonObject]]:
    """`{"<node id>": [node, …]}`: what runs instead of a node the server cannot run."""
    if not isinstance(raw, dict):
        raise Invalid("fallbacks must be an object of node id -> [API-format node, …]")
    for node_id, nodes in raw.items():
        if node_id not in graph:
            raise Invalid(f"fallbacks: the workflow has no node {node_id!r}")
        if not isinstance(nodes, list) or not nodes or not all(map(_is_api_node, nodes)):
            raise Invalid(
                f"fallbacks[{node_id!r}] must be a list of API-format nodes "
                "(objects with class_type and inputs)"
            )
    return {node_id: [dict(node) for node in nodes] for node_id, nodes in raw.items()}


def _check_fallback_targets(
    graph: Graph, fallbacks: dict[str, list[JsonObject]], targets: Iterable[JsonValue]
) -> None:
    """A node with fallbacks changes shape per server: no parameter may target it."""
    for target in targets:
        node_id, _ = resolve_target(graph, target)
        if node_id in fallbacks:
            raise Invalid(
                f"target {target!r} is on node {node_id}, which has fallbacks — set that "
                "node's values in the workflow and in each fallback instead"
            )


def _backend(data: JsonObject) -> tuple[str, tuple[str, ...], JsonObject]:
    backend = data.get("backend", "comfyui")
    if backend not in BACKENDS:
        raise Invalid(f"backend {backend!r} is not one of: {', '.join(BACKENDS)}")
    servers = data.get("servers", [])
    if not isinstance(servers, list) or not all(isinstance(s, str) and s for s in servers):
        raise Invalid("servers must be a list of server names from config.json")
    if backend in NAMED_SERVER_BACKENDS and not servers:
        raise Invalid(
            f"a {backend} template must name its server(s) in 'servers' — the names of "
            f"backends.{backend} entries in config.json"
        )
    call = data.get("call", {})
    if not isinstance(call, dict) or "inputs" in call:
        raise Invalid("call must be an object of backend options (api_name, output)")
    if backend == "gradio" and not isinstance(call.get("api_name"), str):
        raise Invalid('a gradio template needs "call": {"api_name": "/endpoint_name"}')
    return backend, tuple(servers), dict(call)


def _load_request(folder: Path, name: JsonValue, backend: str) -> Graph:
    """A flat request file, kept as the one-node graph the parameter code works on."""
    path = _file_beside(folder, name, "request")
    request = _read_json(path)
    if not isinstance(request, dict):
        raise Invalid(f"must be a JSON object of {backend} request fields", path)
    return {REQUEST_NODE: {"class_type": backend, "inputs": request}}


def _request_targets(parameters: JsonValue, quality: JsonValue) -> tuple[JsonValue, JsonValue]:
    """Plain field names as targets on the request node ("prompt" → "request.prompt")."""
    if not isinstance(parameters, dict) or not isinstance(quality, dict):
        return parameters, quality  # reported by the builders below

    def on_request(target: JsonValue) -> JsonValue:
        return f"{REQUEST_NODE}.{target}" if isinstance(target, str) else target

    parameters = {
        name: {**spec, "target": on_request(spec.get("target"))} if isinstance(spec, dict) else spec
        for name, spec in parameters.items()
    }
    return parameters, {on_request(target): value for target, value in quality.items()}


def _check_identity(path: Path, function: JsonValue, quality: JsonValue, kind: JsonValue) -> None:
    if not isinstance(function, str) or not NAME_RE.match(function):
        raise Invalid(f"function {function!r} must be a lower-case name like 'create_image'")
    if quality not in QUALITIES:
        raise Invalid(f"quality {quality!r} is not one of: {', '.join(QUALITIES)}")
    if kind not in KINDS:
        raise Invalid(f"kind {kind!r} is not one of: {', '.join(KINDS)}")
    folder = (path.parent.parent.name, path.parent.name)
    if folder != (function, quality):
        raise Invalid(
            f"says {function}/{quality} but lives in {folder[0]}/{folder[1]}/ — "
            "rename the folder or fix the file"
        )


def _text(data: JsonObject, key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise Invalid(f"{key} must be text, got {value!r}")
    return value


def _version(value: JsonValue) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(f"version must be a whole number ≥ 1, got {value!r}")
    return value


def _optional_number(data: JsonObject, key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if not is_number(value) or value <= 0:
        raise Invalid(f"{key} must be a positive number, got {value!r}")
    return value


def _build_models(models: JsonValue) -> tuple[ModelFile, ...]:
    if not isinstance(models, list):
        raise Invalid("models must be a list of {folder, name, url_hint}")
    out = []
    for entry in models:
        ok = isinstance(entry, dict) and all(
            isinstance(entry.get(k), str) for k in ("folder", "name")
        )
        if not ok:
            raise Invalid(f"models entry {entry!r} needs text 'folder' and 'name'")
        out.append(ModelFile(entry["folder"], entry["name"], str(entry.get("url_hint", ""))))
    return tuple(out)


def _load_workflow(folder: Path, name: JsonValue) -> Graph:
    path = _file_beside(folder, name, "workflow")
    graph = _read_json(path)
    try:
        _check_api_format(graph)
    except Invalid as exc:
        raise Invalid(exc.reason, path) from None
    return graph


def _file_beside(folder: Path, name: JsonValue, what: str) -> Path:
    """The template's `workflow` file (a ComfyUI graph or another backend's request)."""
    if not isinstance(name, str) or not name:
        raise Invalid(f"workflow must be a file name, got {name!r}")
    path = folder / name
    if not path.is_file():
        raise Invalid(f"{what} file {name} does not exist next to template.json")
    return path


def _check_api_format(graph: JsonValue) -> None:
    if isinstance(graph, dict) and "nodes" in graph and "links" in graph:
        raise Invalid(
            "is a UI-format workflow (it has 'nodes' and 'links') — in ComfyUI, "
            "export it with Save (API) and use that file"
        )
    if not isinstance(graph, dict) or not graph:
        raise Invalid("is not a ComfyUI API-format workflow (a non-empty object of nodes)")
    for node_id, node in graph.items():
        if not _is_api_node(node):
            raise Invalid(
                f"node {node_id} has no class_type/inputs — is this an API-format workflow? "
                "export it with Save (API)"
            )


def _is_api_node(node: JsonValue) -> bool:
    return (
        isinstance(node, dict)
        and isinstance(node.get("class_type"), str)
        and isinstance(node.get("inputs"), dict)
    )
