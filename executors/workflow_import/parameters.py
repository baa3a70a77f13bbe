"""Which values of an imported graph become a template's parameters, and their names.

In this order: the inputs the workflow's author exposed in ComfyUI's App Mode
(`extra.linearData.inputs`: `[node id, widget name, config?]`); the parameter nodes of Krita AI
Diffusion and SwarmUI (markers.py); otherwise the usual ones, found from the graph's links (the
prompt texts traced back from the sampler's positive/negative inputs, never guessed from
titles). Names are Takeboard's prompt fields where the value is one (prompt, negative_prompt,
seed, width, height, frames, fps, lyrics, tags, duration_s, …). Every other widget value becomes
an `advanced` parameter typed from /object_info.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from core.json_types import JsonObject, JsonValue
from executors.object_info import (
    combo_options,
    input_spec,
    is_link,
    is_model_file,
    options_of,
    server_type,
)
from executors.workflow_import.markers import Marked, slug

Graph = JsonObject
Spot = tuple[str, str]  # (node id, input name)

SAMPLER_SETTINGS = {"steps": "steps", "cfg": "cfg", "denoise": "denoise",
                    "sampler_name": "sampler", "scheduler": "scheduler"}  # fmt: skip
SIZE_SETTINGS = {"width": "width", "height": "height", "batch_size": "batch_size",
                 "length": "frames", "num_frames": "frames", "frames": "frames", "fps": "fps",
                 "frame_rate": "fps"}  # fmt: skip
SONG_SETTINGS = {"lyrics": "lyrics", "tags": "tags", "seconds": "duration_s",
                 "duration": "duration_s", "bpm": "tempo", "keyscale": "key",
                 "timesignature": "time_signature", "language": "language"}  # fmt: skip
SEED_INPUTS = ("seed", "noise_seed")
TEXT_INPUTS = ("text", "prompt", "value", "string", "text_g", "t5xxl", "clip_l", "tags")
COND_INPUTS = ("conditioning", "conditioning_1", "conditioning_to", "cond", "guider")
MODEL_NAMES = {"ckpt_name": "checkpoint", "unet_name": "unet", "lora_name": "lora",
               "vae_name": "vae", "clip_name": "text_encoder"}  # fmt: skip
FILE_INPUTS = {("LoadImage", "image"), ("LoadAudio", "audio"), ("LoadVideo", "file"),
               ("LoadImageMask", "image")}  # fmt: skip
FILE_NAMES = {"image": ("reference_image", "image"), "video": ("start_image", "image"),
              "audio": ("source_audio", "audio")}  # fmt: skip
SERVER_TYPES = {"INT": "int", "FLOAT": "float", "STRING": "string", "BOOLEAN": "bool"}


def claim(
    graph: Graph,
    object_info: Mapping[str, JsonValue],
    kind: str,
    app_inputs: list[JsonValue] | None = None,
    marked: list[Marked] | None = None,
) -> dict[str, JsonObject]:
    """Parameter name → template.json parameter entry."""
    roles = dict(usual_roles(graph, kind))
    chosen: dict[str, Spot] = {}
    bounds: dict[str, Marked] = {}
    if app_inputs:
        for spot in _app_spots(graph, app_inputs):
            chosen[roles.get(spot) or _unique(slug(spot[1]), chosen)] = spot
    elif marked:
        for mark in marked:
            spot = (mark.node_id, mark.input_name)
            name = roles.get(spot) or _unique(mark.name, chosen)
            chosen[name], bounds[name] = spot, mark
    else:
        chosen = {name: spot for spot, name in roles.items()}
    parameters = {
        name: param
        for name, spot in chosen.items()
        if (param := entry(graph, object_info, spot)) is not None
    }
    for name, mark in bounds.items():  # a marker's range, when it sets one (Krita's is 0…0)
        low, high = mark.minimum, mark.maximum
        ranged = low is not None and high is not None and low < high
        if ranged and name in parameters and parameters[name]["type"] == "direct":
            parameters[name].update({"min": low, "max": high})
    taken = {p["target"] for p in parameters.values()}
    for spot in _widget_spots(graph):
        param = entry(graph, object_info, spot)
        if param is not None and param["target"] not in taken:
            name = _unique(_advanced_name(graph, spot), parameters)
            parameters[name] = {**param, "advanced": True}
    return parameters


# --- what each value is ---------------------------------------------------------------------------


def usual_roles(graph: Graph, kind: str) -> Iterator[tuple[Spot, str]]:
    """(node id, input) → Takeboard name, for the values a user usually sets (first wins)."""
    names: set[str] = set()
    spots: set[Spot] = set()
    for spot, name in _roles(graph, kind):
        if name not in names and spot not in spots:
            names.add(name)
            spots.add(spot)
            yield spot, name


def _roles(graph: Graph, kind: str) -> Iterator[tuple[Spot, str]]:
    for node_id in _samplers(graph):
        for side, name in (("positive", "prompt"), ("negative", "negative_prompt")):
            spot = trace_text(graph, graph[node_id]["inputs"].get(side), side)
            if spot is not None:
                yield spot, SONG_SETTINGS.get(spot[1], name)  # a song's text is its tags
    for node_id, node in graph.items():
        for input_name, value in node["inputs"].items():
            setting = _setting_name(node, input_name, value)
            if setting:
                yield (node_id, input_name), setting
    files = iter(FILE_NAMES.get(kind, ("file", "file")))
    for node_id, node in graph.items():
        for input_name in node["inputs"]:
            if (node["class_type"], input_name) in FILE_INPUTS:
                yield (node_id, input_name), next(files, f"{input_name}_{node_id}")


def _setting_name(node: JsonObject, input_name: str, value: JsonValue) -> str | None:
    if is_link(value) or isinstance(value, dict | list):
        return None
    if input_name in SEED_INPUTS and isinstance(value, int):
        return "seed"
    if is_model_file(value):
        return MODEL_NAMES.get(input_name, slug(input_name.removesuffix("_name")))
    for table in (SAMPLER_SETTINGS, SIZE_SETTINGS, SONG_SETTINGS):
        if input_name in table and _is_sampler_like(node, table):
            return table[input_name]
    return None


def _is_sampler_like(node: JsonObject, table: Mapping[str, str]) -> bool:
    if table is SAMPLER_SETTINGS:
        words = ("sampler", "guider", "scheduler")
        return any(w in node["class_type"].lower() for w in words) or "steps" in node["inputs"]
    return True


def _samplers(graph: Graph) -> list[str]:
    return [nid for nid, n in graph.items() if is_link(n["inputs"].get("positive"))]


def trace_text(graph: Graph, source: JsonValue, side: str, depth: int = 0) -> Spot | None:
    """The (node, input) holding the text that ends up in a sampler's `side` conditioning,
    following links back through conditioning nodes, reroutes and string nodes."""
    if not is_link(source) or source[0] not in graph or depth > 12:
        return None
    node_id = source[0]
    if "ZeroOut" in graph[node_id]["class_type"]:  # an empty conditioning: no text
        return None
    inputs = graph[node_id]["inputs"]
    for name in TEXT_INPUTS:
        if isinstance(inputs.get(name), str):
            return node_id, name
    for name in (side, *COND_INPUTS, *TEXT_INPUTS):
        found = trace_text(graph, inputs.get(name), side, depth + 1)
        if found is not None:
            return found
    return None


# --- template entries -----------------------------------------------------------------------------


def entry(graph: Graph, object_info: Mapping[str, JsonValue], spot: Spot) -> dict | None:
    """The template.json entry for the value at `spot`; None if it cannot be a parameter."""
    node_id, input_name = spot
    node = graph.get(node_id)
    if node is None or input_name not in node["inputs"]:
        return None
    value = node["inputs"][input_name]
    if is_link(value) or value is None or isinstance(value, dict | list):
        return None
    target = f"{node_id}.{input_name}"
    spec = input_spec(object_info, node["class_type"], input_name, node["inputs"])
    if (node["class_type"], input_name) in FILE_INPUTS:
        return {"target": target, "type": "file_upload"}
    if input_name in SEED_INPUTS and isinstance(value, int) and not isinstance(value, bool):
        return {"target": target, "type": "seed"}
    options = combo_options(spec)
    if options is not None and isinstance(value, str):
        return _lookup(target, value, options)
    return _direct(target, value, spec)


def _lookup(target: str, value: str, options: list[JsonValue]) -> JsonObject:
    choices = [o for o in options if isinstance(o, str)]
    table = {o: o for o in [*choices, *([] if value in choices else [value])]}
    return {"target": target, "type": "lookup", "lookup_table": table, "default": value}


def _direct(target: str, value: JsonValue, spec: JsonValue) -> JsonObject:
    result: JsonObject = {"target": target, "type": "direct"}
    value_type = SERVER_TYPES.get(server_type(spec) or "")
    if value_type == "float" and isinstance(value, int) and not isinstance(value, bool):
        result["value_type"] = "float"
    if value_type in ("int", "float"):
        options = options_of(spec)
        for key in ("min", "max"):
            if isinstance(options.get(key), int | float):
                result[key] = options[key]
    return result


def _widget_spots(graph: Graph) -> Iterator[Spot]:
    for node_id, node in graph.items():
        for input_name, value in node["inputs"].items():
            if not is_link(value) and isinstance(value, str | int | float | bool):
                yield node_id, input_name


def _app_spots(graph: Graph, app_inputs: list[JsonValue]) -> Iterator[Spot]:
    """App Mode's `[node id, widget name, …]` entries as (node id, input) of the API graph;
    a widget promoted from a subgraph, or one inside it, is found on the inner node."""
    for item in app_inputs:
        if not (isinstance(item, list) and len(item) >= 2 and isinstance(item[1], str)):
            continue
        node_id, name = str(item[0]), item[1]
        if node_id in graph and name in graph[node_id]["inputs"]:
            yield node_id, name
            continue
        inner = [n for n in graph if n.startswith(f"{node_id}:") or n.endswith(f":{node_id}")]
        yield from [(nid, name) for nid in inner if name in graph[nid]["inputs"]][:1]


def _advanced_name(graph: Graph, spot: Spot) -> str:
    node = graph[spot[0]]
    meta = node.get("_meta")
    title = meta.get("title") if isinstance(meta, dict) else None
    title = title if isinstance(title, str) and title else node["class_type"]
    return slug(f"{title} {spot[1]}")


def _unique(name: str, taken: Mapping[str, JsonValue]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    return candidate
