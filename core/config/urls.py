"""Server addresses: the check config.json applies, masking for display, and local or not."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from core.errors import ConfigError

LOCAL_SUFFIXES = (".local", ".lan", ".home.arpa", ".localhost")


def mask_url(url: str | None) -> str:
    """`https://abc-comfyui.runcomfy.com/x?y` → `https://****.runcomfy.com`: no host or path."""
    if not url:
        return "-"
    parts = urlsplit(url)
    host = parts.hostname or ""
    labels = host.split(".")
    domain = ".".join(labels[-2:]) if len(labels) > 2 and _ip_address(host) is None else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or 'https'}://****{'.' + domain if domain else ''}{port}"


def is_local_url(url: str) -> bool:
    """Loopback, private LAN or link-local address, localhost or a .local/.lan name."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(LOCAL_SUFFIXES):
        return True
    address = _ip_address(host)
    return address is not None and (
        address.is_loopback or address.is_private or address.is_link_local
    )


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def parse_url(raw: str, where: str) -> tuple[str, str]:
    """(normalised url, host:port), or ConfigError naming `where` (a key path or variable)."""
    url = raw.strip().rstrip("/")
    try:
        parsed = urlsplit(url)
        valid = bool(parsed.hostname) and parsed.port != 0  # .port: ValueError unless 1–65535
    except ValueError:
        valid = False
    if not valid or parsed.scheme not in ("http", "https") or not printable(url):
        raise ConfigError(
            f"{where}: {raw.strip()!r} is not a server address — write it like http://127.0.0.1:8188"
        )
    if parsed.username is not None:
        raise ConfigError(
            f"{where}: credentials do not belong in a URL — put the token in an environment "
            "variable and name it with 'token_env'"
        )
    return url, parsed.netloc


def is_server_url(url: str) -> bool:
    """An http(s)://host[:port] address that config.json would accept."""
    try:
        parse_url(url, "url")
    except ConfigError:
        return False
    return True


def printable(text: str) -> bool:
    return text.isprintable() and " " not in text
