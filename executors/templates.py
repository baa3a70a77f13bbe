"""Workflow templates as data: load and validate them, derive the function registry, render.

A template is a folder `<function>/<quality>/` holding `template.json` and a ComfyUI workflow
in API format. A template for another backend family ("backend": "wangp" | "gradio" |
"command") holds a flat JSON request instead (WanGP settings, an endpoint's keyword arguments,
a command's inputs); it is kept as a one-node graph `{"request": {"inputs": {…}}}`, so its
parameters (targets are plain field names) are checked and rendered by the same code.

Bundled templates live in `workflows/`; the user's `<home>/workflows/` override
them (same function and quality: the later folder wins). Every template is validated when it
is loaded; a broken one is collected as a `BrokenTemplate` error and never takes the others down.

Rendering sets values on a deep copy of the parsed graph (never string substitution). Values
merge in a fixed order: template defaults < quality_parameters < prompt values < overrides.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from core import jsontext
from core.errors import InputError, TemplateError
from core.shipped import bundled_workflows
from executors.object_info import (
    combo_options,
    graph_problems,
    graph_warnings,
    is_link,
    is_number,
    options_of,
    server_type,
)
from executors.object_info import input_spec as object_info_input

QUALITIES = ("low", "standard", "high", "premium")
KINDS = ("image", "audio", "video")
PARAM_TYPES = ("direct", "seed", "lookup", "file_upload")
VALUE_TYPES = ("int", "float", "string", "bool")
SEED_MAX = 2**32 - 1
DEFAULT_FUNCTIONS = {"image": "create_image", "audio": "create_audio", "video": "create_video"}
BUNDLED_DIR = bundled_workflows()
TEMPLATE_FILE = "template.json"
REQUIRED_KEYS = ("function", "quality", "kind", "workflow")
BACKENDS = ("comfyui", "wangp", "gradio", "command")
NAMED_SERVER_BACKENDS = ("gradio", "command")  # app-specific: the template names its server
REQUEST_NODE = "request"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# object_info input types -> our value types
SERVER_TYPES = {"INT": "int", "FLOAT": "float", "STRING": "string", "BOOLEAN": "bool"}
JSON_TYPES = {"int": "integer", "float": "number", "string": "string", "bool": "boolean"}


class BrokenTemplate(TemplateError):
    """A template that failed validation; unpacks as `(path, reason)`."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __iter__(self) -> Iterator[Any]:
        return iter((self.path, self.reason))


class _Invalid(Exception):
    """Internal: one validation failure; becomes a BrokenTemplate with the file path."""

    def __init__(self, reason: str, path: Path | None = None):
        super().__init__(reason)
        self.reason = reason
        self.path = path


@dataclass(frozen=True)
class ParamSpec:
    name: str
    target: str
    type: str = "direct"
    node_id: str = ""
    input_name: str = ""
    required: bool = False
    default: Any = None
    description: str = ""
    value_type: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    lookup_table: Mapping[str, Any] = field(default_factory=dict)
    advanced: bool = False  # shown behind the editor's "Advanced" expander


@dataclass(frozen=True)
class ModelFile:
    folder: str
    name: str
    url_hint: str = ""


@dataclass(frozen=True)
class Template:
    function: str
    quality: str
    kind: str
    display_name: str
    version: int
    description: str
    path: Path
    workflow: dict[str, Any] = field(repr=False)
    parameters: dict[str, ParamSpec] = field(repr=False)
    quality_parameters: dict[str, Any] = field(default_factory=dict)
    vram_gb: float | None = None
    timeout_s: float | None = None
    models: tuple[ModelFile, ...] = field(default=(), repr=False)
    backend: str = "comfyui"
    servers: tuple[str, ...] = ()  # pool members that may run it; () = any of its backend
    call: dict[str, Any] = field(default_factory=dict)  # backend options (api_name, output)
    fallbacks: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    requires_comfyui: str = ""  # the ComfyUI versions it needs, e.g. ">=0.11.1"

    @property
    def name(self) -> str:
        return f"{self.function}/{self.quality}"

    def request(self, graph: dict[str, Any]) -> dict[str, Any]:
        """What a non-ComfyUI backend is sent, from a rendered graph of this template."""
        return {**self.call, "inputs": graph[REQUEST_NODE]["inputs"]}


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    display_name: str
    kind: str
    tiers: tuple[str, ...]
    version: int
    description: str
    schema: dict[str, Any]
    backend: str = "comfyui"
    requires: dict[str, Any] = field(default_factory=dict)  # {"comfyui": ">=…", "models": […]}


