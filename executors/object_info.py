"""The one check of an API-format graph against a ComfyUI server's `/object_info`.

Problems keep a graph from running there (a missing node class, model file, input or combo
choice); warnings do not (a deprecated node, a node the server replaces). Every message is one
line naming the node id, its class and title.

Both object_info dialects are read: legacy combos `[["a", "b"], {…}]` and V3 combos
`["COMBO", {"options": ["a", "b"], "multiselect": …}]`. V3 dynamic inputs are flattened the way
API graphs name them: a DynamicCombo `format` whose chosen option declares `codec` is filled as
`format.codec` (comfy_api/latest/_io.py DynamicCombo.Option.as_dict: each option is
`{"key": …, "inputs": {"required": {…}, "optional": {…}}}`). A remote combo's choices live
elsewhere and are not checked; a multiselect combo takes a list of choices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.json_types import JsonObject, JsonValue

DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"
AUTOGROW = "COMFY_AUTOGROW_V3"
MODEL_EXTS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx")
SHOWN_CHOICES = 12
INSTALL_ADVICE = "install the custom node that provides it, or use another server"

# `GET /node_replacements`: {old class: [{"old_node_id": …, "new_node_id": …, …}]}
Replacements = Mapping[str, JsonValue]


@dataclass(frozen=True)
class Findings:
    problems: tuple[str, ...]
    warnings: tuple[str, ...]


def graph_problems(
    graph: Mapping[str, JsonValue],
    object_info: Mapping[str, JsonValue],
    model_folders: Mapping[str, str] | None = None,
    replacements: Replacements | None = None,
    missing_advice: str = INSTALL_ADVICE,
) -> list[str]:
    """What keeps `graph` from running on a server with this object_info (empty: nothing).

    `model_folders` maps model file names to their folder under models/ (for the download
    hint); `replacements` is the server's `GET /node_replacements`, when it has one;
    `missing_advice` is what to do about node classes the server lacks.
    """
    findings = check_graph(graph, object_info, model_folders, replacements, missing_advice)
    return list(findings.problems)


def missing_parts(
    graph: Mapping[str, JsonValue],
    object_info: Mapping[str, JsonValue],
    replacements: Replacements | None = None,
) -> list[str]:
    """What certainly fails on this server, checked just before a graph is sent: node classes
    it lacks (and does not replace) and model files it does not have. The server judges
    everything else itself (its input folder may have changed since object_info was read)."""
    problems: list[str] = []
    missing: list[tuple[str, str]] = []
    for node_id, node in graph.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            problems.append(f"node {node_id} has no class_type — export the workflow in API format")
        elif node["class_type"] not in object_info:
            if replaced_by(node["class_type"], replacements) not in object_info:
                missing.append((describe(node_id, node), node["class_type"]))
        else:
            problems += _missing_models(
                describe(node_id, node), node, object_info[node["class_type"]]
            )
    return ([missing_nodes(missing, INSTALL_ADVICE)] if missing else []) + problems


def _missing_models(
    where: str, node: Mapping[str, JsonValue], info: Mapping[str, JsonValue]
) -> list[str]:
    inputs = _inputs_of(node)
    known, _, _ = declared_inputs(info, inputs)
    return [
        problem
        for name, value in inputs.items()
        if is_model_file(value) and combo_options(known.get(name)) is not None
        for problem in value_problems(where, name, value, known[name], {})
    ]


def graph_warnings(
    graph: Mapping[str, JsonValue],
    object_info: Mapping[str, JsonValue],
    replacements: Replacements | None = None,
) -> list[str]:
    """Deprecated nodes and node replacements in `graph`: worth saying, not failures."""
    return list(check_graph(graph, object_info, None, replacements).warnings)


def check_graph(
    graph: Mapping[str, JsonValue],
    object_info: Mapping[str, JsonValue],
    model_folders: Mapping[str, str] | None = None,
    replacements: Replacements | None = None,
    missing_advice: str = INSTALL_ADVICE,
) -> Findings:
    problems: list[str] = []
    warnings: list[str] = []
    missing: list[tuple[str, str]] = []
    for node_id, node in graph.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            problems.append(f"node {node_id} has no class_type — export the workflow in API format")
            continue
        where = describe(node_id, node)
        class_type = node["class_type"]
        new_class = replaced_by(class_type, replacements)
        if new_class:
            warnings.append(
                f"{where} is replaced by {new_class} on this server — update the template"
            )
        if class_type not in object_info:
            if not (new_class and new_class in object_info):
                missing.append((where, class_type))
            continue
        info = object_info[class_type]
        if info.get("deprecated"):
            warnings.append(
                f"{where} is deprecated on this server — it still runs; update the template"
            )
        problems += node_problems(where, node, info, model_folders or {})
    if missing:
        problems.insert(0, missing_nodes(missing, missing_advice))
    return Findings(tuple(problems), tuple(warnings))


def describe(node_id: str, node: Mapping[str, JsonValue]) -> str:
    """`node 12 (SaveVideo "Save Video")` — the title only when there is one."""
    meta = node.get("_meta")
    title = meta.get("title") if isinstance(meta, dict) else None
    shown = f' "{one_line(title)}"' if title and title != node.get("class_type") else ""
    return f"node {one_line(node_id)} ({one_line(node.get('class_type'))}{shown})"


def one_line(text: JsonValue) -> str:
    """`text` with control characters escaped, so a message stays on one line."""
    text = str(text)
    return repr(text)[1:-1] if any(ord(c) < 32 or ord(c) == 127 for c in text) else text


def missing_nodes(missing: list[tuple[str, str]], advice: str) -> str:
    """One line for every node whose class the server lacks, with the advice once."""
    nodes = ", ".join(where for where, _ in missing)
    classes = list(dict.fromkeys(one_line(class_type) for _, class_type in missing))
    several = len(classes) > 1
    if several and advice == INSTALL_ADVICE:
        advice = "install the custom nodes that provide them, or use another server"
    return (
        f"{nodes} need{'' if len(missing) > 1 else 's'} node class{'es' if several else ''} "
        f"{', '.join(classes)}, which this server does not have — {advice}"
    )


def replaced_by(class_type: str, replacements: Replacements | None) -> str | None:
    entries = (replacements or {}).get(class_type) or []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("new_node_id"), str):
            return entry["new_node_id"]
    return None


# --- one node -----------------------------------------------------------------------------------


def node_problems(
    where: str,
    node: Mapping[str, JsonValue],
    info: Mapping[str, JsonValue],
    model_folders: Mapping[str, str],
) -> list[str]:
    inputs = _inputs_of(node)
    known, required, grown = declared_inputs(info, inputs)
    problems = [
        f"{where} has no input {name!r} on this server — update the template or the server"
        for name in inputs
        if name not in known and not _grows(name, grown)
    ]
    problems += [
        f"{where} is missing its required input {name!r}" for name in required - set(inputs)
    ]
    for name, value in inputs.items():
        if name in known and not is_link(value):
            problems += value_problems(where, name, value, known[name], model_folders)
    return problems


def _inputs_of(node: Mapping[str, JsonValue]) -> Mapping[str, JsonValue]:
    inputs = node.get("inputs")
    return inputs if isinstance(inputs, dict) else {}


def declared_inputs(
    info: Mapping[str, JsonValue], values: Mapping[str, JsonValue]
) -> tuple[JsonObject, set[str], set[str]]:
    """(input name → spec, required names, Autogrow prefixes) as the graph's values choose
    them: a DynamicCombo adds the inputs of the option its value picks, under `name.`."""
    known: JsonObject = {}
    required: set[str] = set()
    grown: set[str] = set()
    sections = info.get("input") or {}
    _declare(sections, "", True, values, known, required, grown)
    return known, required, grown


def _declare(
    sections: Mapping[str, JsonValue],
    prefix: str,
    parent_required: bool,
    values: Mapping[str, JsonValue],
    known: JsonObject,
    required: set[str],
    grown: set[str],
) -> None:
    for section in ("required", "optional"):
        for name, spec in (sections.get(section) or {}).items():
            full = prefix + name
            known[full] = spec
            if parent_required and section == "required":
                required.add(full)
            kind = spec[0] if isinstance(spec, list | tuple) and spec else None
            if kind == AUTOGROW:
                grown.add(full + ".")
            elif kind == DYNAMIC_COMBO:
                chosen = _chosen_option(spec, values.get(full))
                if chosen is not None:
                    is_required = parent_required and section == "required"
                    _declare(chosen, full + ".", is_required, values, known, required, grown)


def _chosen_option(spec: JsonValue, value: JsonValue) -> Mapping[str, JsonValue] | None:
    for option in options_of(spec).get("options") or []:
        if isinstance(option, dict) and option.get("key") == value:
            return option.get("inputs") or {}
    return None


def _grows(name: str, grown: set[str]) -> bool:
    return any(name.startswith(prefix) for prefix in grown)


def input_spec(
    object_info: Mapping[str, JsonValue] | None,
    class_type: str,
    name: str,
    values: Mapping[str, JsonValue] | None = None,
) -> JsonValue:
    """The object_info spec of one (possibly dotted) input, or None when unknown."""
    if not object_info or class_type not in object_info:
        return None
    known, _, _ = declared_inputs(object_info[class_type], values or {})
    return known.get(name)


# --- values -------------------------------------------------------------------------------------


def value_problems(
    where: str, name: str, value: JsonValue, spec: JsonValue, model_folders: Mapping[str, str]
) -> list[str]:
    options = combo_options(spec)
    if options is None:
        return range_problems(where, name, value, spec)
    if options_of(spec).get("remote") or options_of(spec).get("remote_combo"):
        return []
    chosen = value if isinstance(value, list) and options_of(spec).get("multiselect") else [value]
    return [
        _not_a_choice(where, name, item, options, model_folders)
        for item in chosen
        if item not in options
    ]


def _not_a_choice(
    where: str,
    name: str,
    value: JsonValue,
    options: list[JsonValue],
    model_folders: Mapping[str, str],
) -> str:
    shown = ", ".join(map(str, options[:SHOWN_CHOICES])) + (
        " …" if len(options) > SHOWN_CHOICES else ""
    )
    if value in model_folders or is_model_file(value):
        folder = model_folders.get(value)
        where_to = f"download it into models/{folder}" if folder else "put it in its models folder"
        has = f"the server has: {shown}" if options else "the server has none"
        return f"{where}: model file {value!r} ({name}) is not on the server — {where_to}; {has}"
    return f"{where} input {name!r}: {value!r} is not one of the server's choices ({shown})"


def is_model_file(value: JsonValue) -> bool:
    return isinstance(value, str) and value.lower().endswith(MODEL_EXTS)


def range_problems(where: str, name: str, value: JsonValue, spec: JsonValue) -> list[str]:
    if not is_number(value) or server_type(spec) not in ("INT", "FLOAT"):
        return []
    options = options_of(spec)
    low, high = options.get("min"), options.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        return [f"{where} input {name!r}: {value!r} is outside the server's range {low}…{high}"]
    return []


def combo_options(spec: JsonValue) -> list[JsonValue] | None:
    """The choices of a combo input in any object_info dialect; None if not a combo.

    Legacy `[["a", "b"], {…}]`; V3 `["COMBO", {"options": ["a", "b"], …}]`; a DynamicCombo's
    option keys.
    """
    if not isinstance(spec, list | tuple) or not spec:
        return None
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO":
        return list(options_of(spec).get("options") or [])
    if spec[0] == DYNAMIC_COMBO:
        return [o.get("key") for o in options_of(spec).get("options") or [] if isinstance(o, dict)]
    return None


def options_of(spec: JsonValue) -> JsonObject:
    """The options dict of an input spec (`{"default": …, "min": …}`), {} when none."""
    if isinstance(spec, list | tuple) and len(spec) > 1 and isinstance(spec[1], dict):
        return spec[1]
    return {}


def server_type(spec: JsonValue) -> str | None:
    """The type name of an input spec ("INT", "COMBO", …); None for a legacy combo."""
    if isinstance(spec, list | tuple) and spec and isinstance(spec[0], str):
        return spec[0]
    return None


def is_link(value: JsonValue) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    )


def is_number(value: JsonValue) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
