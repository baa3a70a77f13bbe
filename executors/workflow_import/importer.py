"""Turn any ComfyUI workflow file into an ordinary template in `<home>/workflows/<function>/
<quality>/` (workflow.json, template.json, and the UI workflow kept as workflow.ui.json),
validated by the same loader as every other template.

Importing the same workflow again (same UI workflow `id`, else the same file name) updates it;
a different workflow under that function and tier is refused unless `replace`. Nodes and model
files the chosen server lacks do not stop an import: the template is written, marked not
runnable there with the reasons.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from core import jsontext
from core.errors import InputError
from core.json_types import JsonObject, JsonValue
from executors.object_info import combo_options, declared_inputs, input_spec, is_model_file
from executors.templates import (
    BUNDLED_DIR,
    KINDS,
    QUALITIES,
    TEMPLATE_FILE,
    BrokenTemplate,
    load_template,
)
from executors.workflow_import.catalog import ObjectInfo
from executors.workflow_import.markers import replace_markers, slug
from executors.workflow_import.parameters import claim
from executors.workflow_import.sources import Source, read_source
from executors.workflow_import.ui_format import to_api

UI_FILE = "workflow.ui.json"
OUTPUT_HINT = re.compile(r"save|preview|output", re.I)
AUDIO_HINT, VIDEO_HINT = re.compile(r"audio", re.I), re.compile(r"video|webm|animated|gif", re.I)
TIMEOUT_S = {"image": 900, "audio": 900, "video": 3600}  # as the bundled templates; editable


@dataclass(frozen=True)
class ImportOptions:
    function: str | None = None
    kind: str | None = None
    quality: str = "standard"
    server: str | None = None
    replace: bool = False


@dataclass(frozen=True)
class MissingModel:
    node: str
    input: str
    file: str
    url: str | None


@dataclass(frozen=True)
class ImportResult:
    function: str
    quality: str
    kind: str
    path: str
    parameters: dict[str, JsonObject]
    outputs: list[str]
    missing_nodes: list[str]
    missing_models: list[MissingModel]
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> JsonObject:
        return asdict(self)


def import_workflow(
    path: Path, home: Path, options: ImportOptions, info: ObjectInfo
) -> ImportResult:
    _check_options(options)
    source = read_source(Path(path))
    graph, marked = replace_markers(_api_graph(source, info))
    outputs = output_nodes(graph, info.nodes)
    if not outputs:
        raise InputError(
            f"{source.path}: the workflow has no output node (such as SaveImage, SaveAudio or "
            "SaveVideo) — add one in ComfyUI, save, and import again"
        )
    kind = options.kind or infer_kind(graph, outputs)
    app_inputs = _app_inputs(source.ui)
    parameters = claim(graph, info.nodes, kind, app_inputs, marked)
    missing_nodes = sorted({n["class_type"] for n in graph.values()} - set(info.nodes))
    models = _model_urls(source.ui)
    # the shipped catalog knows no server's files: model files are checked against a server's
    missing_models = _missing_models(graph, info.nodes, models) if info.server else []
    function = options.function or slug(Path(path).stem)
    reasons = _not_runnable(missing_nodes, missing_models, info.server)
    warnings = [info.warning] if info.warning else []
    result = ImportResult(
        function, options.quality, kind, "", parameters, outputs, missing_nodes,
        missing_models, warnings + reasons,
    )  # fmt: skip
    folder = Path(home) / "workflows" / function / options.quality
    workflow_id = _workflow_id(source, graph)
    template = _template(source, result, models, workflow_id)
    template["imported"].update(server=info.server, runnable=not reasons, reasons=reasons)
    _check_identity(folder, function, options, workflow_id)
    _write(folder, template, graph, source.ui, result.warnings)
    return replace(result, path=str(folder), parameters=template["parameters"])


def _check_options(options: ImportOptions) -> None:
    if options.quality not in QUALITIES:
        raise InputError(f"--quality: {options.quality!r} — use one of: {', '.join(QUALITIES)}")
    if options.kind is not None and options.kind not in KINDS:
        raise InputError(f"--kind: {options.kind!r} — use one of: {', '.join(KINDS)}")
    if options.function is not None and not re.fullmatch(r"[a-z][a-z0-9_]*", options.function):
        raise InputError(
            f"--function: {options.function!r} must be a lower-case name like 'my_portraits'"
        )


def _api_graph(source: Source, info: ObjectInfo) -> JsonObject:
    if source.api is None:
        graph = to_api(source.ui or {}, info.nodes)
    elif info.server is not None:  # that server's own classes: what it would ignore goes
        graph = _declared_only(copy.deepcopy(source.api), info.nodes)
    else:  # the shipped 0.3.64 catalog may not know a newer server's inputs: keep them all
        graph = copy.deepcopy(source.api)
    if not graph:
        raise InputError(f"{source.path}: the workflow has no nodes that run — nothing to import")
    return graph


def _declared_only(graph: JsonObject, object_info: JsonValue) -> JsonObject:
    """Inputs a node's class does not declare on the server are left out, as the server
    ignores them (old frontends exported LoadImage's 'choose file to upload' button as one)."""
    for node in graph.values():
        info = object_info.get(node["class_type"])
        if info is not None:
            known, _, grown = declared_inputs(info, node["inputs"])
            node["inputs"] = {
                name: value
                for name, value in node["inputs"].items()
                if name in known or any(name.startswith(prefix) for prefix in grown)
            }
    return graph


def output_nodes(graph: JsonObject, object_info: JsonValue) -> list[str]:
    """Ids of the nodes that save or show results (a class the server lacks counts when its
    name says Save or Preview)."""
    return [
        node_id
        for node_id, node in graph.items()
        if (object_info.get(node["class_type"]) or {}).get("output_node")
        or (node["class_type"] not in object_info and OUTPUT_HINT.search(node["class_type"]))
    ]


def infer_kind(graph: JsonObject, outputs: list[str]) -> str:
    classes = " ".join(graph[node_id]["class_type"] for node_id in outputs)
    if AUDIO_HINT.search(classes) and not VIDEO_HINT.search(classes):
        return "audio"
    return "video" if VIDEO_HINT.search(classes) else "image"


def _app_inputs(ui: JsonObject | None) -> list[JsonValue]:
    linear = _dict(_dict(_dict(ui).get("extra")).get("linearData"))
    inputs = linear.get("inputs")
    return inputs if isinstance(inputs, list) else []


def _model_urls(ui: JsonObject | None) -> dict[str, dict[str, str]]:
    """File name → {url, directory} from nodes' `properties.models` (subgraphs included)."""
    found: dict[str, dict[str, str]] = {}
    subgraphs = _dict(_dict(ui).get("definitions")).get("subgraphs")
    graphs = [_dict(ui), *(subgraphs if isinstance(subgraphs, list) else [])]
    for graph in map(_dict, graphs):
        nodes = graph.get("nodes")
        for node in map(_dict, nodes if isinstance(nodes, list) else []):
            models = _dict(node.get("properties")).get("models")
            for model in map(_dict, models if isinstance(models, list) else []):
                name, url, folder = model.get("name"), model.get("url"), model.get("directory")
                if isinstance(name, str) and isinstance(url, str):
                    found.setdefault(name, {"url": url, "directory": str(folder or "")})
    return found


def _dict(value: JsonValue) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _missing_models(
    graph: JsonObject, object_info: JsonValue, models: dict[str, dict[str, str]]
) -> list[MissingModel]:
    missing = []
    for node_id, node in graph.items():
        for name, value in node["inputs"].items():
            if not isinstance(value, str) or not (is_model_file(value) or value in models):
                continue
            options = combo_options(input_spec(object_info, node["class_type"], name))
            if options is not None and value not in options:
                url = (models.get(value) or {}).get("url")
                missing.append(MissingModel(node_id, name, value, url))
    return missing


def _template(
    source: Source, result: ImportResult, models: dict[str, dict[str, str]], workflow_id: str
) -> JsonObject:
    return {
        "function": result.function,
        "quality": result.quality,
        "kind": result.kind,
        "workflow": "workflow.json",
        "display_name": source.path.stem,
        "version": 1,
        "description": f"Imported from {source.path.name}",
        "parameters": result.parameters,
        "timeout_s": TIMEOUT_S[result.kind],
        "models": [
            {"folder": m.get("directory", ""), "name": name, "url_hint": m.get("url", "")}
            for name, m in models.items()
            if m.get("directory")
        ],
        "imported": {
            "source": source.path.name,
            "workflow_id": workflow_id,
        },
    }


def _not_runnable(
    missing_nodes: list[str], missing_models: list[MissingModel], server: str | None
) -> list[str]:
    where = f"server {server}" if server else "a server with only the core nodes"
    reasons = []
    if missing_nodes:
        reasons.append(
            f"not runnable on {where}: it lacks node class(es) {', '.join(missing_nodes)}"
            " — install the custom nodes that provide them, or update ComfyUI"
        )
    for model in missing_models:
        get = f"download it from {model.url}" if model.url else "put it in its models folder"
        reasons.append(
            f"not runnable on {where}: model file {model.file} (node {model.node} "
            f"{model.input}) is missing — {get}"
        )
    return reasons


def _workflow_id(source: Source, graph: JsonObject) -> str:
    """What makes two imports the same workflow: the UI workflow's `id`, else the API graph's
    shape (its node ids and classes; values and links may change between exports)."""
    ui_id = _dict(source.ui).get("id")
    if isinstance(ui_id, str) and ui_id:
        return ui_id
    shape = sorted((node_id, node["class_type"]) for node_id, node in graph.items())
    return "api-" + hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]


