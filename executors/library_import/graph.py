"""What an API graph was made with: prompt texts traced back from the sampler, seed, size, model.

A small tracer of its own, written before executors/workflow_import/parameters.py landed (its
trace_text finds the one (node, input) a template fills; this one needs the text itself, joined
across encoders such as SDXL's text_g/text_l and through string nodes). The sampler is the node
nearest the outputs with `positive`/`negative` inputs (or a guider's `conditioning`); its texts
are found by walking each input upstream through conditioning nodes (Reroute,
ConditioningCombine, ControlNet apply, FluxGuidance …) to the first node with a text input.
`ConditioningZeroOut` stands for an empty prompt. Values linked from primitive nodes
(PrimitiveInt/Float/String…, StringConcatenate) are resolved.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from core.json_types import JsonObject, JsonValue
from executors.object_info import is_link

Graph = dict[str, JsonObject]

TEXT_INPUTS = ("text", "text_g", "text_l", "prompt", "clip_l", "t5xxl")
SEED_INPUTS = ("seed", "noise_seed")
MODEL_INPUTS = ("ckpt_name", "unet_name", "model_name", "gguf_name")
SIZE_INPUTS = ("width", "height")
NOT_CONDITIONING = {"clip", "model", "vae", "latent_image", "samples", "pixels", "image", "mask"}
EMPTY_CONDITIONING = {"ConditioningZeroOut"}


@dataclass(frozen=True)
class Traced:
    """The settings read from one graph (None where the graph does not say)."""

    positive: str | None = None
    negative: str | None = None
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    model: str | None = None
    loras: tuple[str, ...] = ()
    frames: int | None = None
    fps: float | None = None
    song: JsonObject = field(default_factory=dict)  # lyrics, tags, duration, bpm, key…


def trace(graph: Graph) -> Traced:
    order = _from_output(graph)
    sampler = next((n for n in order if _is_sampler(_inputs(graph[n]))), None)
    inputs = _inputs(graph[sampler]) if sampler else {}
    positive = inputs.get("positive", inputs.get("conditioning"))
    width, height, frames = _size(graph, order)
    return Traced(
        positive=_text(graph, positive),
        negative=_text(graph, inputs.get("negative")),
        seed=_first_value(graph, [n for n in order if _adds_noise(graph[n])], SEED_INPUTS, int),
        width=width,
        height=height,
        model=_first_value(graph, _upstream(graph, sampler, "model"), MODEL_INPUTS, str)
        if sampler
        else None,
        loras=tuple(_all_values(graph, order, "lora_name")),
        frames=frames,
        fps=_first_value(graph, order, ("fps", "frame_rate"), float),
        song=_song(graph, positive),
    )


def settings_key(graph: Graph, kind: str) -> str:
    """Equal for graphs that differ only in their seeds (and for files of the same kind)."""
    unseeded = json.loads(json.dumps(graph))
    for node in unseeded.values():
        inputs = node.get("inputs") if isinstance(node, dict) else None
        if not isinstance(inputs, dict):
            continue
        for name in SEED_INPUTS:
            linked = inputs.pop(name, None)
            if is_link(linked) and isinstance(unseeded.get(linked[0]), dict):
                unseeded[linked[0]].get("inputs", {}).pop("value", None)
    canonical = json.dumps([kind, unseeded], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_api_graph(graph: JsonValue) -> bool:
    nodes = [node for node in graph.values() if isinstance(node, dict)]
    return bool(nodes) and all("class_type" in node for node in nodes)


# --------------------------------------------------------------------------- walking


def _node(graph: Graph, link: JsonValue) -> tuple[str, JsonObject] | None:
    if not is_link(link):
        return None
    node = graph.get(link[0])
    return (link[0], node) if isinstance(node, dict) else None


def _inputs(node: JsonObject) -> JsonObject:
    inputs = node.get("inputs")
    return inputs if isinstance(inputs, dict) else {}


def _nodes(graph: Graph) -> list[str]:
    return [key for key, node in graph.items() if isinstance(node, dict)]


def _upstream(graph: Graph, start: str, via: str | None = None) -> Iterator[str]:
    """Node ids upstream of `start` (itself first), breadth first; only through input `via`
    at the first step if given."""
    seen, queue = {start}, deque([start])
    while queue:
        current = queue.popleft()
        yield current
        for name, value in _inputs(graph[current]).items():
            found = _node(graph, value)
            if found and found[0] not in seen and (via is None or current != start or name == via):
                seen.add(found[0])
                queue.append(found[0])


def _from_output(graph: Graph) -> list[str]:
    """Node ids upstream of the first output node (SaveImage, SaveAudio…), nearest first; every
    node when there is none."""
    outputs = [n for n in _nodes(graph) if str(graph[n].get("class_type", "")).startswith("Save")]
    return list(_upstream(graph, outputs[0])) if outputs else _nodes(graph)


def _adds_noise(node: JsonObject) -> bool:
    """False for a KSamplerAdvanced pass with add_noise off (its seed is not used)."""
    return _inputs(node).get("add_noise") != "disable"


def _is_sampler(inputs: JsonObject) -> bool:
    """KSampler-like (positive/negative) or a guider with one conditioning and a model."""
    guider = is_link(inputs.get("conditioning")) and is_link(inputs.get("model"))
    return is_link(inputs.get("positive")) or guider


def resolve(graph: Graph, value: JsonValue, depth: int = 0) -> JsonValue:
    """A widget value, following links into primitive and string nodes."""
    found = _node(graph, value)
    if found is None:
        return value
    if depth > 32:
        return None
    inputs = _inputs(found[1])
    if "value" in inputs:
        return resolve(graph, inputs["value"], depth + 1)
    if "string_a" in inputs:
        parts = (resolve(graph, inputs.get(k, ""), depth + 1) for k in ("string_a", "string_b"))
        texts = [p for p in parts if isinstance(p, str)]
        return str(inputs.get("delimiter", "")).join(texts) if texts else None
    links = [v for v in inputs.values() if is_link(v)]
    return resolve(graph, links[0], depth + 1) if len(links) == 1 and len(inputs) == 1 else None


def _first_value(
    graph: Graph, node_ids: JsonValue, names: tuple[str, ...], kind: type
) -> JsonValue:
    for node_id in node_ids:
        inputs = _inputs(graph[node_id])
        for name in names:
            value = resolve(graph, inputs.get(name))
            if isinstance(value, kind) and not isinstance(value, bool):
                return value
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                return float(value)
    return None


def _all_values(graph: Graph, node_ids: list[str], name: str) -> list[str]:
    values = (resolve(graph, _inputs(graph[n]).get(name)) for n in node_ids)
    return [v for v in values if isinstance(v, str) and v]


# --------------------------------------------------------------------------- what it says


def _text(graph: Graph, link: JsonValue) -> str | None:
    """The prompt text behind a conditioning input (texts of several encoders joined)."""
    found = _node(graph, link)
    if found is None:
        return None
    texts: list[str] = []
    seen, queue = {found[0]}, deque([found[0]])
    while queue:
        node = graph[queue.popleft()]
        if node.get("class_type") in EMPTY_CONDITIONING:
            continue
        own = [resolve(graph, _inputs(node).get(name)) for name in TEXT_INPUTS]
        own = [t for t in own if isinstance(t, str)]
        if own or "lyrics" in _inputs(node) or "tags" in _inputs(node):
            texts += [t for t in own if t not in texts]
            continue
        for name, value in _inputs(node).items():
            upstream = _node(graph, value)
            if upstream and name not in NOT_CONDITIONING and upstream[0] not in seen:
                seen.add(upstream[0])
                queue.append(upstream[0])
    return "\n".join(t for t in texts if t.strip()) if texts else ("" if seen else None)


def _size(graph: Graph, order: list[str]) -> tuple[int | None, int | None, int | None]:
    """Width, height (and video length) of the node nearest the output that sets them."""
    for node_id in order:
        inputs = _inputs(graph[node_id])
        width, height = (resolve(graph, inputs.get(name)) for name in SIZE_INPUTS)
        if isinstance(width, int) and isinstance(height, int):
            frames = resolve(graph, inputs.get("length"))
            return width, height, frames if isinstance(frames, int) else None
    return None, None, None


def _song(graph: Graph, link: JsonValue) -> JsonObject:
    """lyrics, tags and the other song fields of the text encoder (ACE-Step) behind `link`."""
    found = _node(graph, link)
    for node_id in _upstream(graph, found[0]) if found else ():
        inputs = _inputs(graph[node_id])
        if "lyrics" in inputs or "tags" in inputs:
            names = ("lyrics", "tags", "duration", "bpm", "keyscale", "timesignature")
            values = {name: resolve(graph, inputs.get(name)) for name in names}
            return {name: value for name, value in values.items() if value is not None}
    return {}
