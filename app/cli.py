"""The headless command line: same engine and repositories as the window, no tkinter.

Contract (scripts depend on it): bad input exits 2 with one line on stderr naming the field and
the fix; success exits 0; --json prints machine-readable JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.cli_args import count, offset, record_id, user_text
from app.cli_choose import CHOOSE_HANDLERS, add_choose_actions, add_history_action, rating
from app.cli_cloud import CLOUD_HANDLERS, add_cloud_commands
from app.cli_draft import DRAFT_HANDLERS, add_draft_commands
from app.cli_jobs import JOB_HANDLERS, add_job_actions, add_job_commands
from app.cli_library import add_library_commands
from app.cli_output import (
    artifact_dict,
    describe_prompt,
    emit,
    export_dict,
    job_dict,
    prompt_dict,
)
from app.cli_workflows import WORKFLOW_HANDLERS, add_workflow_commands
from core import atomic, jsontext
from core.config import Config
from core.errors import InputError
from core.models import JobStatus, MediaKind, PromptQuery, PromptStatus, parse_enum
from executors.control import Control
from repositories.artifacts import ArtifactRepository
from repositories.jobs import JobRepository
from repositories.prompts import PromptRepository


@dataclass
class Context:
    """What a command needs; built by main.py, the only composition root."""

    config: Config
    prompts: PromptRepository
    artifacts: ArtifactRepository
    jobs: JobRepository
    control: Control | None = None  # the engine API (its engine opened on demand)
    takes: Callable[[ArtifactRepository], Any] | None = None  # main.build_takes: a TakeRecorder


class Parser(argparse.ArgumentParser):
    """argparse whose errors become one-line InputErrors (exit 2) instead of usage dumps."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{self.prog}: {message} — see '{self.prog} --help'")


def build_parser() -> Parser:
    parser = Parser(
        prog="takeboard",
        description="Prompt-and-artifact manager for generative "
        "image, music and video work. Without a command, opens the window.",
    )
    parser.add_argument("--home", help="data home (default: TAKEBOARD_HOME or the per-user dir)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run against the built-in protocol "
        "test server (placeholder media, no AI model): see the whole flow "
        "without a GPU",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    _prompt_commands(
        commands.add_parser("prompt", help="add, list, edit, import and export prompts")
    )
    artifacts = commands.add_parser("artifacts", help="list generated files")
    artifacts_cmds = artifacts.add_subparsers(dest="action", required=True, parser_class=Parser)
    listing = artifacts_cmds.add_parser("list", help="list artifacts")
    listing.add_argument("--prompt", type=record_id, help="only this prompt's artifacts")
    json_flag(listing)
    add_choose_actions(artifacts_cmds)
    jobs = commands.add_parser("jobs", help="list generation jobs")
    jobs_cmds = jobs.add_subparsers(dest="action", required=True, parser_class=Parser)
    add_job_actions(jobs_cmds)
    listing = jobs_cmds.add_parser("list", help="list jobs, newest first")
    listing.add_argument("--status", help="queued, running, done, failed or cancelled")
    listing.add_argument("--prompt", type=record_id, help="only this prompt's jobs")
    json_flag(listing)
    add_job_commands(commands)
    add_draft_commands(commands)
    add_cloud_commands(commands)
    add_library_commands(commands)
    add_workflow_commands(commands)
    config = commands.add_parser("config", help="show the effective configuration")
    config_cmds = config.add_subparsers(dest="action", required=True, parser_class=Parser)
    json_flag(config_cmds.add_parser("show", help="print the layered configuration"))
    return parser


def _prompt_commands(prompt: argparse.ArgumentParser) -> None:
    actions = prompt.add_subparsers(dest="action", required=True, parser_class=Parser)
    add = actions.add_parser("add", help="add a prompt; prints only its id")
    add.add_argument("--kind", required=True, help="image, audio or video")
    add.add_argument("--title", required=True, type=user_text)
    add.add_argument("--data", required=True, help="prompt fields as JSON, or @file.json")
    _record_flags(add)
    listing = actions.add_parser("list", help="list prompts, newest first")
    listing.add_argument(
        "--search", default="", type=user_text, help="words to find (title, text, lyrics, tags)"
    )
    listing.add_argument("--kind")
    listing.add_argument("--status")
    listing.add_argument("--tag", type=user_text)
    listing.add_argument("--favorite", action="store_true", help="only favorites")
    listing.add_argument("--trash", action="store_true", help="list deleted prompts")
    listing.add_argument("--circled", action="store_true", help="only prompts with a circled take")
    listing.add_argument(
        "--min-rating", type=rating, default=0, help="only prompts with a take rated at least N"
    )
    listing.add_argument("--limit", type=count, default=100)
    listing.add_argument("--offset", type=offset, default=0)
    json_flag(listing)
    show = actions.add_parser("show", help="show one prompt")
    show.add_argument("id", type=record_id)
    json_flag(show)
    edit = actions.add_parser("edit", help="change a prompt's data, title, tags or favorite")
    edit.add_argument("id", type=record_id)
    edit.add_argument("--title", type=user_text)
    edit.add_argument("--data", help="the full prompt fields as JSON, or @file.json")
    _record_flags(edit)
    edit.add_argument("--no-favorite", dest="favorite", action="store_false")
    for name, text in (
        ("delete", "move a prompt to the trash"),
        ("restore", "bring a prompt back from the trash"),
    ):
        actions.add_parser(name, help=text).add_argument("id", type=record_id)
    add_history_action(actions)
    imports = actions.add_parser("import", help="import prompts from a .json array or .jsonl")
    imports.add_argument("file", type=Path)
    json_flag(imports)
    export = actions.add_parser("export", help="export prompts to .json (array) or .jsonl")
    export.add_argument("file", type=Path)


def _record_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tag", action="append", dest="tags", type=user_text, help="a tag (repeatable)"
    )
    parser.add_argument("--favorite", action="store_true", default=None)