def _check_identity(folder: Path, function: str, options: ImportOptions, workflow_id: str) -> None:
    existing = folder / TEMPLATE_FILE
    if options.replace:
        return
    if existing.is_file():
        imported = _read(existing).get("imported") or {}
        if imported.get("workflow_id") == workflow_id:
            return
        held = imported.get("source") or "a template you wrote"
    elif (BUNDLED_DIR / function / options.quality / TEMPLATE_FILE).is_file():
        held = "a bundled template"
    else:
        return
    raise InputError(
        f"{function}/{options.quality} already holds another workflow ({held}) — add --replace "
        "to overwrite it, or --function NAME to import under another name"
    )


def _read(path: Path) -> JsonObject:
    try:
        data = jsontext.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(
    folder: Path,
    template: JsonObject,
    graph: JsonObject,
    ui: JsonObject | None,
    warnings: list[str],
) -> None:
    """Write the template beside `folder`, validate it with the template loader (dropping a
    parameter the loader refuses, with a warning), then put it in place."""
    old = _read(folder / TEMPLATE_FILE)
    template["version"] = int(old.get("version", 0)) + 1 if old.get("imported") else 1
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=folder.parent.parent))
    try:
        staged = staging / folder.parent.name / folder.name
        staged.mkdir(parents=True)
        _dump(staged / "workflow.json", graph)
        if ui is not None:
            _dump(staged / UI_FILE, ui)
        _validate(staged, template, warnings)
        if folder.exists():  # moved aside first: a crash leaves the old or the new one
            folder.rename(staging / "replaced")
        staged.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _validate(staged: Path, template: JsonObject, warnings: list[str]) -> None:
    for _ in range(len(template["parameters"]) + 1):
        _dump(staged / TEMPLATE_FILE, template)
        try:
            load_template(staged / TEMPLATE_FILE)
            return
        except BrokenTemplate as exc:
            name = re.search(r"parameter '([^']+)'", exc.reason)
            if name is None or name.group(1) not in template["parameters"]:
                raise InputError(f"the imported template is not valid: {exc.reason}") from None
            del template["parameters"][name.group(1)]
            warnings.append(f"parameter {name.group(1)} left out: {exc.reason}")


def _dump(path: Path, data: JsonValue) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
