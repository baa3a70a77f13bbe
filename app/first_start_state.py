"""The first start (plain Python, no tkinter): when to show the "no server answers" panel, and
what of a discovery scan can be added."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from executors.control import FoundServer

GENERATOR_KINDS = ("comfyui", "wangp")  # what makes images, songs and video
DEMO_LABEL = "demo, no AI model"
ADDABLE_KINDS = ("comfyui",)  # what the Settings dialog's server list takes


def needs_a_server(states: Iterable[Any]) -> bool:
    """True when no generation server is configured, or every one was asked and none
    answered; False while any answers or one has not been asked yet."""
    generators = [state for state in states if state.kind in GENERATOR_KINDS]
    if any(state.online for state in generators):
        return False
    return all(state.online is False for state in generators)


def addable(found: FoundServer) -> bool:
    """Can the Settings dialog's server list take it (and does it not have it yet)?"""
    return found.kind in ADDABLE_KINDS and not found.configured


def found_text(found: FoundServer) -> str:
    known = " (already in Settings)" if found.configured else ""
    return f"{found.kind} at {found.url} — {found.detail}{known}"


def found_servers(found: Iterable[FoundServer]) -> list[FoundServer]:
    """What a scan found, generation servers first."""
    return sorted(found, key=lambda f: (not f.kind.startswith(GENERATOR_KINDS), f.url))


def server_name(url: str, taken: Iterable[str]) -> str:
    """A free name for a found server: `comfyui-8188`, then `comfyui-8188-2`, …"""
    parts = urlsplit(url)
    base = f"comfyui-{parts.port or parts.hostname or 'server'}"
    names, name, number = set(taken), base, 1
    while name in names:
        number += 1
        name = f"{base}-{number}"
    return name


def scan_summary(found: list[FoundServer]) -> str:
    if not found:
        return (
            "Nothing answered on this machine's usual ports — start ComfyUI (port 8188) or "
            "WanGP with --mcp, then press Find servers again; or add a LAN or cloud address."
        )
    return f"{len(found)} found:"