def json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


# --- commands -----------------------------------------------------------------------------------


def run_command(args: argparse.Namespace, ctx: Context) -> int:
    handler = HANDLERS[(args.command, getattr(args, "action", None))]
    return handler(args, ctx) or 0


def prompt_add(args: argparse.Namespace, ctx: Context) -> None:
    record = ctx.prompts.add(
        args.kind,
        args.title,
        read_json_arg(args.data, "--data"),
        tags=args.tags or [],
        favorite=bool(args.favorite),
    )
    print(record.id)


def prompt_list(args: argparse.Namespace, ctx: Context) -> None:
    query = PromptQuery(
        search=args.search,
        kind=parse_enum(MediaKind, args.kind, "--kind") if args.kind else None,
        status=parse_enum(PromptStatus, args.status, "--status") if args.status else None,
        tag=args.tag,
        favorite=True if args.favorite else None,
        trash=args.trash,
        circled=args.circled,
        min_rating=args.min_rating,
    )
    records = ctx.prompts.page(query, limit=args.limit, offset=args.offset)
    rows = [prompt_dict(r) for r in records]
    emit(rows, args.json, columns=("id", "kind", "status", "take_count", "title"))


def prompt_show(args: argparse.Namespace, ctx: Context) -> None:
    record = prompt_dict(ctx.prompts.get(args.id))
    print(
        json.dumps(record, indent=2, ensure_ascii=False) if args.json else describe_prompt(record)
    )


def prompt_edit(args: argparse.Namespace, ctx: Context) -> None:
    data = read_json_arg(args.data, "--data") if args.data is not None else None
    ctx.prompts.update(args.id, title=args.title, data=data, tags=args.tags, favorite=args.favorite)


def prompt_delete(args: argparse.Namespace, ctx: Context) -> None:
    ctx.prompts.delete(args.id)


def prompt_restore(args: argparse.Namespace, ctx: Context) -> None:
    ctx.prompts.restore(args.id)


