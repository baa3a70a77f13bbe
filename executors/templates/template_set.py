"""The loaded templates: tier resolution, the function registry and per-function warnings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.errors import InputError, TemplateError
from core.json_types import JsonObject
from executors.object_info import Replacements
from executors.templates.check import template_warnings
from executors.templates.model import (
    QUALITIES,
    BrokenTemplate,
    FunctionInfo,
    ObjectInfo,
    Resolution,
    Template,
    default_function,
)
from executors.templates.schema import parameter_schema


@dataclass
class TemplateSet:
    templates: dict[tuple[str, str], Template] = field(default_factory=dict)
    errors: list[BrokenTemplate] = field(default_factory=list)
    # (function, quality) whose last folder is broken: refused, never replaced by another
    broken: dict[tuple[str, str], BrokenTemplate] = field(default_factory=dict)

    def get(self, function: str, quality: str) -> Template | None:
        return self.templates.get((function, quality))

    def tiers(self, function: str) -> tuple[str, ...]:
        """The tiers `function` has templates for, lowest first; TemplateError if unknown."""
        tiers = tuple(q for q in QUALITIES if (function, q) in self.templates)
        if not tiers:
            known = ", ".join(self.names()) or "none (no templates loaded)"
            raise TemplateError(f"unknown function {function!r} — known functions: {known}")
        return tiers

    def names(self) -> list[str]:
        return sorted({function for function, _ in self.templates})

    def default_function(self, kind: str) -> str:
        return default_function(kind)

    def resolve(self, function: str, quality: str = "standard") -> Resolution:
        """The template to run; a missing tier falls back to the next lower, else higher one."""
        if quality not in QUALITIES:
            raise InputError(
                f"quality: unknown tier {quality!r} — use one of: {', '.join(QUALITIES)}"
            )
        if (function, quality) in self.broken:
            raise TemplateError(_refused(self.broken[(function, quality)]))
        tiers = self.tiers(function)
        if quality in tiers:
            return Resolution(self.templates[(function, quality)], quality, quality)
        rank = QUALITIES.index(quality)
        lower = [t for t in tiers if QUALITIES.index(t) < rank]
        tier = lower[-1] if lower else tiers[0]
        reason = f"no {quality!r} template for {function}; ran {tier!r}"
        return Resolution(self.templates[(function, tier)], quality, tier, reason)

    def functions(self, object_info: ObjectInfo | None = None) -> list[FunctionInfo]:
        """The function registry: one entry per function, sorted by name; with a server's
        object_info, combo parameters list that server's choices."""
        return [self.function_info(name, object_info) for name in self.names()]

    def function_info(self, function: str, object_info: ObjectInfo | None = None) -> FunctionInfo:
        """One function's registry entry; with a server's object_info, its combo inputs list
        that server's choices."""
        tiers = self.tiers(function)
        main = self.templates[(function, "standard" if "standard" in tiers else tiers[0])]
        return FunctionInfo(
            name=function,
            display_name=main.display_name,
            kind=main.kind,
            tiers=tiers,
            version=main.version,
            description=main.description,
            schema=parameter_schema(main, object_info),
            backend=main.backend,
            requires=self._requires(function, main),
        )

    def _requires(self, function: str, main: Template) -> JsonObject:
        if main.backend != "comfyui":
            return {}
        models = {
            f"{model.folder}/{model.name}"
            for (name, _), template in self.templates.items()
            if name == function
            for model in template.models
        }
        return {"comfyui": main.requires_comfyui or None, "models": sorted(models)}

    def warnings(
        self,
        function: str,
        object_infos: Mapping[str, ObjectInfo],
        replacements: Mapping[str, Replacements] | None = None,
    ) -> list[str]:
        """What to know about `function`, one line each: its refused (broken) user templates,
        and deprecated nodes and node replacements on each server (object_info by name)."""
        lines = [_refused(error) for (name, _), error in self.broken.items() if name == function]
        lines += [
            f"{server}: {line}"
            for server, info in object_infos.items()
            for (name, _), template in self.templates.items()
            if name == function
            for line in template_warnings(template, info, (replacements or {}).get(server))
        ]
        return list(dict.fromkeys(lines))


def _refused(error: BrokenTemplate) -> str:
    return f"template {error} — fix the file, or remove its folder"
