"""When the first-start panel shows, and what of a discovery scan can be added (no display)."""

from __future__ import annotations

from dataclasses import dataclass

from app.first_start_state import found_servers, needs_a_server, scan_summary, server_name


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
    rows = [
        {
            "kind": "ollama",
            "url": "http://127.0.0.1:11434",
            "detail": "Ollama",
            "configured": False,
        },
        {"kind": "comfyui", "url": "http://127.0.0.1:8188", "detail": "0.3.64", "configured": True},
        {"kind": "comfyui", "url": "http://127.0.0.1:8189", "detail": "0.38", "configured": False},
        {
            "kind": "wangp_mcp",
            "url": "http://127.0.0.1:7866/mcp",
            "detail": "WanGP",
            "configured": False,
        },
    ]
    found = found_servers(rows)
    assert [f.kind for f in found] == ["wangp_mcp", "comfyui", "comfyui", "ollama"]
    assert [f.addable for f in found] == [False, False, True, False]
    assert "already in Settings" in found[1].text()
    assert scan_summary(found) == "4 found:" and "start ComfyUI" in scan_summary([])


def test_server_names_are_free():
    assert server_name("http://127.0.0.1:8188", []) == "comfyui-8188"
    assert server_name("http://127.0.0.1:8188", ["comfyui-8188"]) == "comfyui-8188-2"
    assert server_name("https://gpu.lan", ["x"]) == "comfyui-gpu.lan"
