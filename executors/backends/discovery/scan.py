"""discover(): which servers answer on the usual local ports and at the user's URLs.

How a scan goes (threads, timeouts, budgets): the package docstring.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from types import MappingProxyType
from urllib.parse import urlsplit

from .http import Gone, Http
from .probes import PROBES, Found, Target, unknown

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


def _run_all(targets: list[Target], timeout_s: float) -> list[Found]:
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
    results = [f.result() for f in done if f.exception() is None]
    return [found for found in results if found is not None]


def _finish(found: list[Found]) -> list[Found]:
    """One entry per URL, sorted by port, then kind, then URL."""
    unique: dict[str, Found] = {}
    for item in sorted(found, key=lambda f: (f.port, f.kind, f.url)):
        unique.setdefault(item.url, item)
    return list(unique.values())


def _scan(target: Target, timeout_s: float) -> Found | None:
    """Worker thread: connect, then the target's probes in order; None when nothing answered."""
    if not _accepts(target.host, target.port, timeout_s):
        return None
    http = Http(timeout_s, time.monotonic() + HTTP_BUDGET * timeout_s)
    try:
        for name in target.probes:
            found = PROBES[name](http, target)
            if found is not None:
                return found
    except Gone as exc:
        log.debug("%s stopped answering: %s", target.base, exc)
    except Exception:  # a probe's bug: this target finds nothing more, the scan goes on
        log.exception("probing %s failed", target.base)
    finally:
        http.close()
    return unknown(http, target)


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
) -> list[Target]:
    """The user's URLs first; a default port is skipped where a URL already names it."""
    targets = [t for t in (_url_target(url) for url in extra_urls) if t is not None]
    taken = {(t.host.lower(), t.port) for t in targets}
    for port, kinds in ports.items():
        if (host.lower(), port) not in taken:
            base = f"http://{_netloc(host, port)}"
            targets.append(Target(host, port, base, _probe_names(kinds), base + "/mcp"))
    return targets


def _url_target(url: str) -> Target | None:
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
        return Target(parts.hostname, port, base, ("mcp",), base)
    base = base.removesuffix("/v1")
    return Target(parts.hostname, port, base, PROBE_ORDER, base + "/mcp")


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
