"""Find which generative servers answer: the usual local ports and the user's configured URLs.

    found = discover(["http://192.168.1.20:7866/mcp"])  # a worker thread; a few ms when quiet
    for item in found:
        print(item.kind, item.url, item.detail)  # wangp_mcp http://…:7866/mcp WanGP · 11 tools

How a scan goes:

* One thread pool runs every target at once: each (host, port) of `ports` (DEFAULT_PORTS unless
  given) on `host` (loopback unless given), and each of `extra_urls` as given. Nothing else is
  contacted; proxies from the environment are ignored (`trust_env=False`).
* A target first gets a plain TCP connect (`timeout_s`). Only a port that accepts gets HTTP
  probes, one after another, first match wins, each with a (connect, read) timeout of
  `timeout_s`. A read that times out or a peer that does not speak HTTP ends the target: a
  socket that accepts and never answers costs about 2 × timeout_s. A target's probes together
  get at most HTTP_BUDGET × timeout_s, so a slow-but-answering server is bounded too.
* A probe that fails finds nothing; `discover` raises nothing. A server busier than timeout_s
  to answer is missed: scan again, or pass a larger timeout_s.

What identifies each kind (read from the servers' sources; the tests run real servers where
they can be had here):

* comfyui — GET /system_stats: JSON with "system" and "devices".
* ollama — GET /api/version: JSON {"version": …}; a server with only Ollama's /api/tags counts
  as Ollama only when it does not also serve the OpenAI API (its chat is then /v1, not /api/chat).
* litellm_proxy — GET /health/liveliness: the JSON string "I'm alive!" (LiteLLM's proxy);
  /health/readiness adds the status and, when public, the version.
* openai_compatible — GET /v1/models: JSON with a "data" list (LM Studio, vLLM, llama.cpp…).
* gradio / wangp_gradio — GET /config: JSON with "version" and "components"; a WanGP UI is a
  Gradio app titled "WanGP" (Takeboard drives WanGP through its MCP server, `wgp.py --mcp`).
* mcp / wangp_mcp — POST <base>/mcp with a JSON-RPC `initialize`; a result with serverInfo is
  an MCP server, WanGP's when its name mentions WanGP or (stateless servers only, one more POST)
  its tools include wangp_generate.
* unknown_http — anything else that answered HTTP.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)

KINDS = (
    "comfyui",
    "wangp_mcp",
    "wangp_gradio",
    "gradio",
    "ollama",
    "litellm_proxy",
    "openai_compatible",
    "mcp",
    "unknown_http",
)
PROBE_ORDER = ("comfyui", "ollama", "litellm_proxy", "openai_compatible", "gradio", "mcp")
ALIASES = {"wangp_mcp": "mcp", "wangp_gradio": "gradio"}  # found by the same probe
_GRADIO_APPS = {port: ("gradio", "mcp") for port in range(7860, 7871)}  # 7860 WanGP UI, 7865 RVC

DEFAULT_PORTS: Mapping[int, tuple[str, ...]] = MappingProxyType(
    {
        1234: ("openai_compatible",),  # LM Studio
        4000: ("litellm_proxy", "openai_compatible"),  # LiteLLM proxy
        6969: ("gradio",),  # Applio
        **_GRADIO_APPS,
        7866: ("mcp", "gradio"),  # WanGP's MCP server (wgp.py --mcp … --mcp-port 7866), at /mcp
        8188: ("comfyui",),  # ComfyUI
        8189: ("comfyui",),  # a second ComfyUI, or a proxy in front of one (a free connect)
        11434: ("ollama", "openai_compatible"),  # Ollama
    }
)

HTTP_BUDGET = 4  # a target's HTTP probes together: at most this many × timeout_s
MAX_BODY = 32 * 1024 * 1024  # a WanGP /config is large; nothing we read is larger
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
class _Target:
    host: str
    port: int
    base: str  # scheme://host:port[/path], no trailing slash
    probes: tuple[str, ...]
    mcp_url: str  # where the mcp probe POSTs


class _Gone(Exception):
    """The target stopped answering (timeout, reset, not HTTP, budget spent): probe no more."""


@dataclass
class _Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str  # after redirects

    def json(self) -> Any:
        """The body as JSON when the status is 200, else None."""
        if self.status != 200:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class _Http:
    """HTTP for one target, used by one worker thread: a session, a deadline, what it heard."""

    timeout_s: float
    deadline: float
    session: requests.Session = field(default_factory=requests.Session)
    spoke: bool = False  # some request got an HTTP answer
    server: str = ""  # the Server header of the last answer
    locked: bool = False  # some request was answered 401 or 403

    def __post_init__(self) -> None:
        self.session.trust_env = False  # no proxies, no .netrc: only the target is contacted

    def get(self, url: str) -> _Reply:
        return self.request("GET", url)

    def request(self, method: str, url: str, **kwargs: Any) -> _Reply:
        """One request; raises _Gone when the target did not answer HTTP in time."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _Gone("budget spent")
        timeout = (min(self.timeout_s, left), min(self.timeout_s, left))
        try:
            with self.session.request(method, url, timeout=timeout, stream=True, **kwargs) as r:
                body = _read_body(r, self.deadline)
        except requests.RequestException as exc:  # timeout, refused, reset, not HTTP
            raise _Gone(str(exc)) from exc
        self.spoke = True
        self.server = r.headers.get("Server", "")
        self.locked = self.locked or r.status_code in (401, 403)
        return _Reply(r.status_code, r.headers, body, r.url)

    def close(self) -> None:
        self.session.close()


