"""What a loaded template is: the records, the names a template may use, value types."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from core.errors import InputError, TemplateError
from core.json_types import JsonObject, JsonValue
from executors.object_info import is_number

QUALITIES = ("low", "standard", "high", "premium")
KINDS = ("image", "audio", "video")
PARAM_TYPES = ("direct", "seed", "lookup", "file_upload")
VALUE_TYPES = ("int", "float", "string", "bool")
SEED_MAX = 2**32 - 1
DEFAULT_FUNCTIONS = {"image": "create_image", "audio": "create_audio", "video": "create_video"}
REQUEST_NODE = "request"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# An API-format graph: node id -> {"class_type": …, "inputs": {…}, "_meta": {…}}
Graph: TypeAlias = dict[str, JsonObject]
# A server's GET /object_info: class name -> its declaration
ObjectInfo: TypeAlias = Mapping[str, JsonValue]


class BrokenTemplate(TemplateError):
    """A template that failed validation; unpacks as `(path, reason)`."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __iter__(self) -> Iterator[Path | str]:
        return iter((self.path, self.reason))


class Invalid(Exception):
    """Package-internal: one validation failure; becomes a BrokenTemplate with the file path."""

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
    default: JsonValue = None
    description: str = ""
    value_type: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    lookup_table: Mapping[str, JsonValue] = field(default_factory=dict)
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
    workflow: Graph = field(repr=False)
    parameters: dict[str, ParamSpec] = field(repr=False)
    quality_parameters: JsonObject = field(default_factory=dict)
    vram_gb: float | None = None
    timeout_s: float | None = None
    models: tuple[ModelFile, ...] = field(default=(), repr=False)
    backend: str = "comfyui"
    servers: tuple[str, ...] = ()  # pool members that may run it; () = any of its backend
    call: JsonObject = field(default_factory=dict)  # backend options (api_name, output)
    fallbacks: dict[str, list[JsonObject]] = field(default_factory=dict, repr=False)
    requires_comfyui: str = ""  # the ComfyUI versions it needs, e.g. ">=0.11.1"

    @property
    def name(self) -> str:
        return f"{self.function}/{self.quality}"

    def request(self, graph: Graph) -> JsonObject:
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
    schema: JsonObject
    backend: str = "comfyui"
    requires: JsonObject = field(default_factory=dict)  # {"comfyui": ">=…", "models": […]}


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
    graph: Graph
    values_used: JsonObject
    seed: int | None


def run_facts(resolution: Resolution, rendered: Rendered) -> JsonObject:
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


def type_of(value: JsonValue) -> str | None:
    """The value type (one of VALUE_TYPES) of a JSON scalar; None for anything else."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return None


def fits(value: JsonValue, value_type: str | None) -> bool:
    """True when `value` can stand where a value of `value_type` is expected."""
    if value_type is None:
        return True
    if value_type == "float":
        return is_number(value)
    return type_of(value) == value_type
