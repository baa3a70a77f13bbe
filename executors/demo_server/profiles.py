"""The server versions the fake can be: the recorded 0.3.64 and "current" (0.38.x).

"0.3.64" follows the traces in shared/fixtures/comfyui-real (commit a125cd8, October 2025).
"current" follows the newest Comfy-Org/ComfyUI sources, read file by file:
server.py@002c3fb9, execution.py@04e2a914, comfy_execution/jobs.py@172be438,
comfy_api/feature_flags.py@1924b05e, comfyui_version.py@20ca544e, latent_preview.py@2d619ed9,
comfy_api/latest/_ui.py@255ec426, comfy_extras/nodes_video.py@39b885fa.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.json_types import JsonObject

PROFILES = ("0.3.64", "current")
MAX_UPLOAD_SIZE = 100 * 1024 * 1024


@dataclass(frozen=True)
class Profile:
    """What one server version says about itself; `current` switches the newer behaviour."""

    name: str
    current: bool
    comfyui_version: str
    pytorch_version: str
    required_frontend_version: str
    templates_version: str
    features: JsonObject = field(default_factory=dict)  # /features and WS feature_flags


OLD = Profile(
    name="0.3.64",
    current=False,
    comfyui_version="0.3.64",
    pytorch_version="2.8.0+cu128",
    required_frontend_version="1.27.10",
    templates_version="0.1.95",
    features={"supports_preview_metadata": True, "max_upload_size": MAX_UPLOAD_SIZE},
)

CURRENT = Profile(
    name="current",
    current=True,
    comfyui_version="0.38.1",  # comfyui_version.py@20ca544e
    pytorch_version="2.11.0+cu130",
    required_frontend_version="1.44.7",
    templates_version="0.9.12",
    # comfy_api/feature_flags.py@1924b05e _CORE_FEATURE_FLAGS; "assets" off: the fake has none
    features={
        "supports_preview_metadata": True,
        "supports_model_type_tags": True,
        "max_upload_size": MAX_UPLOAD_SIZE,
        "extension": {"manager": {"supports_v4": True}},
        "node_replacements": True,
        "assets": False,
    },
)

BY_NAME = {OLD.name: OLD, CURRENT.name: CURRENT}


def profile(name: str) -> Profile:
    """The profile called `name` (one of PROFILES)."""
    if name not in BY_NAME:
        raise ValueError(f"unknown fake ComfyUI profile {name!r}; use one of {PROFILES}")
    return BY_NAME[name]
