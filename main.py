"""Takeboard's only composition root: args → config → database → repositories → CLI or window."""

from __future__ import annotations

import dataclasses
import functools
import logging
import logging.handlers
import sys
from collections.abc import Callable, Sequence

from platformdirs import user_data_dir

from app.cli import Context, build_parser, run_command
from app.cli_library import run_library
from core.config import Config, ServerConfig, check_route_functions, load_config
from core.errors import AppError, DatabaseError, UserError
from core.jobs import JobEvent
from core.redact import RedactingFormatter
from executors.backends.comfyui import ComfyClient
from executors.backends.gradio import quiet_hub_env
from executors.backends.llm import LlmProbe, Screenwriter
from executors.cloud import CloudManager, CloudMonitor
from executors.comfy_executor import ComfyExecutor
from executors.control import DEMO_NAME, Control, Wiring
from executors.downloads import Limits
from executors.engine import Engine
from executors.pool import ServerPool
from executors.storage import ArtifactStore
from executors.takes import TakeRecorder
from executors.templates import load_templates, template_dirs
from executors.tool_executor import ToolExecutor
from executors.workflow_import.catalog import ObjectInfoCache, SeenObjectInfo
from repositories.artifacts import ArtifactRepository
from repositories.database import Database
from repositories.jobs import JobRepository
from repositories.prompts import PromptRepository

log = logging.getLogger("takeboard")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(argv)
    except UserError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except AppError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: a message, a log, never a traceback
        detail = "details are in logs/takeboard.log in the data home"
        if logging.getLogger().handlers:
            log.exception("unexpected error")
        else:  # no log yet: logging would print the traceback on stderr
            detail = "it happened before the log was opened"
        print(f"internal error: {exc!r} — {detail}; please report it", file=sys.stderr)
        return 1


def platform_home() -> str:
    """The platform's folder for the app's data (the data home when nothing else names one)."""
    return user_data_dir("Takeboard", appauthor=False)


def one_line(message: str) -> str:
    """The message on one line: line breaks, control and invisible characters escaped (a
    value echoed from the user cannot start a new line or reorder the text)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in message)


def _run(argv: Sequence[str] | None) -> int:
    quiet_hub_env()  # before anything can import huggingface_hub: no telemetry, no saved token
    args = build_parser().parse_args(argv)
    config = load_config(args.home, platform_home=platform_home())
    _setup_logging(config)
    if args.command == "library":  # opens the file itself: it may be damaged
        return run_library(args, config, functools.partial(build_takes, config))
    try:
        database = Database(config.database_path)
    except DatabaseError as exc:
        if args.command is not None:
            raise
        from app.library_problem import show_library_problem

        return show_library_problem(one_line(str(exc)))
    demo = start_demo_server(config) if args.demo else None
    if demo is not None:
        config = dataclasses.replace(config, comfyui_servers=(ServerConfig(DEMO_NAME, demo.url),))
    for warning in config.warnings:
        print(f"warning: {one_line(warning)}", file=sys.stderr)
    try:
        ctx = build_context(config, database)
        if args.command is None:
            from app.application import open_window

            return open_window(ctx, banner=DEMO_BANNER if demo else "")
        return run_command(args, ctx)
    finally:
        database.close()
        if demo is not None:
            demo.stop()


DEMO_BANNER = "demo backend — placeholder media, no AI model"


def start_demo_server(config: Config):
    """The project's own ComfyUI protocol server on a free loopback port (files in the home)."""
    from executors.demo_server import ComfyServer

    server = ComfyServer(
        config.home / "demo-comfyui", step_delay=0.05, profile="current", demo_media=True
    )
    server.start()
    print(f"{DEMO_BANNER}: {server.url}", file=sys.stderr)
    return server