def _read_body(response: requests.Response, deadline: float) -> bytes:
    """The body, up to MAX_BODY and the deadline; what arrived when either is reached."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY or time.monotonic() >= deadline:
            break
    return b"".join(chunks)


# --- the scan -----------------------------------------------------------------------------------


def discover(
    extra_urls: Iterable[str] = (),
    *,
    host: str = "127.0.0.1",
    ports: Mapping[int, tuple[str, ...]] | None = None,
    timeout_s: float = 0.25,
) -> list[Found]:
    """Every server that answers, sorted by port then kind; an empty list when none does.

    Any worker thread (never the Tk thread): blocks about 2 × timeout_s when a port accepts
    and never answers, a few ms when nothing listens (refused connects are instant on
    loopback), at most about (1 + HTTP_BUDGET) × timeout_s for a slow server, and never more
    than that plus 1 s: a target still running then (a hostname whose DNS hangs) is dropped.
    Raises nothing.
    """
    try:
        targets = _targets(extra_urls, host, DEFAULT_PORTS if ports is None else ports)
        return _finish(_run_all(targets, timeout_s))
    except Exception:  # a bug here must not break the caller's scan button
        log.exception("server discovery failed")
        return []


def _run_all(targets: list[_Target], timeout_s: float) -> list[Found]:
    """Scan every target at once in one pool; a target still running at the end is dropped."""
    if not targets:
        return []
    limit = timeout_s * (1 + HTTP_BUDGET) + 1.0  # slack for thread start-up and DNS
    pool = ThreadPoolExecutor(max_workers=min(64, len(targets)), thread_name_prefix="discover")
    try:
        futures = [pool.submit(_scan, target, timeout_s) for target in targets]
        done, _ = wait(futures, timeout=limit)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return [f.result() for f in done if f.exception() is None and f.result() is not None]


def _finish(found: list[Found]) -> list[Found]:
    """One entry per URL, sorted by port, then kind, then URL."""
    unique: dict[str, Found] = {}
    for item in sorted(found, key=lambda f: (f.port, f.kind, f.url)):
        unique.setdefault(item.url, item)
    return list(unique.values())


def _scan(target: _Target, timeout_s: float) -> Found | None:
    """Worker thread: connect, then the target's probes in order; None when nothing answered."""
    if not _accepts(target.host, target.port, timeout_s):
        return None
    http = _Http(timeout_s, time.monotonic() + HTTP_BUDGET * timeout_s)
    try:
        for name in target.probes:
            found = PROBES[name](http, target)
            if found is not None:
                return found
    except _Gone as exc:
        log.debug("%s stopped answering: %s", target.base, exc)
    except Exception:  # a probe's bug: this target finds nothing more, the scan goes on
        log.exception("probing %s failed", target.base)
    finally:
        http.close()
    return _unknown(http, target)


