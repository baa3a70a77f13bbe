"""One probe per kind of server: each asks what identifies it and returns a Found, or None.

Called on a discovery worker thread with that target's Http; Gone means the target stopped
answering. What identifies each kind: the package docstring.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from core.json_types import JsonObject, JsonValue

from .http import Gone, Http, Reply

MCP_PROTOCOL = "2025-06-18"
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
WANGP = re.compile(r"\bwan\s*2?\s*gp\b", re.IGNORECASE)
WANGP_HEADER = re.compile(r"Wan<SUP[^>]*>GP</SUP>\s*v?([\w.\-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    """One server that answered."""

    kind: str  # one of KINDS
    url: str  # the base URL to put in config (for MCP: the endpoint, ending in /mcp)
    detail: str  # short human text: version, model count, server name
    port: int


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    base: str  # scheme://host:port[/path], no trailing slash
    probes: tuple[str, ...]
    mcp_url: str  # where the mcp probe POSTs


def _probe_comfyui(http: Http, target: Target) -> Found | None:
    """GET /system_stats → {"system": {"comfyui_version"…}, "devices": [{"name"…}]}."""
    stats = http.get(target.base + "/system_stats").json()
    if not (isinstance(stats, dict) and isinstance(stats.get("system"), dict)):
        return None
    if not isinstance(stats.get("devices"), list):
        return None
    version = _text(stats["system"].get("comfyui_version"))
    detail = f"ComfyUI {version}" if version else "ComfyUI"
    devices = [d for d in stats["devices"] if isinstance(d, dict)]
    if devices and _text(devices[0].get("name")):
        detail += " · " + _text(devices[0]["name"]).split(" : ")[0]  # drop the allocator
    return Found("comfyui", target.base, detail, target.port)


def _probe_ollama(http: Http, target: Target) -> Found | None:
    """GET /api/version → {"version"}; else /api/tags alone when there is no OpenAI /v1."""
    version = http.get(target.base + "/api/version").json()
    tags = _ollama_models(http, target)
    if isinstance(version, dict) and _text(version.get("version")):
        detail = f"Ollama {_text(version['version'])}"
        return Found("ollama", target.base, _join(detail, _count(tags, "model")), target.port)
    if tags is None or _openai_models(http, target) is not None:
        return None
    return Found("ollama", target.base, _join("Ollama", _count(tags, "model")), target.port)


def _probe_litellm(http: Http, target: Target) -> Found | None:
    """GET /health/liveliness → "I'm alive!"; /health/readiness → status (and version)."""
    alive = http.get(target.base + "/health/liveliness").json()
    if not (isinstance(alive, str) and "alive" in alive.lower()):
        return None
    ready = http.get(target.base + "/health/readiness").json()
    ready = ready if isinstance(ready, dict) else {}
    version = _text(ready.get("litellm_version"))
    detail = f"LiteLLM proxy {version}" if version else "LiteLLM proxy"
    status = _text(ready.get("status"))
    return Found("litellm_proxy", target.base, _join(detail, status), target.port)


def _probe_openai(http: Http, target: Target) -> Found | None:
    """GET /v1/models → {"data": [...]}; the URL to configure ends in /v1."""
    models = _openai_models(http, target)
    if models is None:
        return None
    detail = _count(models, "model")
    if models:
        detail += ": " + ", ".join(models[:3]) + (", …" if len(models) > 3 else "")
    return Found("openai_compatible", target.base + "/v1", detail, target.port)


def _probe_gradio(http: Http, target: Target) -> Found | None:
    """GET /config → {"version", "components", "title"…}; WanGP's UI is titled "WanGP"."""
    config = http.get(target.base + "/config").json()
    if not (isinstance(config, dict) and _text(config.get("version"))):
        return None
    if not isinstance(config.get("components"), list):
        return None
    gradio = f"Gradio {_text(config['version'])}"
    title, version = _text(config.get("title")), _wangp_version(config)
    if WANGP.search(title) or version:
        name = f"WanGP {version} UI" if version else "WanGP UI"
        hint = "Takeboard uses its MCP server: start WanGP with --mcp"
        return Found("wangp_gradio", target.base, f"{name} ({gradio}); {hint}", target.port)
    detail = gradio if title in ("", "Gradio") else f"{gradio} · {title[:60]}"
    return Found("gradio", target.base, detail, target.port)


def _probe_mcp(http: Http, target: Target) -> Found | None:
    """POST initialize to the MCP endpoint; WanGP's by server name or its wangp_generate tool."""
    reply = _mcp_call(http, target.mcp_url, 1, "initialize", _initialize_params())
    result = _mcp_result(reply, 1) or {}
    info = result.get("serverInfo")
    if not isinstance(info, dict):
        return None
    name, version = _text(info.get("name")), _text(info.get("version"))
    session = reply.headers.get("Mcp-Session-Id", "")
    protocol = _text(result.get("protocolVersion")) or MCP_PROTOCOL
    endpoint = reply.url or target.mcp_url  # where a /mcp ↔ /mcp/ redirect led
    tools = _mcp_tools(http, endpoint, protocol) if not session else None
    if session:  # a stateful server: close the session we opened, list no tools
        _mcp_close(http, endpoint, session, protocol)
    wangp = bool(WANGP.search(name)) or "wangp_generate" in (tools or [])
    label = " ".join(part for part in (name or "MCP server", version) if part)
    detail = _join(label, _count(tools, "tool") if tools is not None else "")
    return Found("wangp_mcp" if wangp else "mcp", target.mcp_url, detail, target.port)


