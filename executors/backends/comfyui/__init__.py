"""The ComfyUI client (HTTP + WebSocket); see client.py."""

from .client import *  # noqa: F403
from .client import (  # noqa: F401
    LOST,
    ComfyClient,
    _Job,
    _Tracker,
    parse_outputs,
)