def _accepts(host: str, port: int, timeout_s: float) -> bool:
    """True when a TCP connect to (host, port) succeeds within timeout_s."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


# --- targets ------------------------------------------------------------------------------------


def _targets(
    extra_urls: Iterable[str], host: str, ports: Mapping[int, tuple[str, ...]]
) -> list[_Target]:
    """The user's URLs first; a default port is skipped where a URL already names it."""
    targets = [t for t in (_url_target(url) for url in extra_urls) if t is not None]
    taken = {(t.host.lower(), t.port) for t in targets}
    for port, kinds in ports.items():
        if (host.lower(), port) not in taken:
            base = f"http://{_netloc(host, port)}"
            targets.append(_Target(host, port, base, _probe_names(kinds), base + "/mcp"))
    return targets


def _url_target(url: str) -> _Target | None:
    """A configured URL as a target: every probe, or only MCP when it ends in /mcp."""
    try:
        parts = urlsplit(str(url).strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        log.warning("not a URL, skipped: %r", url)
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        log.warning("not an http(s) URL, skipped: %r", url)
        return None
    path = parts.path.rstrip("/")
    netloc = _netloc(parts.hostname, port) if parts.port else _netloc(parts.hostname, None)
    base = f"{parts.scheme}://{netloc}{path}"
    if path.endswith("/mcp"):
        return _Target(parts.hostname, port, base, ("mcp",), base)
    base = base.removesuffix("/v1")
    return _Target(parts.hostname, port, base, PROBE_ORDER, base + "/mcp")


def _probe_names(kinds: Iterable[str]) -> tuple[str, ...]:
    """The probes for a port's kinds, in order, each once; unknown names are skipped."""
    names: list[str] = []
    for kind in kinds:
        name = ALIASES.get(kind, kind)
        if name not in PROBE_ORDER:
            if kind != "unknown_http":  # always the fallback anyway
                log.warning("no probe for kind %r, skipped", kind)
            continue
        if name not in names:
            names.append(name)
    return tuple(names)


def _netloc(host: str, port: int | None) -> str:
    """host:port, an IPv6 address in brackets; no port when None."""
    name = f"[{host}]" if ":" in host else host
    return name if port is None else f"{name}:{port}"


# --- probes: each returns a Found or None; _Gone means the target stopped answering -----------


def _probe_comfyui(http: _Http, target: _Target) -> Found | None:
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


def _probe_ollama(http: _Http, target: _Target) -> Found | None:
    """GET /api/version → {"version"}; else /api/tags alone when there is no OpenAI /v1."""
    version = http.get(target.base + "/api/version").json()
    tags = _ollama_models(http, target)
    if isinstance(version, dict) and _text(version.get("version")):
        detail = f"Ollama {_text(version['version'])}"
        return Found("ollama", target.base, _join(detail, _count(tags, "model")), target.port)
    if tags is None or _openai_models(http, target) is not None:
        return None
    return Found("ollama", target.base, _join("Ollama", _count(tags, "model")), target.port)


def _probe_litellm(http: _Http, target: _Target) -> Found | None:
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


def _probe_openai(http: _Http, target: _Target) -> Found | None:
    """GET /v1/models → {"data": [...]}; the URL to configure ends in /v1."""
    models = _openai_models(http, target)
    if models is None:
        return None
    detail = _count(models, "model")
    if models:
        detail += ": " + ", ".join(models[:3]) + (", …" if len(models) > 3 else "")
    return Found("openai_compatible", target.base + "/v1", detail, target.port)


def _probe_gradio(http: _Http, target: _Target) -> Found | None:
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


def _probe_mcp(http: _Http, target: _Target) -> Found | None:
    """POST initialize to the MCP endpoint; WanGP's by server name or its wangp_generate tool."""
    reply = _mcp_call(http, target.mcp_url, 1, "initialize", _initialize_params())
    result = _mcp_result(reply, 1)
    info = result.get("serverInfo") if result else None
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


PROBES: dict[str, Callable[[_Http, _Target], Found | None]] = {
    "comfyui": _probe_comfyui,
    "ollama": _probe_ollama,
    "litellm_proxy": _probe_litellm,
    "openai_compatible": _probe_openai,
    "gradio": _probe_gradio,
    "mcp": _probe_mcp,
}


def _unknown(http: _Http, target: _Target) -> Found | None:
    """Anything that answered HTTP but matched no probe."""
    if not http.spoke:
        return None
    detail = f"HTTP server ({http.server})" if http.server else "HTTP server"
    if http.locked:
        detail += " · asks for credentials (a token?)"
    return Found("unknown_http", target.base, detail, target.port)


# --- probe helpers ------------------------------------------------------------------------------


def _ollama_models(http: _Http, target: _Target) -> list[str] | None:
    """The model names of GET /api/tags ({"models": [{"name"}]}), or None."""
    tags = http.get(target.base + "/api/tags").json()
    if not (isinstance(tags, dict) and isinstance(tags.get("models"), list)):
        return None
    return [_text(m.get("name")) for m in tags["models"] if isinstance(m, dict)]


def _openai_models(http: _Http, target: _Target) -> list[str] | None:
    """The model ids of GET /v1/models ({"data": [{"id"}]}), or None."""
    models = http.get(target.base + "/v1/models").json()
    if not (isinstance(models, dict) and isinstance(models.get("data"), list)):
        return None
    return [_text(m.get("id")) for m in models["data"] if isinstance(m, dict)]


def _wangp_version(config: dict[str, Any]) -> str:
    """WanGP's version from its header markdown ("Wan<SUP>GP</SUP> v10.1"), or ""."""
    for component in config["components"][:20]:
        props = component.get("props") if isinstance(component, dict) else None
        value = props.get("value") if isinstance(props, dict) else None
        match = WANGP_HEADER.search(value) if isinstance(value, str) else None
        if match:
            return "v" + match.group(1).removeprefix("v")
    return ""


def _initialize_params() -> dict[str, Any]:
    return {
        "protocolVersion": MCP_PROTOCOL,
        "capabilities": {},
        "clientInfo": {"name": "takeboard-discovery", "version": "1"},
    }


def _mcp_call(
    http: _Http, url: str, request_id: int, method: str, params: dict[str, Any], **headers: str
) -> _Reply:
    """POST one JSON-RPC request (redirects followed: /mcp ↔ /mcp/)."""
    message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    return http.request("POST", url, json=message, headers={**MCP_HEADERS, **headers})


def _mcp_result(reply: _Reply, request_id: int) -> dict[str, Any] | None:
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


def _sse_messages(body: bytes) -> list[Any]:
    """The JSON of each `data:` line of an event stream (one-line data, as MCP servers send)."""
    messages = []
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith("data:"):
            try:
                messages.append(json.loads(line[5:].strip()))
            except ValueError:
                continue
    return messages


def _mcp_tools(http: _Http, url: str, protocol: str) -> list[str] | None:
    """Tool names by tools/list, for a stateless server (no session); None when refused."""
    headers = {"MCP-Protocol-Version": protocol}
    reply = _mcp_call(http, url, 2, "tools/list", {}, **headers)
    result = _mcp_result(reply, 2)
    if not result or not isinstance(result.get("tools"), list):
        return None
    return [_text(t.get("name")) for t in result["tools"] if isinstance(t, dict)]


def _mcp_close(http: _Http, url: str, session: str, protocol: str) -> None:
    """DELETE the session the initialize opened (best effort)."""
    headers = {"Mcp-Session-Id": session, "MCP-Protocol-Version": protocol}
    with contextlib.suppress(_Gone):
        http.request("DELETE", url, headers=headers)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _count(items: list[Any] | None, noun: str) -> str:
    if items is None:
        return ""
    return f"{len(items)} {noun}" + ("" if len(items) == 1 else "s")


def _join(*parts: str) -> str:
    return " · ".join(part for part in parts if part)
