"""What the editor says about the templates a prompt runs: deprecated or replaced nodes on the
servers seen, and refused user templates. Read from the object_info cache in the home on a
worker thread when the window opens; `for_kind` is a memory read for the Tk thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from core.models import MediaKind
from executors.templates import TemplateSet

ObjectInfos = Mapping[str, Mapping[str, Any]]  # server name → its cached /object_info


class TemplateWarnings:
    def __init__(self, templates: TemplateSet, load_infos: Callable[[], ObjectInfos]):
        self._by_kind: dict[str, list[str]] = {}
        self.loaded = threading.Event()
        threading.Thread(
            target=self._load, args=(templates, load_infos), name="template-warnings", daemon=True
        ).start()

    def for_kind(self, kind: MediaKind) -> list[str]:
        """The warnings for prompts of `kind` (none until the cache has been read)."""
        return self._by_kind.get(kind.value, [])

    def _load(self, templates: TemplateSet, load_infos: Callable[[], ObjectInfos]) -> None:
        try:
            infos = load_infos()
            by_kind: dict[str, list[str]] = {}
            for function in templates.functions():
                by_kind.setdefault(function.kind, []).extend(
                    templates.warnings(function.name, infos)
                )
            self._by_kind = by_kind  # one assignment: readers see all or nothing
        finally:
            self.loaded.set()
