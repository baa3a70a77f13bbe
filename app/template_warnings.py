"""What the editor says about the templates a prompt runs: deprecated or replaced nodes on the
servers seen, and refused user templates. Read from the object_info cache in the home on a
worker thread when the window opens; `for_kind` is a memory read for the Tk thread."""

from __future__ import annotations

import threading
from collections.abc import Callable

from core.models import MediaKind
from executors.templates import TemplateSet
from executors.workflow_import.catalog import Seen


class TemplateWarnings:
    def __init__(self, templates: TemplateSet, load_seen: Callable[[], Seen]):
        self._by_kind: dict[str, list[str]] = {}
        self._load_seen = load_seen
        self.loaded = threading.Event()
        threading.Thread(
            target=self.reload, args=(templates,), name="template-warnings", daemon=True
        ).start()

    def for_kind(self, kind: MediaKind) -> list[str]:
        """The warnings for prompts of `kind` (none until the cache has been read)."""
        return self._by_kind.get(kind.value, [])

    def reload(self, templates: TemplateSet) -> None:
        """A worker thread: read the cache again for `templates` (after an import or a tier)."""
        try:
            seen = self._load_seen()
            by_kind: dict[str, list[str]] = {}
            for function in templates.functions():
                lines = templates.warnings(function.name, seen.infos, seen.replacements)
                by_kind.setdefault(function.kind, []).extend(lines)
            self._by_kind = by_kind  # one assignment: readers see all or nothing
        finally:
            self.loaded.set()
