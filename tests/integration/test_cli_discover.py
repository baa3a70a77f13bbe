"""`backends --discover` through the real CLI: configured servers are probed and marked."""

from __future__ import annotations

import json

from core.config import load_config
from executors.backends import discovery


def test_discover_finds_the_configured_comfyui_and_marks_it(cli, home, comfy_server):
    config = {"comfyui": {"servers": [{"name": "box", "url": comfy_server.url}]}}
    (home / "config.json").write_text(json.dumps(config))
    rows = cli.json("backends", "--discover")
    (row,) = [r for r in rows if r["url"] == comfy_server.url]
    assert row["kind"] == "comfyui" and row["configured"] is True
    assert row["detail"]  # its version and device


def test_discover_probes_configured_remote_hosts_only_with_online_access(ctx, home, monkeypatch):
    servers = [
        {"name": "cloud", "url": "https://gpu.example.invalid"},
        {"name": "lan", "url": "http://192.168.1.20:8188"},
    ]
    (home / "config.json").write_text(json.dumps({"comfyui": {"servers": servers}}))
    asked: list[list[str]] = []
    monkeypatch.setattr(discovery, "discover", lambda urls: asked.append(sorted(urls)) or [])
    for online in (False, True):
        config = load_config(home, env={"TAKEBOARD_ALLOW_ONLINE": str(online)})
        assert ctx.control.discover(config) == []
    offline, online = asked
    assert "http://192.168.1.20:8188" in offline and "https://gpu.example.invalid" not in offline
    assert "https://gpu.example.invalid" in online
