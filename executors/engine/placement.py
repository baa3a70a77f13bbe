"""Which server runs a job: a slot for the first function of its route whose backend is
available, back on the server that holds its earlier submission (to find the prompt there),
else away from servers that failed it, never on one that lacks what its template needs.
Threads: the dispatcher (and a worker thread ending a job, for `members`).
"""

from __future__ import annotations

from core.errors import TemplateError
from core.models import JobRecord
from executors.comfy_executor import ComfyExecutor
from executors.pool import FAMILIES, Lease, Refusal, ServerPool
from executors.templates import Template

UNAVAILABLE = ("offline", "breaker", "no_servers", "template")  # a routed job tries its next


class Placement:
    def __init__(self, pool: ServerPool, executor: ComfyExecutor, has_tools: bool):
        """`has_tools`: the engine can run templates of other families than ComfyUI."""
        self.pool, self.executor, self.has_tools = pool, executor, has_tools

    def acquire_routed(
        self, job: JobRecord, route: tuple[str, ...]
    ) -> tuple[Lease | Refusal, str, str]:
        """A slot for the first function of the route whose backend is available (a busy
        one is waited for); with the function chosen and why earlier ones were passed over."""
        first: Refusal | None = None
        passed: list[str] = []
        for function in route:
            lease = self.acquire(job, function)
            if isinstance(lease, Lease) or lease.reason not in UNAVAILABLE:
                return lease, function, "; ".join(passed)
            first = first or lease
            passed.append(f"{function}: {lease.detail}")
        assert first is not None, "a route names at least one function"
        return first, job.function, ""

    def acquire(self, job: JobRecord, function: str) -> Lease | Refusal:
        """A slot for the job's `function`: back on the server that has its earlier submission
        (to find the prompt there), else away from servers that failed it, else anywhere."""
        try:
            template = self.executor.templates.resolve(function, job.quality).template
        except TemplateError as exc:  # no template for it, or the user's is broken
            return Refusal("template", str(exc))
        ruled_out = job.run.cannot_run  # they lack what the template needs
        members = [name for name in self.members(template) if name not in ruled_out]
        if not members:
            return Refusal("no_servers", no_member(template))
        need = template.vram_gb
        earlier = job.submission
        if earlier is not None and earlier.server in members:
            lease = self.pool.acquire(need, only=[earlier.server])
            if not isinstance(lease, Refusal) or lease.reason not in ("offline", "breaker"):
                return lease
        avoid = job.run.avoid
        lease = self.pool.acquire(need, exclude=avoid, only=members)
        if isinstance(lease, Refusal) and avoid:
            lease = self.pool.acquire(need, only=members)
        return lease

    def members(self, template: Template) -> list[str]:
        """The pool members that can run `template`: its backend family, and its named
        servers when it names some."""
        family = self.pool.names(template.backend)
        if template.backend != "comfyui" and not self.has_tools:
            return []
        return [n for n in family if not template.servers or n in template.servers]


def no_member(template: Template) -> str:
    family = FAMILIES[template.backend]
    if template.servers:
        names = ", ".join(template.servers)
        return (
            f"{template.function} runs on the {family} {names}, which is not set up — add it "
            f"under backends.{template.backend} in config.json"
        )
    where = "comfyui.servers" if template.backend == "comfyui" else f"backends.{template.backend}"
    return f"no {family} is set up for {template.function} — add one under {where} in config.json"
