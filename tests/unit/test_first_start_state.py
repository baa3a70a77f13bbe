"""When the first-start panel shows, and what of a discovery scan can be added (no display)."""

from __future__ import annotations

from dataclasses import dataclass

from app.first_start_state import (
    addable,
    found_servers,
    found_text,
    needs_a_server,
    scan_summary,
    server_name,
)
from executors.control import FoundServer


@dataclass(frozen=True)
class State:
    kind: str
    online: bool | None


def test_shown_only_when_every_generation_server_was_asked_and_none_answered():
    assert needs_a_server([])  # nothing configured
    assert needs_a_server([State("comfyui", False), State("wangp", False)])
    assert needs_a_server([State("comfyui", False), State("command", True)])  # tools make no takes
    assert not needs_a_server([State("comfyui", None)])  # not asked yet: no flash at start
    assert not needs_a_server([State("comfyui", False), State("wangp", True)])


def test_found_servers_put_generators_first_and_only_new_comfyui_is_addable():
    scanned = [
        FoundServer("ollama", "http://127.0.0.1:11434", "Ollama", 11434, False),
        FoundServer("comfyui", "http://127.0.0.1:8188", "0.3.64", 8188, True),
        FoundServer("comfyui", "http://127.0.0.1:8189", "0.38", 8189, False),
        FoundServer("wangp_mcp", "http://127.0.0.1:7866/mcp", "WanGP", 7866, False),
    ]
    found = found_servers(scanned)
    assert [f.kind for f in found] == ["wangp_mcp", "comfyui", "comfyui", "ollama"]
    assert [addable(f) for f in found] == [False, False, True, False]
    assert "already in Settings" in found_text(found[1])
    assert scan_summary(found) == "4 found:" and "start ComfyUI" in scan_summary([])


def test_server_names_are_free():
    assert server_name("http://127.0.0.1:8188", []) == "comfyui-8188"
    assert server_name("http://127.0.0.1:8188", ["comfyui-8188"]) == "comfyui-8188-2"
    assert server_name("https://gpu.lan", ["x"]) == "comfyui-gpu.lan"