def prompt_import(args: argparse.Namespace, ctx: Context) -> None:
    ids = ctx.prompts.add_many(read_records_file(args.file))
    print(json.dumps(ids) if args.json else f"imported {len(ids)} prompts")


def prompt_export(args: argparse.Namespace, ctx: Context) -> None:
    items = [export_dict(r) for r in ctx.prompts.iter_all()]
    if args.file.suffix.lower() == ".jsonl":
        content = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)
    else:
        content = json.dumps(items, indent=2, ensure_ascii=False) + "\n"
    write_atomic(args.file, content)
    print(f"exported {len(items)} prompts to {args.file}", file=sys.stderr)


def artifacts_list(args: argparse.Namespace, ctx: Context) -> None:
    if args.prompt is not None:
        records = ctx.artifacts.for_prompt(ctx.prompts.get(args.prompt, include_trash=True).id)
    else:
        records = ctx.artifacts.page(limit=1_000_000)
    rows = [artifact_dict(r, ctx.config.home) for r in records]
    emit(rows, args.json, columns=("id", "prompt_id", "kind", "path"))


def jobs_list(args: argparse.Namespace, ctx: Context) -> None:
    status = parse_enum(JobStatus, args.status, "--status") if args.status else None
    rows = [job_dict(j) for j in ctx.jobs.list(status=status, prompt_id=args.prompt)]
    emit(rows, args.json, columns=("id", "prompt_id", "status", "attempts", "function"))


def config_show(args: argparse.Namespace, ctx: Context) -> None:
    config = asdict(ctx.config)
    config["home"] = str(ctx.config.home)
    print(json.dumps(config, indent=2, ensure_ascii=False))


HANDLERS: dict[tuple[str, str], Callable[[argparse.Namespace, Context], Any]] = {
    ("prompt", "add"): prompt_add,
    ("prompt", "list"): prompt_list,
    ("prompt", "show"): prompt_show,
    ("prompt", "edit"): prompt_edit,
    ("prompt", "delete"): prompt_delete,
    ("prompt", "restore"): prompt_restore,
    ("prompt", "import"): prompt_import,
    ("prompt", "export"): prompt_export,
    ("artifacts", "list"): artifacts_list,
    ("jobs", "list"): jobs_list,
    ("config", "show"): config_show,
    **JOB_HANDLERS,
    **DRAFT_HANDLERS,
    **CLOUD_HANDLERS,
    **WORKFLOW_HANDLERS,
    **CHOOSE_HANDLERS,
}


# --- helpers ------------------------------------------------------------------------------------


def read_json_arg(value: str, flag: str) -> Any:
    """JSON given inline, or @path to a file holding it."""
    source = flag
    if value.startswith("@"):
        source = value[1:]
        value = _read_text(Path(source))
    try:
        return jsontext.loads(value)
    except ValueError as exc:
        raise InputError(f"{source}: not valid JSON ({exc}) — check quotes and commas") from None


def read_records_file(path: Path) -> list[Any]:
    text = _read_text(path)
    if path.suffix.lower() == ".jsonl":
        return [
            _parse_line(path, n, line)
            for n, line in enumerate(text.splitlines(), 1)
            if line.strip()
        ]
    try:
        items = jsontext.loads(text)
    except ValueError as exc:
        raise InputError(
            f"{path}: not valid JSON ({exc}) — fix the file and import again"
        ) from None
    if not isinstance(items, list):
        raise InputError(f"{path}: expected a JSON array of prompts (or use a .jsonl file)")
    return items


def _parse_line(path: Path, number: int, line: str) -> Any:
    try:
        return jsontext.loads(line)
    except ValueError as exc:
        raise InputError(f"{path}:{number}: not valid JSON ({exc}) — fix that line") from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"{path}: cannot read it ({reason}) — check the path") from None


def write_atomic(path: Path, content: str) -> None:
    path = path.expanduser().resolve()
    try:
        atomic.write_text(path, content)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot write it ({exc.strerror}) — check the folder exists and is writable"
        ) from None
