"""The node catalog of the fake server: recorded `/object_info` entries plus hand-written ones.

Every node of the recorded 0.3.64 server is there (object_info_full.json; nodes the fake has no
behaviour for pass their inputs through), overlaid by the recorded subset and the hand-written
extras. The "current" profile reports the newest ComfyUI's view: `deprecated: true` on the old
audio savers, V3 combos (nodes from comfy_extras) as `["COMBO", {"options": [...]}]`, and the
entries of object_info_current.json (nodes only current servers have, or that changed shape).

Loader combos (ckpt_name, unet_name, …) list the model files the server was configured with;
LoadImage/LoadAudio/LoadVideo list the top-level files of the input folder, as the real server.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.json_types import JsonObject, JsonValue

from .profiles import OLD, Profile

DATA = Path(__file__).resolve().parent / "data"

MODEL_FOLDERS = [
    "checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision",
    "style_models", "embeddings", "diffusers", "vae_approx", "controlnet", "gligen",
    "upscale_models", "custom_nodes", "hypernetworks", "photomaker", "classifiers",
    "model_patches", "audio_encoders",
]  # fmt: skip

DEFAULT_MODELS: dict[str, list[str]] = {
    "checkpoints": [
        "ace_step_1.5_turbo_aio.safetensors",
        "ace_step_v1_3.5b.safetensors",
        "flux1-dev-fp8.safetensors",
        "sd_v1-5.safetensors",
        "sd_xl_base_1.0.safetensors",
        "v1-5-pruned-emaonly-fp16.safetensors",
    ],
    "diffusion_models": [
        "flux1-dev.safetensors",
        "wan2.1_t2v_1.3B_fp16.safetensors",
        "wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors",
        "wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors",
    ],
    "text_encoders": [
        "clip_l.safetensors",
        "t5xxl_fp16.safetensors",
        "umt5_xxl_fp8_e4m3fn_scaled.safetensors",
    ],
    "vae": ["ae.safetensors", "wan_2.1_vae.safetensors"],
    "loras": [],
    "clip_vision": ["clip_vision_h.safetensors"],
}

MODEL_INPUTS = {
    ("CheckpointLoaderSimple", "ckpt_name"): "checkpoints",
    ("UNETLoader", "unet_name"): "diffusion_models",
    ("CLIPLoader", "clip_name"): "text_encoders",
    ("DualCLIPLoader", "clip_name1"): "text_encoders",
    ("DualCLIPLoader", "clip_name2"): "text_encoders",
    ("VAELoader", "vae_name"): "vae",
    ("LoraLoader", "lora_name"): "loras",
    ("CLIPVisionLoader", "clip_name"): "clip_vision",
}

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
AUDIO_EXTS = (".wav", ".mp3", ".ogg", ".flac", ".opus", ".m4a", ".aac")
VIDEO_EXTS = (".mp4", ".webm", ".mov", ".mkv", ".avi")
DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"
DEPRECATED_ON_CURRENT = ("SaveAudio", "SaveAudioMP3", "SaveAudioOpus")  # nodes_audio.py
INPUT_FILE_INPUTS = {
    ("LoadImage", "image"): IMAGE_EXTS,
    ("LoadAudio", "audio"): AUDIO_EXTS,
    ("LoadVideo", "file"): VIDEO_EXTS,
}


@dataclass(frozen=True)
class InputSpec:
    """One input of a node class: `kind` is the type string or a V1 option list."""

    name: str
    category: str  # required | optional
    kind: JsonValue
    extra: JsonObject

    @property
    def config(self) -> list[JsonValue]:
        """What the real server reports as `input_config` in validation errors."""
        return [self.kind, self.extra]

    @property
    def options(self) -> list[JsonValue] | None:
        if isinstance(self.kind, list):
            return self.kind
        if self.kind == "COMBO":
            return self.extra.get("options", [])
        return None


@functools.cache
def _read(name: str) -> dict[str, JsonObject]:
    """A data file, read once per process; its `_source` keys stripped. Never mutate."""
    entries = json.loads((DATA / name).read_text())
    return {
        node: {key: value for key, value in entry.items() if key != "_source"}
        for node, entry in entries.items()
    }


@functools.cache
def load_entries(profile_name: str = OLD.name) -> dict[str, JsonObject]:
    """The /object_info entries a profile serves, built once per process. Never mutate."""
    entries = {**_read("object_info_full.json"), **_read("object_info_subset.json")}
    entries.update(_read("object_info_extra.json"))
    if profile_name == OLD.name:
        return entries
    entries = {name: _as_current(name, entry) for name, entry in entries.items()}
    entries.update(_read("object_info_current.json"))
    return entries


def _as_current(name: str, entry: JsonObject) -> JsonObject:
    """An entry as a current server reports it: V3 nodes (comfy_extras) give combos as
    `["COMBO", {..., "options": [...]}]` (comfy_api/latest/_io.py Combo.Input) and the old
    audio savers say `deprecated: true` (server.py@002c3fb9 node_info)."""
    if name in DEPRECATED_ON_CURRENT:
        entry = {**entry, "deprecated": True}
    if not str(entry.get("python_module", "")).startswith("comfy_extras."):
        return entry
    sections = {
        category: {input_name: _v3_combo(spec) for input_name, spec in section.items()}
        if category in ("required", "optional")
        else section
        for category, section in entry["input"].items()
    }
    return {**entry, "input": sections}


def _v3_combo(spec: JsonValue) -> JsonValue:
    if not (isinstance(spec, list) and spec and isinstance(spec[0], list)):
        return spec
    extra = spec[1] if len(spec) > 1 else {}
    return ["COMBO", {**extra, "multiselect": False, "options": spec[0]}]


class Catalog:
    def __init__(self, models: dict[str, list[str]], input_dir: Path, profile: Profile = OLD):
        self.entries = load_entries(profile.name)
        self.profile = profile
        self.models = models
        self.input_dir = input_dir

    def __contains__(self, class_type: object) -> bool:
        return class_type in self.entries

    def entry(self, class_type: str) -> JsonObject:
        """The object_info entry with the live file lists filled into its combos (shared
        when it has none: never mutate)."""
        if not any(key[0] == class_type for key in (*MODEL_INPUTS, *INPUT_FILE_INPUTS)):
            return self.entries[class_type]
        entry = copy.deepcopy(self.entries[class_type])
        for section in entry["input"].values():
            for name, spec in section.items():
                files = self._files_for(class_type, name)
                if files is not None and isinstance(spec, list):
                    _set_options(spec, files)
        return entry

    def object_info(self) -> JsonObject:
        return {name: self.entry(name) for name in self.entries}

    def is_output(self, class_type: str) -> bool:
        return bool(self.entries[class_type].get("output_node"))

    def return_types(self, class_type: str) -> tuple[str, ...]:
        return tuple(self.entries[class_type]["output"])

    def hidden(self, class_type: str) -> dict[str, str]:
        hidden = self.entries[class_type]["input"].get("hidden", {})
        return {name: kind[0] if isinstance(kind, list) else kind for name, kind in hidden.items()}

    def input_specs(self, class_type: str, values: dict | None = None) -> list[InputSpec]:
        """The inputs in declared order. A DynamicCombo is there only when `values` selects
        one of its options, followed by that option's inputs under dotted names (`format`,
        `format.codec`, …): comfy_api/latest/_io.py@04e2a914 DynamicCombo.
        _expand_schema_for_dynamic, so an absent one is never missing and an unknown key
        passes validation."""
        entry = self.entry(class_type)
        return list(_specs(entry["input"], entry.get("input_order", {}), values or {}, ""))

    def _files_for(self, class_type: str, name: str) -> list[str] | None:
        folder = MODEL_INPUTS.get((class_type, name))
        if folder is not None:
            return sorted(self.models.get(folder, []))
        exts = INPUT_FILE_INPUTS.get((class_type, name))
        if exts is None:
            return None
        return sorted(
            p.name for p in self.input_dir.iterdir() if p.is_file() and p.suffix.lower() in exts
        )


def _specs(inputs: dict, order: dict, values: dict, prefix: str) -> Iterator[InputSpec]:
    for category in ("required", "optional"):
        section = inputs.get(category, {})
        for name in order.get(category, list(section)):
            raw = section[name]
            spec = InputSpec(prefix + name, category, raw[0], raw[1] if len(raw) > 1 else {})
            if spec.kind == DYNAMIC_COMBO:
                yield from _selected(spec, values)
            else:
                yield spec


def _selected(spec: InputSpec, values: dict) -> Iterator[InputSpec]:
    if spec.name not in values:
        return
    for option in spec.extra.get("options", []):
        if option.get("key") == values[spec.name]:
            yield from _specs(option.get("inputs", {}), {}, values, spec.name + ".")
            yield spec


def _set_options(spec: list[JsonValue], files: list[str]) -> None:
    if isinstance(spec[0], list):
        spec[0] = files
    elif spec[0] == "COMBO":
        spec[1]["options"] = files
