"""Takeboard's only composition root: args → config → database → repositories → CLI or window."""

from __future__ import annotations

import functools
import logging
import logging.handlers
import sys
from collections.abc import Sequence

from app.cli import Context, build_parser, run_command
from core.config import Config, load_config
from core.errors import AppError, ConfigError, UserError
from executors.backends.comfyui import ComfyClient
from executors.comfy_executor import ComfyExecutor
from executors.runner import JobRunner
from executors.storage import ArtifactStore
from executors.templates import load_templates, template_dirs
from repositories.artifacts import ArtifactRepository
from repositories.database import Database
from repositories.jobs import JobRepository
from repositories.prompts import PromptRepository

log = logging.getLogger("takeboard")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: a message, a log, never a traceback
        log.exception("unexpected error")
        print(
            f"internal error: {exc!r} — details are in the log (logs/takeboard.log in the "
            "data home); please report it",
            file=sys.stderr,
        )
        return 1


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    config = load_config(args.home)
    _setup_logging(config)
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    database = Database(config.database_path)
    try:
        prompts, artifacts = PromptRepository(database), ArtifactRepository(database)
        jobs = JobRepository(database)
        ctx = Context(
            config,
            prompts,
            artifacts,
            jobs,
            runner=lambda: build_runner(config, prompts, jobs, artifacts),
        )
        if args.command is None:
            from app.window import open_window

            return open_window(ctx)
        return run_command(args, ctx)
    finally:
        database.close()


def build_runner(
    config: Config, prompts: PromptRepository, jobs: JobRepository, artifacts: ArtifactRepository
) -> JobRunner:
    templates = load_templates(template_dirs(config.home))
    executor = ComfyExecutor(
        templates, ArtifactStore(config.home), artifacts, config.home / "thumbnails"
    )
    connect = functools.cache(lambda: comfy_client(config))  # one client (session, object_info)
    return JobRunner(prompts, jobs, executor, connect, config.default_quality)


def comfy_client(config: Config) -> ComfyClient:
    """A client for the first configured ComfyUI server (the engine issue adds the pool)."""
    if not config.comfyui_servers:
        raise ConfigError(
            "no ComfyUI server is configured — add one under comfyui.servers in "
            "config.json, or set TAKEBOARD_COMFYUI_URL"
        )
    server = config.comfyui_servers[0]
    return ComfyClient(
        server.url,
        name=server.name,
        token=server.token(),
        verify_tls=server.verify_tls,
        connect_timeout=config.timeouts.connect_s,
        read_timeout=config.timeouts.read_s,
    )


def _setup_logging(config: Config) -> None:
    handler = logging.handlers.RotatingFileHandler(
        config.home / "logs" / "takeboard.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.log_level.upper())


if __name__ == "__main__":
    sys.exit(main())