@dataclass(frozen=True)
class Resolution:
    template: Template
    requested_tier: str
    tier: str
    reason: str = ""

    @property
    def fell_back(self) -> bool:
        return self.tier != self.requested_tier


@dataclass(frozen=True)
class Rendered:
    graph: dict[str, Any]
    values_used: dict[str, Any]
    seed: int | None


def run_facts(resolution: Resolution, rendered: Rendered) -> dict[str, Any]:
    """What a job's submission (and so its takes' metadata) records of the template run."""
    template = resolution.template
    return {
        "template": {
            "function": template.function,
            "quality": template.quality,
            "version": template.version,
            "path": str(template.path),
        },
        "tier": resolution.tier,
        "requested_tier": resolution.requested_tier,
        "tier_reason": resolution.reason or None,
        "seed": rendered.seed,
        "values": rendered.values_used,
        "timeout_s": template.timeout_s,
    }


def default_function(kind: str) -> str:
    """The function a prompt of `kind` runs when it names none."""
    if kind not in DEFAULT_FUNCTIONS:
        raise InputError(f"kind: unknown value {kind!r} — use one of: {', '.join(KINDS)}")
    return DEFAULT_FUNCTIONS[kind]


def template_dirs(home: Path) -> list[Path]:
    """Where templates are looked up: the bundled ones, then the user's (which win)."""
    return [BUNDLED_DIR, Path(home) / "workflows"]


# --- the set of loaded templates ----------------------------------------------------------------


