"""Queueing decisions: which prompt version runs, at which tier, and which functions to try.

A job queued without a function takes its functions from the first matching routing rule
(config.json "routing"); a prompt whose editor picked a function runs just that one.
Threads: called by `Engine.queue` on the caller's thread (never Tk's: it reads the library).
"""

from __future__ import annotations

import logging

from core.config import Route
from core.errors import InputError
from core.jobs import JobSpec
from core.json_types import JsonObject, JsonValue
from core.models import PromptRecord
from core.ports import PromptSource
from executors.comfy_executor import ComfyExecutor

log = logging.getLogger(__name__)


class Planner:
    def __init__(
        self,
        prompts: PromptSource,
        executor: ComfyExecutor,
        routing: tuple[Route, ...],
        default_quality: str,
    ):
        self.prompts, self.executor = prompts, executor
        self.routing, self.default_quality = routing, default_quality

    def saved_prompt(self, prompt_id: int, version: int | None) -> PromptRecord:
        """The prompt as it is now, or as it was saved in `version`."""
        prompt = self.prompts.get(prompt_id)
        if version is None or version == prompt.version:
            return prompt
        old = self.prompts.version(prompt_id, version)
        return PromptRecord(
            **{**vars(prompt), "title": old.title, "data": old.data, "version": old.version}
        )

    def spec(
        self,
        prompt: PromptRecord,
        quality: str | None,
        function: str | None,
        overrides: JsonObject | None,
        batch: JsonObject | None,
    ) -> JobSpec:
        """What a job of `prompt` runs: the tier and the functions to try in order (the one
        asked for, the editor's, or a routing rule's); InputError for a wrong function."""
        tier = quality or prompt.data.get("quality") or self.default_quality
        function = function or prompt.data.get("function")  # the one the editor picked
        if function is not None:
            self._check_kind(function, tier, prompt)
            route = [function]
        else:
            route = self._route(prompt, tier)
        return JobSpec(
            function=route[0],
            tier=tier,
            data=prompt.data,
            prompt_version=prompt.version,
            overrides=overrides or {},
            route=tuple(route),
            batch=batch or None,
        )

    def _check_kind(self, function: str, tier: str, prompt: PromptRecord) -> None:
        template = self.executor.templates.resolve(function, tier).template
        if template.kind != prompt.kind.value:
            raise InputError(
                f"--function: {function} makes {template.kind}, but prompt "
                f"{prompt.id} is {prompt.kind.value} — pick a function for "
                f"{prompt.kind.value} prompts (see 'functions')"
            )

    def _route(self, prompt: PromptRecord, tier: str) -> list[str]:
        """The functions of the first routing rule the prompt matches that has one for its
        kind; else the kind's default function."""
        templates = self.executor.templates
        known = set(templates.names())
        for rule in self.routing:
            if not route_matches(rule, prompt, tier):
                continue
            usable = [
                f
                for f in rule.use
                if f in known and templates.resolve(f, tier).template.kind == prompt.kind.value
            ]
            if usable:
                return usable
            log.warning("routing rule %r names no usable function; skipped", rule.name)
        return [templates.default_function(prompt.kind.value)]


def route_matches(rule: Route, prompt: PromptRecord, tier: str) -> bool:
    """Does `prompt` (run at `tier`) meet every condition of the rule's `when`?"""
    data = prompt.data
    tests = {
        "kind": lambda want: prompt.kind.value in _listed(want),
        "quality": lambda want: tier in _listed(want),
        "task": lambda want: data.get("task") in _listed(want),
        "has": lambda want: all(data.get(name) not in (None, "", []) for name in _listed(want)),
        "tags": lambda want: bool(
            {t.lower() for t in _listed(want)}
            & {t.lower() for t in (*data.get("tags", []), *data.get("style_tags", []))}
        ),
    }
    return all(tests[key](want) for key, want in rule.when.items())


def _listed(value: JsonValue) -> list[JsonValue]:
    return value if isinstance(value, list) else [value]
