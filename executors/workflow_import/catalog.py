"""Where an import gets its /object_info: the named (or a known) server's cached copy, else
the shipped catalog of core nodes (ComfyUI 0.3.64, recorded from a real server).

The cache holds the /object_info each ComfyUI server last sent, one file per server name under
`<home>/cache/object_info/`, so a UI-format workflow imports with no server running. The job
executor writes it when a client first fetches a server's object_info (on the worker thread);
`functions --json` reads it for its per-server warnings.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from core import atomic
from core.config import ServerConfig, TimeoutConfig
from core.errors import AppError
from core.json_types import JsonObject, JsonValue

log = logging.getLogger(__name__)

CORE_CATALOG = "object_info_core.json"
CORE_NOTE = (
    "checked against the shipped catalog of core nodes (ComfyUI 0.3.64), model files not "
    "checked; run a job on your server once, then import again to check its nodes and models"
)
CORE_WARNING = f"no cached /object_info of a server — {CORE_NOTE}"


@dataclass(frozen=True)
class ObjectInfo:
    """An /object_info and whose it is (server None: the shipped core catalog)."""

    nodes: Mapping[str, JsonValue]
    server: str | None
    warning: str = ""


class ObjectInfoCache:
    def __init__(self, home: Path | str):
        self.folder = Path(home) / "cache" / "object_info"

    def path(self, server: str) -> Path:
        return self.folder / f"{_file_name(server)}.json"

    def replacements_path(self, server: str) -> Path:
        return self.folder / f"{_file_name(server)}.replacements.json"

    def save(
        self,
        server: str,
        object_info: Mapping[str, JsonValue],
        replacements: Mapping[str, JsonValue] | None = None,
    ) -> None:
        """Replace the server's cached copies atomically (a crash leaves the old ones): its
        /object_info and its /node_replacements ({} for a server without them)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic.write_text(self.replacements_path(server), json.dumps(replacements or {}))
        atomic.write_text(self.path(server), json.dumps(object_info))

    def load(self, server: str) -> JsonObject | None:
        return _read_json(self.path(server))

    def load_replacements(self, servers: Iterable[str]) -> dict[str, JsonObject]:
        """The cached /node_replacements of each of `servers` that has some, by name."""
        found = {name: _read_json(self.replacements_path(name)) for name in servers}
        return {name: data for name, data in found.items() if data}

    def seen(self, servers: Iterable[str]) -> Seen:
        """What the cache holds of `servers`: their object_info and node replacements."""
        names = list(servers)
        return Seen(self.load_all(names), self.load_replacements(names))

    def load_all(self, servers: Iterable[str]) -> dict[str, JsonObject]:
        """The cached object_info of each of `servers` that has one, by name."""
        found = {name: self.load(name) for name in servers}
        return {name: info for name, info in found.items() if info is not None}


@dataclass(frozen=True)
class Seen:
    """The servers' cached /object_info and /node_replacements, by server name."""

    infos: dict[str, JsonObject]
    replacements: dict[str, JsonObject]


class SeenObjectInfo:
    """Called by the job executor with each server's object_info: caches it once per fetch
    (the client refetches after a server comes back, which may be another version)."""

    def __init__(self, cache: ObjectInfoCache):
        self.cache = cache
        self._seen: dict[str, Mapping[str, JsonValue]] = {}  # the copy last cached, by server

    def __call__(
        self,
        server: str,
        object_info: Mapping[str, JsonValue],
        replacements: Mapping[str, JsonValue] | None = None,
    ) -> None:
        if self._seen.get(server) is object_info:
            return
        self._seen[server] = object_info
        try:
            self.cache.save(server, object_info, replacements)
        except OSError as exc:  # a cache, not a record: the job goes on
            log.warning("could not cache the object_info of %s: %s", server, exc)


def fetch(server: ServerConfig, cache: ObjectInfoCache, timeouts: TimeoutConfig) -> str:
    """Ask a configured server for its /object_info now and cache it; '' when cached, else
    why not (one line). Only for `--server NAME` without a cached copy: never at start-up."""
    from executors.backends.comfyui import ComfyClient

    client = ComfyClient.for_server(server, timeouts)
    try:
        cache.save(server.name, client.object_info())
    except (AppError, OSError) as exc:
        return f"server {server.name} did not send its /object_info ({exc})"
    finally:
        client.close()
    return ""


def core_catalog() -> JsonObject:
    text = resources.files(__package__).joinpath("data", CORE_CATALOG).read_text("utf-8")
    return json.loads(text)


def choose(cache: ObjectInfoCache, servers: list[str], wanted: str | None) -> ObjectInfo:
    """The object_info to import with: `wanted`'s cache, else the first configured server's
    that has one, else the core catalog (with a warning saying so)."""
    for name in [wanted] if wanted else servers:
        info = cache.load(name)
        if info is not None:
            return ObjectInfo(info, name)
    warning = (
        f"no cached /object_info of server {wanted!r} — {CORE_NOTE}" if wanted else CORE_WARNING
    )
    return ObjectInfo(core_catalog(), None, warning)


def _read_json(path: Path) -> JsonObject | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _file_name(server: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", server).lstrip(".") or "server"