@dataclass
class TemplateSet:
    templates: dict[tuple[str, str], Template] = field(default_factory=dict)
    errors: list[BrokenTemplate] = field(default_factory=list)
    # (function, quality) whose last folder is broken: refused, never replaced by another
    broken: dict[tuple[str, str], BrokenTemplate] = field(default_factory=dict)

    def get(self, function: str, quality: str) -> Template | None:
        return self.templates.get((function, quality))

    def tiers(self, function: str) -> tuple[str, ...]:
        """The tiers `function` has templates for, lowest first; TemplateError if unknown."""
        tiers = tuple(q for q in QUALITIES if (function, q) in self.templates)
        if not tiers:
            known = ", ".join(self.names()) or "none (no templates loaded)"
            raise TemplateError(f"unknown function {function!r} — known functions: {known}")
        return tiers

    def names(self) -> list[str]:
        return sorted({function for function, _ in self.templates})

    def default_function(self, kind: str) -> str:
        return default_function(kind)

    def resolve(self, function: str, quality: str = "standard") -> Resolution:
        """The template to run; a missing tier falls back to the next lower, else higher one."""
        if quality not in QUALITIES:
            raise InputError(
                f"quality: unknown tier {quality!r} — use one of: {', '.join(QUALITIES)}"
            )
        if (function, quality) in self.broken:
            raise TemplateError(_refused(self.broken[(function, quality)]))
        tiers = self.tiers(function)
        if quality in tiers:
            return Resolution(self.templates[(function, quality)], quality, quality)
        rank = QUALITIES.index(quality)
        lower = [t for t in tiers if QUALITIES.index(t) < rank]
        tier = lower[-1] if lower else tiers[0]
        reason = f"no {quality!r} template for {function}; ran {tier!r}"
        return Resolution(self.templates[(function, tier)], quality, tier, reason)

    def functions(self, object_info: Mapping[str, Any] | None = None) -> list[FunctionInfo]:
        """The function registry: one entry per function, sorted by name; with a server's
        object_info, combo parameters list that server's choices."""
        return [self.function_info(name, object_info) for name in self.names()]

    def function_info(
        self, function: str, object_info: Mapping[str, Any] | None = None
    ) -> FunctionInfo:
        """One function's registry entry; with a server's object_info, its combo inputs list
        that server's choices."""
        tiers = self.tiers(function)
        main = self.templates[(function, "standard" if "standard" in tiers else tiers[0])]
        return FunctionInfo(
            name=function,
            display_name=main.display_name,
            kind=main.kind,
            tiers=tiers,
            version=main.version,
            description=main.description,
            schema=parameter_schema(main, object_info),
            backend=main.backend,
            requires=self._requires(function, main),
        )

    def _requires(self, function: str, main: Template) -> dict[str, Any]:
        if main.backend != "comfyui":
            return {}
        models = {
            f"{model.folder}/{model.name}"
            for (name, _), template in self.templates.items()
            if name == function
            for model in template.models
        }
        return {"comfyui": main.requires_comfyui or None, "models": sorted(models)}

    def warnings(
        self,
        function: str,
        object_infos: Mapping[str, Mapping[str, Any]],
        replacements: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> list[str]:
        """What to know about `function`, one line each: its refused (broken) user templates,
        and deprecated nodes and node replacements on each server (object_info by name)."""
        lines = [_refused(error) for (name, _), error in self.broken.items() if name == function]
        lines += [
            f"{server}: {line}"
            for server, info in object_infos.items()
            for (name, _), template in self.templates.items()
            if name == function
            for line in template_warnings(template, info, (replacements or {}).get(server))
        ]
        return list(dict.fromkeys(lines))


def _refused(error: BrokenTemplate) -> str:
    return f"template {error} — fix the file, or remove its folder"


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


# --- loading one template -----------------------------------------------------------------------


def load_template(path: Path) -> Template:
    """One validated template from its template.json; BrokenTemplate naming the file if not."""
    path = Path(path)
    try:
        return _build(path, _read_json(path))
    except _Invalid as exc:
        raise BrokenTemplate(exc.path or path, exc.reason) from None


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _Invalid(f"cannot be read ({exc.strerror or exc})", path) from None
    except UnicodeDecodeError as exc:
        raise _Invalid(f"is not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    try:
        return jsontext.loads(text)
    except json.JSONDecodeError as exc:
        raise _Invalid(
            f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", path
        ) from None
    except ValueError as exc:  # nested too deep, NaN, a lone surrogate (core.jsontext)
        raise _Invalid(f"is not valid JSON: {exc}", path) from None


def _build(path: Path, data: Any) -> Template:
    if not isinstance(data, dict):
        raise _Invalid("must be a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise _Invalid(f"missing required key(s): {', '.join(missing)}")
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
    parameters = _build_parameters(graph, raw_parameters)
    quality_parameters = _build_quality_parameters(graph, raw_quality)
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


def _requires(raw: Any) -> str:
    if not isinstance(raw, dict) or not isinstance(raw.get("comfyui", ""), str):
        raise _Invalid('requires must look like {"comfyui": ">=0.11.1"}')
    unknown = set(raw) - {"comfyui"}
    if unknown:
        raise _Invalid(
            f"requires: unknown key(s) {', '.join(sorted(unknown))} — only 'comfyui' "
            "(model files go in 'models')"
        )
    return raw.get("comfyui", "")


def _build_fallbacks(graph: dict[str, Any], raw: Any) -> dict[str, list[dict]]:
    """`{"<node id>": [node, …]}`: what runs instead of a node the server cannot run."""
    if not isinstance(raw, dict):
        raise _Invalid("fallbacks must be an object of node id -> [API-format node, …]")
    for node_id, nodes in raw.items():
        if node_id not in graph:
            raise _Invalid(f"fallbacks: the workflow has no node {node_id!r}")
        if not isinstance(nodes, list) or not nodes or not all(map(_is_api_node, nodes)):
            raise _Invalid(
                f"fallbacks[{node_id!r}] must be a list of API-format nodes "
                "(objects with class_type and inputs)"
            )
    return {node_id: [dict(node) for node in nodes] for node_id, nodes in raw.items()}


def _check_fallback_targets(
    graph: dict[str, Any], fallbacks: dict[str, list[dict]], targets: Iterable[Any]
) -> None:
    """A node with fallbacks changes shape per server: no parameter may target it."""
    for target in targets:
        node_id, _ = resolve_target(graph, target)
        if node_id in fallbacks:
            raise _Invalid(
                f"target {target!r} is on node {node_id}, which has fallbacks — set that "
                "node's values in the workflow and in each fallback instead"
            )


def _backend(data: dict) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    backend = data.get("backend", "comfyui")
    if backend not in BACKENDS:
        raise _Invalid(f"backend {backend!r} is not one of: {', '.join(BACKENDS)}")
    servers = data.get("servers", [])
    if not isinstance(servers, list) or not all(isinstance(s, str) and s for s in servers):
        raise _Invalid("servers must be a list of server names from config.json")
    if backend in NAMED_SERVER_BACKENDS and not servers:
        raise _Invalid(
            f"a {backend} template must name its server(s) in 'servers' — the names of "
            f"backends.{backend} entries in config.json"
        )
    call = data.get("call", {})
    if not isinstance(call, dict) or "inputs" in call:
        raise _Invalid("call must be an object of backend options (api_name, output)")
    if backend == "gradio" and not isinstance(call.get("api_name"), str):
        raise _Invalid('a gradio template needs "call": {"api_name": "/endpoint_name"}')
    return backend, tuple(servers), dict(call)


def _load_request(folder: Path, name: Any, backend: str) -> dict[str, Any]:
    """A flat request file, kept as the one-node graph the parameter code works on."""
    if not isinstance(name, str) or not name:
        raise _Invalid(f"workflow must be a file name, got {name!r}")
    path = folder / name
    if not path.is_file():
        raise _Invalid(f"request file {name} does not exist next to template.json")
    request = _read_json(path)
    if not isinstance(request, dict):
        raise _Invalid(f"must be a JSON object of {backend} request fields", path)
    return {REQUEST_NODE: {"class_type": backend, "inputs": request}}


def _request_targets(parameters: Any, quality: Any) -> tuple[Any, Any]:
    """Plain field names as targets on the request node ("prompt" → "request.prompt")."""
    if not isinstance(parameters, dict) or not isinstance(quality, dict):
        return parameters, quality  # reported by the builders below

    def on_request(target: Any) -> Any:
        return f"{REQUEST_NODE}.{target}" if isinstance(target, str) else target

    parameters = {
        name: {**spec, "target": on_request(spec.get("target"))} if isinstance(spec, dict) else spec
        for name, spec in parameters.items()
    }
    return parameters, {on_request(target): value for target, value in quality.items()}


def _check_identity(path: Path, function: Any, quality: Any, kind: Any) -> None:
    if not isinstance(function, str) or not NAME_RE.match(function):
        raise _Invalid(f"function {function!r} must be a lower-case name like 'create_image'")
    if quality not in QUALITIES:
        raise _Invalid(f"quality {quality!r} is not one of: {', '.join(QUALITIES)}")
    if kind not in KINDS:
        raise _Invalid(f"kind {kind!r} is not one of: {', '.join(KINDS)}")
    folder = (path.parent.parent.name, path.parent.name)
    if folder != (function, quality):
        raise _Invalid(
            f"says {function}/{quality} but lives in {folder[0]}/{folder[1]}/ — "
            "rename the folder or fix the file"
        )


def _text(data: dict, key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise _Invalid(f"{key} must be text, got {value!r}")
    return value


def _version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Invalid(f"version must be a whole number ≥ 1, got {value!r}")
    return value


def _optional_number(data: dict, key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if not is_number(value) or value <= 0:
        raise _Invalid(f"{key} must be a positive number, got {value!r}")
    return value


def _build_models(models: Any) -> tuple[ModelFile, ...]:
    if not isinstance(models, list):
        raise _Invalid("models must be a list of {folder, name, url_hint}")
    out = []
    for entry in models:
        ok = isinstance(entry, dict) and all(
            isinstance(entry.get(k), str) for k in ("folder", "name")
        )
        if not ok:
            raise _Invalid(f"models entry {entry!r} needs text 'folder' and 'name'")
        out.append(ModelFile(entry["folder"], entry["name"], str(entry.get("url_hint", ""))))
    return tuple(out)


def _load_workflow(folder: Path, name: Any) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise _Invalid(f"workflow must be a file name, got {name!r}")
    path = folder / name
    if not path.is_file():
        raise _Invalid(f"workflow file {name} does not exist next to template.json")
    graph = _read_json(path)
    try:
        _check_api_format(graph)
    except _Invalid as exc:
        raise _Invalid(exc.reason, path) from None
    return graph


def _check_api_format(graph: Any) -> None:
    if isinstance(graph, dict) and "nodes" in graph and "links" in graph:
        raise _Invalid(
            "is a UI-format workflow (it has 'nodes' and 'links') — in ComfyUI, "
            "export it with Save (API) and use that file"
        )
    if not isinstance(graph, dict) or not graph:
        raise _Invalid("is not a ComfyUI API-format workflow (a non-empty object of nodes)")
    for node_id, node in graph.items():
        if not _is_api_node(node):
            raise _Invalid(
                f"node {node_id} has no class_type/inputs — is this an API-format workflow? "
                "export it with Save (API)"
            )


def _is_api_node(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and isinstance(node.get("class_type"), str)
        and isinstance(node.get("inputs"), dict)
    )


# --- targets ------------------------------------------------------------------------------------


def resolve_target(graph: dict[str, Any], target: Any) -> tuple[str, str]:
    """(node id, input name) for `<node id or _meta.title>.<input>`.

    The input may itself be dotted (a V3 dynamic input such as `12.format.codec`), and titles
    may hold dots: the first split, from the right, whose node has that input wins.
    """
    if not isinstance(target, str) or "." not in target:
        raise _Invalid(f"target {target!r} must look like '<node id or title>.<input name>'")
    parts = target.split(".")
    splits = [
        (".".join(parts[:cut]), ".".join(parts[cut:])) for cut in range(len(parts) - 1, 0, -1)
    ]
    found = [(node_id, name) for ref, name in splits if (node_id := _node_ref(graph, ref))]
    for node_id, input_name in found:
        if input_name in graph[node_id]["inputs"]:
            return node_id, input_name
    if not found:
        _no_node(graph, splits[0][0], target)
    node_id, input_name = found[0]
    known = ", ".join(graph[node_id]["inputs"]) or "none"
    raise _Invalid(
        f"target {target!r}: node {node_id} ({graph[node_id]['class_type']}) has no input "
        f"{input_name!r} — its inputs: {known}"
    )


def _node_ref(graph: dict[str, Any], ref: str) -> str | None:
    """The node with id `ref`, else the one node titled `ref`; None when not exactly one."""
    if ref in graph:
        return ref
    matches = [nid for nid, node in graph.items() if _title(node) == ref]
    return matches[0] if len(matches) == 1 else None


def _no_node(graph: dict[str, Any], ref: str, target: str) -> NoReturn:
    matches = [nid for nid, node in graph.items() if _title(node) == ref]
    if matches:
        raise _Invalid(f"target {target!r}: title {ref!r} is used by nodes {', '.join(matches)}")
    raise _Invalid(f"target {target!r}: no node has id or _meta.title {ref!r}")


def _title(node: dict[str, Any]) -> str | None:
    meta = node.get("_meta")
    return meta.get("title") if isinstance(meta, dict) else None


def _type_of(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return None


def _fits(value: Any, value_type: str | None) -> bool:
    """True when `value` can stand where a value of `value_type` is expected."""
    if value_type is None:
        return True
    if value_type == "float":
        return is_number(value)
    return _type_of(value) == value_type


# --- parameters ---------------------------------------------------------------------------------


def _build_parameters(graph: dict[str, Any], raw: Any) -> dict[str, ParamSpec]:
    if not isinstance(raw, dict):
        raise _Invalid("parameters must be an object of name -> {target, type, …}")
    return {name: _build_param(graph, name, spec) for name, spec in raw.items()}


def _build_param(graph: dict[str, Any], name: str, raw: Any) -> ParamSpec:
    if not NAME_RE.match(name):
        raise _Invalid(f"parameter name {name!r} must be a lower-case name like 'negative_prompt'")
    if not isinstance(raw, dict):
        raise _Invalid(f"parameter {name!r} must be an object with a target")
    ptype = raw.get("type", "direct")
    if ptype not in PARAM_TYPES:
        raise _Invalid(
            f"parameter {name!r}: type {ptype!r} is not one of: {', '.join(PARAM_TYPES)}"
        )
    node_id, input_name = resolve_target(graph, raw.get("target"))
    current = graph[node_id]["inputs"][input_name]
    if is_link(current):
        raise _Invalid(
            f"parameter {name!r}: input {input_name!r} of node {node_id} is a link to another "
            "node; a parameter can only set a widget value"
        )
    spec = ParamSpec(
        name=name,
        target=raw["target"],
        type=ptype,
        node_id=node_id,
        input_name=input_name,
        required=_flag(name, raw.get("required", False), "required"),
        default=raw.get("default"),
        description=_param_text(name, raw.get("description", "")),
        value_type=raw.get("value_type"),
        minimum=_bound(name, raw, "min"),
        maximum=_bound(name, raw, "max"),
        lookup_table=raw.get("lookup_table") or {},
        advanced=_flag(name, raw.get("advanced", False), "advanced"),
    )
    _CHECKS[ptype](spec, current)
    return spec


def _flag(name: str, value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"parameter {name!r}: {key} must be true or false, got {value!r}")
    return value


def _param_text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"parameter {name!r}: description must be text")
    return value


def _bound(name: str, raw: dict, key: str) -> float | None:
    value = raw.get(key)
    if value is not None and not is_number(value):
        raise _Invalid(f"parameter {name!r}: {key} must be a number, got {value!r}")
    return value


def _check_direct(spec: ParamSpec, current: Any) -> None:
    if spec.value_type is not None and spec.value_type not in VALUE_TYPES:
        raise _Invalid(
            f"parameter {spec.name!r}: value_type {spec.value_type!r} is not one of: "
            f"{', '.join(VALUE_TYPES)}"
        )
    expected = spec.value_type or _type_of(current)
    if not _fits(current, expected):
        raise _Invalid(
            f"parameter {spec.name!r}: value_type {expected} does not match the current value "
            f"{current!r} of {spec.target}"
        )
    if spec.default is not None and not _fits(spec.default, expected):
        raise _Invalid(
            f"parameter {spec.name!r}: default {spec.default!r} is not a {expected} like the "
            f"current value {current!r} of {spec.target}"
        )
    has_bounds = spec.minimum is not None or spec.maximum is not None
    if has_bounds and expected not in ("int", "float"):
        raise _Invalid(f"parameter {spec.name!r}: min/max only apply to numbers")


def _check_seed(spec: ParamSpec, current: Any) -> None:
    if _type_of(current) != "int":
        raise _Invalid(
            f"parameter {spec.name!r}: a seed target must hold a whole number, but {spec.target} "
            f"is {current!r}"
        )
    if spec.default is not None and not (_type_of(spec.default) == "int" and spec.default >= 0):
        raise _Invalid(f"parameter {spec.name!r}: seed default must be a whole number ≥ 0")


def _check_lookup(spec: ParamSpec, current: Any) -> None:
    table = spec.lookup_table
    if not isinstance(table, dict) or not table:
        raise _Invalid(f"parameter {spec.name!r}: a lookup needs a non-empty lookup_table")
    if spec.default is not None and spec.default not in table:
        raise _Invalid(
            f"parameter {spec.name!r}: default {spec.default!r} is not a key of lookup_table "
            f"({', '.join(map(str, table))})"
        )
    expected = _type_of(current)
    for key, value in table.items():
        if not _fits(value, expected):
            raise _Invalid(
                f"parameter {spec.name!r}: lookup_table[{key!r}] = {value!r} is not a {expected} "
                f"like the current value {current!r} of {spec.target}"
            )


def _check_file_upload(spec: ParamSpec, current: Any) -> None:
    if not isinstance(current, str):
        raise _Invalid(
            f"parameter {spec.name!r}: a file_upload target must hold a file name, but "
            f"{spec.target} is {current!r}"
        )


_CHECKS = {
    "direct": _check_direct,
    "seed": _check_seed,
    "lookup": _check_lookup,
    "file_upload": _check_file_upload,
}


def _build_quality_parameters(graph: dict[str, Any], raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _Invalid("quality_parameters must be an object of target -> value")
    for target, value in raw.items():
        node_id, input_name = resolve_target(graph, target)
        current = graph[node_id]["inputs"][input_name]
        if is_link(current) or not _fits(value, _type_of(current)):
            raise _Invalid(
                f"quality_parameters[{target!r}] = {value!r} does not fit the current value "
                f"{current!r}"
            )
    return dict(raw)


# --- JSON Schema --------------------------------------------------------------------------------


def parameter_schema(
    template: Template, object_info: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A draft 2020-12 JSON Schema of the template's parameters, for GUI controls; with a
    server's object_info, a combo input's choices (either dialect) become its `enum`."""
    properties = {
        name: _property(template, spec, object_info) for name, spec in template.parameters.items()
    }
    required = [name for name, spec in template.parameters.items() if spec.required]
    return {
        "$schema": SCHEMA_DIALECT,
        "title": template.display_name,
        "description": template.description,
        "type": "object",
        "properties": properties,
        "required": required,
    }


def _property(
    template: Template, spec: ParamSpec, object_info: Mapping[str, Any] | None
) -> dict[str, Any]:
    prop: dict[str, Any] = {"title": spec.name}
    if spec.description:
        prop["description"] = spec.description
    if spec.type == "seed":
        prop.update(type="integer", minimum=0, maximum=SEED_MAX)
    elif spec.type == "lookup":
        server = _server_input(object_info, template.workflow[spec.node_id], spec.input_name)
        prop.update(type="string", enum=_lookup_choices(spec, server))
    elif spec.type == "file_upload":
        prop.update(type="string", format="file-path")
    else:
        node = template.workflow[spec.node_id]
        current = node["inputs"][spec.input_name]
        prop["type"] = JSON_TYPES.get(spec.value_type or _type_of(current) or "string")
        choices = combo_options(_server_input(object_info, node, spec.input_name))
        if choices:
            prop["enum"] = list(choices)
    if spec.minimum is not None:
        prop["minimum"] = spec.minimum
    if spec.maximum is not None:
        prop["maximum"] = spec.maximum
    if spec.default is not None:
        prop["default"] = spec.default
    if spec.advanced:
        prop["advanced"] = True
    return prop


# --- rendering ----------------------------------------------------------------------------------


def render(
    template: Template,
    values: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    object_info: Mapping[str, Any] | None = None,
    rng: Any = random,
) -> Rendered:
    """The exact graph to send, and the parameter values actually used (seed included)."""
    template = for_server(template, object_info)
    graph = copy.deepcopy(template.workflow)
    overrides = overrides or {}
    quality_targets = _apply_quality_parameters(graph, template.quality_parameters)
    used: dict[str, Any] = {}
    seed: int | None = None
    for spec in template.parameters.values():
        value = _pick(overrides.get(spec.name), values.get(spec.name))
        if value is None and (spec.node_id, spec.input_name) in quality_targets:
            used[spec.name] = graph[spec.node_id]["inputs"][spec.input_name]
            continue
        value = spec.default if value is None else value
        server = _server_input(object_info, graph[spec.node_id], spec.input_name)
        shown, written = _value_for(template, spec, value, server, rng)
        if written is None:
            continue
        graph[spec.node_id]["inputs"][spec.input_name] = written
        used[spec.name] = shown
        if spec.type == "seed" and seed is None:
            seed = written
    return Rendered(graph, used, seed)


def _pick(*candidates: Any) -> Any:
    return next((c for c in candidates if c is not None), None)


def _apply_quality_parameters(graph: dict[str, Any], raw: dict[str, Any]) -> set[tuple[str, str]]:
    done = set()
    for target, value in raw.items():
        node_id, input_name = resolve_target(graph, target)
        graph[node_id]["inputs"][input_name] = copy.deepcopy(value)
        done.add((node_id, input_name))
    return done


def _value_for(
    template: Template, spec: ParamSpec, value: Any, server: list | None, rng: Any
) -> tuple[Any, Any]:
    """(value shown to the user, value written to the graph); (None, None) = leave as is."""
    if spec.type == "seed":
        seed = _seed(template, spec, value, server, rng)
        return seed, seed
    if value is None:
        if spec.required:
            raise InputError(
                f"{spec.name}: required by template {template.name} but no value was given — "
                f"set {spec.name!r} on the prompt"
            )
        return None, None
    if spec.type == "lookup":
        return value, _lookup(template, spec, value, server)
    if spec.type == "file_upload":
        return value, _text_value(template, spec, value)
    written = _coerce(template, spec, value, server)
    return written, written


def _seed(template: Template, spec: ParamSpec, value: Any, server: list | None, rng: Any) -> int:
    low, high = _seed_range(server)
    if value is None:
        return rng.randint(low, high)
    if _type_of(value) != "int" or not low <= value <= high:
        raise InputError(
            f"{spec.name}: {value!r} is not a seed template {template.name} accepts — "
            f"give a whole number {low}…{high}"
        )
    return value


def _seed_range(server: list | None) -> tuple[int, int]:
    options = options_of(server)
    low = max(0, int(options.get("min", 0)))
    high = min(SEED_MAX, int(options.get("max", SEED_MAX)))
    return (low, high) if low <= high else (0, SEED_MAX)


def _lookup_choices(spec: ParamSpec, server: list | None) -> list[Any]:
    """The lookup's keys; for a plain combo (every key maps to itself, as an import writes
    them), the server's current options too: a model added since the import is offered."""
    keys = list(spec.lookup_table)
    if not _is_plain_combo(spec):
        return keys
    return list(dict.fromkeys([*(combo_options(server) or []), *keys]))


def _is_plain_combo(spec: ParamSpec) -> bool:
    return all(key == value for key, value in spec.lookup_table.items())


def _lookup(template: Template, spec: ParamSpec, key: Any, server: list | None = None) -> Any:
    if (
        isinstance(key, str)
        and key not in spec.lookup_table
        and key in _lookup_choices(spec, server)
    ):
        return key  # a server option of a plain combo
    if not isinstance(key, str) or key not in spec.lookup_table:
        allowed = ", ".join(map(str, spec.lookup_table))
        raise InputError(
            f"{spec.name}: {key!r} is not a choice of template {template.name} — "
            f"use one of: {allowed}"
        )
    return copy.deepcopy(spec.lookup_table[key])


def _text_value(template: Template, spec: ParamSpec, value: Any) -> str:
    if isinstance(value, Path):
        return str(value)
    if not isinstance(value, str):
        raise InputError(f"{spec.name}: expected text for template {template.name}, got {value!r}")
    return value


def _coerce(template: Template, spec: ParamSpec, value: Any, server: list | None) -> Any:
    current = template.workflow[spec.node_id]["inputs"][spec.input_name]
    wanted = spec.value_type or _server_type(server) or _type_of(current) or "string"
    converted = _convert(value, wanted)
    if converted is None:
        raise InputError(
            f"{spec.name}: {value!r} is not a valid {wanted} for template {template.name}"
        )
    if wanted in ("int", "float"):
        _check_range(template, spec, converted, server)
    return converted


def _convert(value: Any, wanted: str) -> Any:
    """`value` as `wanted` (int, float, string, bool), or None when it cannot be."""
    if wanted == "string":
        return value if isinstance(value, str) else str(value) if is_number(value) else None
    if wanted == "bool":
        words = {"true": True, "false": False}
        return value if isinstance(value, bool) else words.get(str(value).lower())
    number = _number(value)
    if number is None:
        return None
    if wanted == "float":
        return float(number)
    return int(number) if float(number).is_integer() else None


def _number(value: Any) -> float | int | None:
    if is_number(value):
        return value
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return None
    return None


def _check_range(template: Template, spec: ParamSpec, value: float, server: list | None) -> None:
    options = options_of(server)
    low = _pick(spec.minimum, options.get("min"))
    high = _pick(spec.maximum, options.get("max"))
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"{'' if low is None else low}…{'' if high is None else high}"
        raise InputError(
            f"{spec.name}: {value!r} is out of range for template {template.name} "
            f"— give a value in {span}"
        )


# --- object_info ----------------------------------------------------------------------------------


def _server_input(
    object_info: Mapping[str, Any] | None, node: Mapping[str, Any], name: str
) -> list | None:
    """The object_info spec of one input (`[type_or_options, {opts}]`), or None when unknown."""
    return object_info_input(object_info, node["class_type"], name, node["inputs"])


def _server_type(server: Any) -> str | None:
    return SERVER_TYPES.get(server_type(server) or "")


def for_server(template: Template, object_info: Mapping[str, Any] | None) -> Template:
    """`template` with each node that this server cannot run as written replaced by the first
    of its fallbacks that it can (feature detection on object_info); as is without one."""
    if not object_info or not template.fallbacks:
        return template
    graph = dict(template.workflow)
    for node_id, alternatives in template.fallbacks.items():
        graph[node_id] = _runnable(node_id, [graph[node_id], *alternatives], object_info)
    return replace(template, workflow=graph)


def _runnable(node_id: str, candidates: list[dict], object_info: Mapping[str, Any]) -> dict:
    for node in candidates:
        if not graph_problems({node_id: node}, object_info):
            return node
    return candidates[0]


def check_against_object_info(
    template: Template,
    object_info: Mapping[str, Any],
    replacements: Mapping[str, Any] | None = None,
) -> list[str]:
    """What keeps `template` from running on a server with this object_info (empty: nothing)."""
    folders = {model.name: model.folder for model in template.models}
    graph = for_server(template, object_info).workflow
    if template.requires_comfyui:
        advice = (
            f"template {template.name} needs ComfyUI {template.requires_comfyui}: update the "
            "server, or use another one"
        )
        return graph_problems(graph, object_info, folders, replacements, advice)
    return graph_problems(graph, object_info, folders, replacements)


def template_warnings(
    template: Template,
    object_info: Mapping[str, Any],
    replacements: Mapping[str, Any] | None = None,
) -> list[str]:
    """Deprecated nodes and node replacements in `template` as it would run on this server."""
    if template.backend != "comfyui":
        return []
    graph = for_server(template, object_info).workflow
    return [f"{template.name}: {w}" for w in graph_warnings(graph, object_info, replacements)]
