"""The node catalog of the fake server: recorded `/object_info` entries plus hand-written ones.

Loader combos (ckpt_name, unet_name, …) list the model files the server was configured with;
LoadImage/LoadAudio/LoadVideo list the top-level files of the input folder, as the real server.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data"

MODEL_FOLDERS = [
    "checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision",
    "style_models", "embeddings", "diffusers", "vae_approx", "controlnet", "gligen",
    "upscale_models", "custom_nodes", "hypernetworks", "photomaker", "classifiers",
    "model_patches", "audio_encoders",
]  # fmt: skip

DEFAULT_MODELS: dict[str, list[str]] = {
    "checkpoints": [
        "ace_step_v1_3.5b.safetensors",
        "flux1-dev-fp8.safetensors",
        "sd_v1-5.safetensors",
        "sd_xl_base_1.0.safetensors",
        "v1-5-pruned-emaonly-fp16.safetensors",
    ],
    "diffusion_models": ["flux1-dev.safetensors", "wan2.1_t2v_1.3B_fp16.safetensors"],
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
    kind: Any
    extra: dict[str, Any]

    @property
    def config(self) -> list[Any]:
        """What the real server reports as `input_config` in validation errors."""
        return [self.kind, self.extra]

    @property
    def options(self) -> list[Any] | None:
        if isinstance(self.kind, list):
            return self.kind
        if self.kind == "COMBO":
            return self.extra.get("options", [])
        return None


def load_entries() -> dict[str, dict[str, Any]]:
    """Recorded entries plus the hand-written ones (their `_source` key stripped)."""
    entries = json.loads((DATA / "object_info_subset.json").read_text())
    extra = json.loads((DATA / "object_info_extra.json").read_text())
    for name, entry in extra.items():
        entries[name] = {key: value for key, value in entry.items() if key != "_source"}
    return entries


class Catalog:
    def __init__(self, models: dict[str, list[str]], input_dir: Path):
        self.entries = load_entries()
        self.models = models
        self.input_dir = input_dir

    def __contains__(self, class_type: object) -> bool:
        return class_type in self.entries

    def entry(self, class_type: str) -> dict[str, Any]:
        """The object_info entry with the live file lists filled into its combos."""
        entry = copy.deepcopy(self.entries[class_type])
        for section in entry["input"].values():
            for name, spec in section.items():
                files = self._files_for(class_type, name)
                if files is not None and isinstance(spec, list):
                    _set_options(spec, files)
        return entry

    def object_info(self) -> dict[str, Any]:
        return {name: self.entry(name) for name in self.entries}

    def is_output(self, class_type: str) -> bool:
        return bool(self.entries[class_type].get("output_node"))

    def return_types(self, class_type: str) -> tuple[str, ...]:
        return tuple(self.entries[class_type]["output"])

    def hidden(self, class_type: str) -> dict[str, str]:
        hidden = self.entries[class_type]["input"].get("hidden", {})
        return {name: kind[0] if isinstance(kind, list) else kind for name, kind in hidden.items()}

    def input_specs(self, class_type: str) -> list[InputSpec]:
        entry = self.entry(class_type)
        specs = []
        for category in ("required", "optional"):
            for name in entry["input_order"].get(category, []):
                raw = entry["input"][category][name]
                extra = raw[1] if len(raw) > 1 else {}
                specs.append(InputSpec(name, category, raw[0], extra))
        return specs

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


def _set_options(spec: list[Any], files: list[str]) -> None:
    if isinstance(spec[0], list):
        spec[0] = files
    elif spec[0] == "COMBO":
        spec[1]["options"] = files
