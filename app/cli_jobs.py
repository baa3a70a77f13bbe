"""Command-line commands that run or steer jobs: generate, worker, jobs cancel/retry, queue
pause/resume, backends, functions. They share the engine with the window."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from app import cli, cli_output
from app.cli_args import count, record_id, seed
from app.history_state import take_request
from app.progress import ProgressPrinter
from app.variations_state import function_schema, parse_axis, plan, queue_batch, seed_axis
from core.errors import InputError
from core.models import JobStatus
from executors.control import Control
from executors.pool import backend_rows
from executors.workflow_import.catalog import ObjectInfoCache, Seen


def add_job_commands(commands: Any) -> None:
    generate = commands.add_parser(
        "generate", help="queue jobs for prompts; with --wait, run them to the end"
    )
    generate.add_argument("ids", type=record_id, nargs="*", metavar="ID", help="prompt ids")
    generate.add_argument(
        "--from-take",
        type=record_id,
        metavar="ARTIFACT_ID",
        help="run the prompt version, tier and seed this take was made with (even after edits)",
    )
    generate.add_argument(
        "--quality",
        help="low, standard, high or premium (default: the "
        "prompt's, then config's default_quality)",
    )
    generate.add_argument(
        "--function",
        help="template function (default by kind: "
        "create_image, create_audio, create_video); see 'functions'",
    )
    generate.add_argument("--seed", type=seed, help="use this seed instead of a fresh one")
    generate.add_argument("--front", action="store_true", help="put the jobs at the front")
    generate.add_argument(
        "--variations", type=count, metavar="N", help="one batch of N takes with new seeds"
    )
    generate.add_argument(
        "--grid",
        action="append",
        metavar="NAME=V1,V2",
        help="one batch over a parameter's values (tier or any in 'functions'); twice for a grid",
    )
    generate.add_argument(
        "--wait",
        action="store_true",
        help="run the jobs now and wait; exit 0 when all succeeded, 1 when any failed",
    )
    cli.json_flag(generate)
    worker = commands.add_parser("worker", help="run queued jobs headless")
    worker.add_argument("--until-idle", action="store_true", help="exit when the queue is empty")
    cli.json_flag(commands.add_parser("functions", help="list generation functions and tiers"))
    listing = commands.add_parser("backends", help="list servers: online, VRAM, queue")
    cli.json_flag(listing)
    listing.add_argument(
        "--discover",
        action="store_true",
        help="scan the usual local ports and the configured URLs for servers that answer",
    )
    queue = commands.add_parser("queue", help="pause or resume the job queue")
    queue_actions = queue.add_subparsers(dest="action", required=True, parser_class=cli.Parser)
    queue_actions.add_parser("pause", help="start no new jobs (running ones finish)")
    queue_actions.add_parser("resume", help="start queued jobs again")


def add_job_actions(actions: Any) -> None:
    """`jobs cancel ID` and `jobs retry ID|--failed`, beside `jobs list`."""
    actions.add_parser("cancel", help="cancel a queued job or stop a running one").add_argument(
        "id", type=record_id
    )
    retry = actions.add_parser("retry", help="queue a failed, cancelled or suspect job again")
    retry.add_argument("id", type=record_id, nargs="?")
    retry.add_argument("--failed", action="store_true", help="every failed job")
    retry.add_argument("--front", action="store_true", help="put them at the front")


def generate(args: argparse.Namespace, ctx: cli.Context) -> int:
    ids, version, quality, seed_value = _what_to_generate(args, ctx)
    overrides = {"seed": seed_value} if seed_value is not None else {}
    # --wait gives servers the retry cap to answer, then fails; the worker waits for ever.
    control = _opened(ctx, ProgressPrinter(), offline_grace_s=ctx.config.retry.max_s)
    options = {"quality": quality, "function": args.function, "front": args.front}
    if args.variations or args.grid:
        jobs = _queue_variations(
            args, ctx, control, ids, seed_value, {**options, "version": version}
        )
    else:
        jobs = control.queue(ids, **options, overrides=overrides, version=version)
    ids = [job.id for job in jobs]
    if not args.wait:
        print(json.dumps(ids) if args.json else "\n".join(map(str, ids)))
        return 0
    _run(control, ids, stall_s=_stall_s(ctx))
    finished = [ctx.jobs.get(job_id) for job_id in ids]
    if args.json:
        print(json.dumps([_job_result(job, ctx) for job in finished], indent=2, ensure_ascii=False))
    return 0 if all(job.status is JobStatus.DONE for job in finished) else 1


def _queue_variations(
    args: argparse.Namespace,
    ctx: cli.Context,
    control: Control,
    ids: list[int],
    seed_value: int | None,
    options: dict[str, Any],
) -> list[Any]:
    """--variations N (new seeds) or --grid NAME=V1,V2 (once or twice): one batch."""
    if args.variations and args.grid:
        raise InputError("generate: give --variations or --grid, not both")
    prompt = ctx.prompts.get(ids[0])
    if args.variations:
        axes = [seed_axis(args.variations)]
    else:
        schema = function_schema(control.templates, args.function, prompt.kind.value)
        axes = [parse_axis(text, schema) for text in args.grid]
    shared_seed = seed_value if seed_value is not None else prompt.data.get("seed")
    return queue_batch(control, ids, plan(axes, shared_seed), **options)


def _what_to_generate(
    args: argparse.Namespace, ctx: cli.Context
) -> tuple[list[int], int | None, str | None, int | None]:
    """(prompt ids, saved version, tier, seed): the IDs as given, or what --from-take's take
    was made with (--quality and --seed still override it)."""
    if args.from_take is None:
        if not args.ids:
            raise InputError("generate: give prompt ids or --from-take ARTIFACT_ID")
        return args.ids, None, args.quality, args.seed
    if args.ids:
        raise InputError("generate: give prompt ids or --from-take, not both")
    take = take_request(ctx.artifacts.get(args.from_take))
    seed_value = take.seed if args.seed is None else args.seed
    return [take.prompt_id], take.version, args.quality or take.quality, seed_value


def worker(args: argparse.Namespace, ctx: cli.Context) -> int:
    if not args.until_idle:
        print("running queued jobs; Ctrl+C stops (queued jobs stay queued)", file=sys.stderr)
        _run(_opened(ctx, ProgressPrinter()), None, forever=True)
    else:
        _run(_opened(ctx, ProgressPrinter()), None, stall_s=_stall_s(ctx))
    return 0


def _stall_s(ctx: cli.Context) -> float:
    """How long `generate --wait` and `worker --until-idle` let the engine make no progress
    before they give up: twice the longest retry wait, so an offline server's jobs fail with
    their own message first (--wait gives servers retry.max_s)."""
    return 2 * ctx.config.retry.max_s


def _run(
    control: Control, ids: list[int] | None, *, forever: bool = False, stall_s: float | None = None
) -> None:
    """Run the engine on a thread until done. Ctrl+C only sets an event the engine acts on
    (it cancels what runs here); this thread waits for the engine to finish either way, so
    no job is cut off by the interpreter shutting down. EngineStuck comes back to the caller."""
    stop, done = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            _until_done(control, ids, stop, forever, stall_s)
        except BaseException as exc:  # noqa: BLE001 — raised again on the calling thread
            failures.append(exc)
        finally:
            done.set()

    runner = threading.Thread(target=run, name="engine", daemon=True)
    with _ctrl_c_sets(stop):
        runner.start()
        done.wait()
        runner.join()
    if failures:
        raise failures[0]


@contextlib.contextmanager
def _ctrl_c_sets(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGINT sets `stop` instead of raising KeyboardInterrupt (a
    KeyboardInterrupt inside Thread.join marks a live thread stopped on Python 3.11)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(signum: int, frame: object) -> None:
        if not stop.is_set():
            print("stopping: cancelling running jobs…", file=sys.stderr)
        stop.set()

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _until_done(
    control: Control,
    ids: list[int] | None,
    stop: threading.Event,
    forever: bool,
    stall_s: float | None,
) -> None:
    while True:
        control.run_until_done(ids, stop, stall_s)
        if not forever or stop.wait(1.0):
            return


def jobs_cancel(args: argparse.Namespace, ctx: cli.Context) -> None:
    job = _control(ctx).cancel(args.id)
    state = (
        "cancelled"
        if job.status is JobStatus.CANCELLED
        else ("asked to stop" if job.status is JobStatus.RUNNING else f"already {job.status.value}")
    )
    print(f"job {job.id}: {state}", file=sys.stderr)


def jobs_retry(args: argparse.Namespace, ctx: cli.Context) -> None:
    if args.failed == (args.id is not None):
        raise InputError("jobs retry: give a job id or --failed (not both)")
    jobs = _control(ctx).retry(args.id, front=args.front)
    print(f"queued {len(jobs)} job(s) again; run 'worker' or open the window", file=sys.stderr)


def queue_pause(args: argparse.Namespace, ctx: cli.Context) -> None:
    _control(ctx).pause()
    print("queue paused: running jobs finish, no new ones start", file=sys.stderr)


def queue_resume(args: argparse.Namespace, ctx: cli.Context) -> None:
    _control(ctx).resume()
    print("queue resumed", file=sys.stderr)


def backends(args: argparse.Namespace, ctx: cli.Context) -> None:
    if args.discover:
        rows = [asdict(found) for found in _control(ctx).discover(ctx.config)]
        cli_output.emit(rows, args.json, columns=("kind", "url", "configured", "detail"))
        if not rows:
            print(
                "no server answered on this machine's usual ports or the configured URLs — "
                "start ComfyUI, WanGP (--mcp), a Gradio app or Ollama, then scan again",
                file=sys.stderr,
            )
        return
    rows = backend_rows(_opened(ctx, lambda event: None).backends(refresh=True))
    cli_output.emit(
        rows, args.json, columns=("name", "url", "online", "vram_free_mb", "queue_pending")
    )


def functions(args: argparse.Namespace, ctx: cli.Context) -> None:
    templates = _opened(ctx, lambda event: None).templates
    seen = cached_servers(ctx)
    infos = seen.infos
    rows = [
        {
            "name": f.name,
            "display_name": f.display_name,
            "kind": f.kind,
            "backend": f.backend,
            "tiers": list(f.tiers),
            "version": f.version,
            "description": f.description,
            "parameters": f.schema,
            "requires": f.requires,
            "warnings": templates.warnings(f.name, infos, seen.replacements),
        }
        for f in templates.functions(next(iter(infos.values()), None))
    ]
    cli_output.emit(rows, args.json, columns=("name", "kind", "tiers", "display_name"))


def cached_servers(ctx: cli.Context) -> Seen:
    """The /object_info and node replacements last seen of each known ComfyUI server (the
    cache the job executor writes in the home); never probes the network."""
    servers = [server.name for server in ctx.config.comfyui_servers]
    return ObjectInfoCache(ctx.config.home).seen(servers)


def _control(ctx: cli.Context) -> Control:
    if ctx.control is None:
        raise RuntimeError("no engine API was wired for this command")
    return ctx.control


def _opened(ctx: cli.Context, emit: Any, *, offline_grace_s: float | None = None) -> Control:
    """The engine API with its engine built (template errors are warned about)."""
    control = _control(ctx)
    control.open(emit, offline_grace_s=offline_grace_s)
    for error in control.templates.errors:
        print(f"warning: template {error} — it is skipped", file=sys.stderr)
    return control


def _job_result(job: Any, ctx: cli.Context) -> dict[str, Any]:
    artifacts = [
        cli_output.artifact_dict(a, ctx.config.home)
        for a in ctx.artifacts.for_prompt(job.prompt_id)
        if a.job_id == job.id
    ]
    return {**cli_output.job_dict(job), "job_id": job.id, "artifacts": artifacts}


JOB_HANDLERS = {
    ("generate", None): generate,
    ("worker", None): worker,
    ("functions", None): functions,
    ("backends", None): backends,
    ("queue", "pause"): queue_pause,
    ("queue", "resume"): queue_resume,
    ("jobs", "cancel"): jobs_cancel,
    ("jobs", "retry"): jobs_retry,
}
