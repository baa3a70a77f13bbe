"""What the fake "machine" looks like (kept across restarts) and its /system_stats answer."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from core.json_types import JsonObject

from .profiles import OLD, Profile
from .replacements import NodeReplace


@dataclass
class Config:
    dirs: dict[str, Path]
    models: dict[str, list[str]]
    host: str = "127.0.0.1"
    port: int = 0
    device_name: str = "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync"
    device_type: str | None = None  # None: "cpu" for a cpu device_name, else "cuda"
    vram_total: int = 25_386_352_640
    vram_free: int = 24_012_111_872
    ram_total: int = 67_280_031_744
    ram_free: int = 60_129_542_144
    extra_devices: list[JsonObject] = field(default_factory=list)  # current profile only
    argv: list[str] = field(default_factory=list)
    profile: Profile = OLD
    replacements: dict[str, list[NodeReplace]] = field(default_factory=dict)  # current only


def primary_device(c: Config) -> JsonObject:
    kind = c.device_type or ("cpu" if c.device_name == "cpu" else "cuda")
    return {
        "name": c.device_name,
        "type": kind,
        "index": None if kind in ("cpu", "mps") else 0,  # torch.device("mps").index is None
        "vram_total": c.vram_total,
        "vram_free": c.vram_free,
        "torch_vram_total": c.vram_total,
        "torch_vram_free": c.vram_free,
    }


def system_stats(c: Config) -> JsonObject:
    """0.3.64 as recorded; current as server.py@002c3fb9 system_stats: every device with the
    primary first, `comfy_package_versions`, `deploy_environment`, `os` = sys.platform."""
    p = c.profile
    system: JsonObject = {
        "os": sys.platform if p.current else os.name,
        "ram_total": c.ram_total,
        "ram_free": c.ram_free,
        "comfyui_version": p.comfyui_version,
        "required_frontend_version": p.required_frontend_version,
        "installed_templates_version": p.templates_version,
        "required_templates_version": p.templates_version,
        "python_version": sys.version,
        "pytorch_version": p.pytorch_version,
        "embedded_python": False,
        "argv": c.argv or ["main.py", "--listen", c.host, "--port", str(c.port)],
    }
    devices = [primary_device(c)]
    if p.current:
        system["comfy_package_versions"] = package_versions(p)
        system["deploy_environment"] = "local-git"  # comfy/deploy_environment.py default
        devices += c.extra_devices
    return {"system": system, "devices": devices}


def package_versions(p: Profile) -> list[dict[str, str]]:
    """app/frontend_management.py get_comfy_package_versions: comfy* requirements."""
    pins = {
        "comfyui-frontend-package": p.required_frontend_version,
        "comfyui-workflow-templates": p.templates_version,
        "comfyui-embedded-docs": "0.4.3",
    }
    return [{"name": n, "installed": v, "required": v} for n, v in pins.items()]