PROBES: dict[str, Callable[[Http, Target], Found | None]] = {
    "comfyui": _probe_comfyui,
    "ollama": _probe_ollama,
    "litellm_proxy": _probe_litellm,
    "openai_compatible": _probe_openai,
    "gradio": _probe_gradio,
    "mcp": _probe_mcp,
}


def unknown(http: Http, target: Target) -> Found | None:
    """Anything that answered HTTP but matched no probe."""
    if not http.spoke:
        return None
    detail = f"HTTP server ({http.server})" if http.server else "HTTP server"
    if http.locked:
        detail += " · asks for credentials (a token?)"
    return Found("unknown_http", target.base, detail, target.port)


# --- probe helpers ------------------------------------------------------------------------------


def _ollama_models(http: Http, target: Target) -> list[str] | None:
    """The model names of GET /api/tags ({"models": [{"name"}]}), or None."""
    tags = http.get(target.base + "/api/tags").json()
    if not (isinstance(tags, dict) and isinstance(tags.get("models"), list)):
        return None
    return [_text(m.get("name")) for m in tags["models"] if isinstance(m, dict)]


def _openai_models(http: Http, target: Target) -> list[str] | None:
    """The model ids of GET /v1/models ({"data": [{"id"}]}), or None."""
    models = http.get(target.base + "/v1/models").json()
    if not (isinstance(models, dict) and isinstance(models.get("data"), list)):
        return None
    return [_text(m.get("id")) for m in models["data"] if isinstance(m, dict)]


def _wangp_version(config: JsonObject) -> str:
    """WanGP's version from its header markdown ("Wan<SUP>GP</SUP> v10.1"), or ""."""
    for component in config["components"][:20]:
        props = component.get("props") if isinstance(component, dict) else None
        value = props.get("value") if isinstance(props, dict) else None
        match = WANGP_HEADER.search(value) if isinstance(value, str) else None
        if match:
            return "v" + match.group(1).removeprefix("v")
    return ""


def _initialize_params() -> JsonObject:
    return {
        "protocolVersion": MCP_PROTOCOL,
        "capabilities": {},
        "clientInfo": {"name": "takeboard-discovery", "version": "1"},
    }


def _mcp_call(
    http: Http, url: str, request_id: int, method: str, params: JsonObject, **headers: str
) -> Reply:
    """POST one JSON-RPC request (redirects followed: /mcp ↔ /mcp/)."""
    message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    return http.request("POST", url, json=message, headers={**MCP_HEADERS, **headers})


def _mcp_result(reply: Reply, request_id: int) -> JsonObject | None:
    """The JSON-RPC result for request_id, from a JSON or an SSE (text/event-stream) answer."""
    if reply.status != 200:
        return None
    if "text/event-stream" in reply.headers.get("Content-Type", ""):
        messages = _sse_messages(reply.body)
    else:
        messages = [reply.json()]
    for message in messages:
        if isinstance(message, dict) and message.get("id") == request_id:
            result = message.get("result")
            return result if isinstance(result, dict) else None
    return None


def _sse_messages(body: bytes) -> list[JsonValue]:
    """The JSON of each `data:` line of an event stream (one-line data, as MCP servers send)."""
    messages = []
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith("data:"):
            try:
                messages.append(json.loads(line[5:].strip()))
            except ValueError:
                continue
    return messages


def _mcp_tools(http: Http, url: str, protocol: str) -> list[str] | None:
    """Tool names by tools/list, for a stateless server (no session); None when refused."""
    headers = {"MCP-Protocol-Version": protocol}
    reply = _mcp_call(http, url, 2, "tools/list", {}, **headers)
    result = _mcp_result(reply, 2)
    if not result or not isinstance(result.get("tools"), list):
        return None
    return [_text(t.get("name")) for t in result["tools"] if isinstance(t, dict)]


def _mcp_close(http: Http, url: str, session: str, protocol: str) -> None:
    """DELETE the session the initialize opened (best effort)."""
    headers = {"Mcp-Session-Id": session, "MCP-Protocol-Version": protocol}
    with contextlib.suppress(Gone):
        http.request("DELETE", url, headers=headers)


def _text(value: JsonValue) -> str:
    return value.strip() if isinstance(value, str) else ""


def _count(items: list[str] | None, noun: str) -> str:
    if items is None:
        return ""
    return f"{len(items)} {noun}" + ("" if len(items) == 1 else "s")


def _join(*parts: str) -> str:
    return " · ".join(part for part in parts if part)