def build_context(config: Config, database: Database) -> Context:
    """Repositories over the open library, and the engine API (its engine built on demand)."""
    prompts, artifacts = PromptRepository(database), ArtifactRepository(database)
    jobs = JobRepository(database)
    wiring = Wiring(
        engine=lambda emit, grace: build_engine(
            config, prompts, jobs, artifacts, emit, offline_grace_s=grace
        ),
        cloud=lambda: cloud_manager(config),
        client=functools.partial(comfy_client, config),
        demo=lambda: start_demo_server(config),
    )
    control = Control(jobs, wiring)
    return Context(
        config, prompts, artifacts, jobs, control, takes=functools.partial(build_takes, config)
    )


def build_engine(
    config: Config,
    prompts: PromptRepository,
    jobs: JobRepository,
    artifacts: ArtifactRepository,
    emit: Callable[[JobEvent], None],
    *,
    offline_grace_s: float | None = None,
) -> Engine:
    templates = load_templates(template_dirs(config.home))
    check_route_functions(config.routing, templates.names())
    takes = build_takes(config, artifacts)
    takes.recover_later(emit)  # records of vanished files, previews a crash left unmade
    make_client = functools.partial(comfy_client, config)
    pool = ServerPool(
        config.comfyui_servers,
        make_client,
        tools=tool_clients(config),
        allow_online=config.allow_online,
    )
    manager = CloudManager(config.cloud, config.home)
    cloud = CloudMonitor(manager, pool, make_client)
    return Engine(
        prompts,
        jobs,
        ComfyExecutor(
            templates,
            takes,
            SeenObjectInfo(ObjectInfoCache(config.home)),
            job_timeout_s=config.timeouts.job_s,
        ),
        pool,
        config.retry,
        emit,
        config.default_quality,
        offline_grace_s=offline_grace_s,
        tools=ToolExecutor(templates, takes, config.home / "tmp"),
        routing=config.routing,
        health_s=config.health_interval_s,
        cloud=cloud,
        load_templates=lambda: load_templates(template_dirs(config.home)),
    )


def build_takes(config: Config, artifacts: ArtifactRepository) -> TakeRecorder:
    limits = Limits(config.downloads.max_bytes, config.downloads.stall_s, config.timeouts.job_s)
    return TakeRecorder(ArtifactStore(config.home, limits), artifacts, config.home / "thumbnails")


def tool_clients(config: Config) -> list:
    """Clients of the WanGP servers, Gradio apps and command lines in the config. A family's
    module is imported only when one is set up; nothing is contacted until a job or a health
    check needs it."""
    clients: list = []
    connect_s, read_s = config.timeouts.connect_s, config.timeouts.read_s
    if config.wangp_servers:
        from executors.backends.wangp import WanGPClient

        servers = config.wangp_servers
        clients += [WanGPClient(c, connect_s=connect_s, read_s=read_s) for c in servers]
    if config.gradio_apps:
        from executors.backends.gradio import GradioClient

        clients += [GradioClient(c, connect_s=connect_s) for c in config.gradio_apps]
    if config.commands:
        from executors.backends.command import CommandClient

        clients += [CommandClient(c) for c in config.commands]
    return clients + llm_probe(config)


def llm_probe(config: Config) -> list:
    """The screenwriter's status-bar dot, unless its model setting is unusable."""
    try:
        writer = Screenwriter.from_config(config.llm, allow_online=config.allow_online)
    except UserError as exc:
        log.warning("no LLM status: %s", exc)
        return []
    return [LlmProbe(writer)]


def comfy_client(config: Config, server: ServerConfig) -> ComfyClient:
    return ComfyClient.for_server(server, config.timeouts)


def cloud_manager(config: Config) -> CloudManager:
    """The cloud without an engine (`cloud start|status|stop` in a terminal)."""
    return CloudManager(config.cloud, config.home)


def _setup_logging(config: Config) -> None:
    handler = logging.handlers.RotatingFileHandler(
        config.home / "logs" / "takeboard.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.log_level.upper())
    logging.raiseExceptions = False  # a full disk must not print a traceback per log line


if __name__ == "__main__":
    sys.exit(main())
