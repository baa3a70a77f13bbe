"""Hugging Face's telemetry, hub lookups and implicit token turned off for this process.

Read by huggingface_hub when it is imported (and GRADIO_ANALYTICS_ENABLED by every Client).
"""

from __future__ import annotations

import os
import sys

QUIET_HUB_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
}
HUB_FLAGS = ("HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "HF_HUB_DISABLE_IMPLICIT_TOKEN")


def quiet_hub_env() -> None:
    """Turn off Hugging Face telemetry, hub lookups and the implicit token for this process.

    Main thread at app start-up, and again right before gradio_client is imported (worker
    thread). The variables only work when set before huggingface_hub is imported; if it was
    imported earlier, its flags are set too so the late import changes nothing."""
    os.environ.update(QUIET_HUB_ENV)
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        for flag in HUB_FLAGS:
            setattr(constants, flag, True)
