"""`cloud start|status|stop [--json]`: RunComfy machines from the command line.

Progress and notices go to stderr, the status to stdout (a table line or JSON). A refused action
(offline, not configured, over budget) is a UserError: one line on stderr, exit 2. The URL is
always shown masked and the server id shortened.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app import cli
from app.live_state import describe_cloud
from executors.cloud import CloudStatus
from executors.control import CloudControl


def add_cloud_commands(commands: Any) -> None:
    cloud = commands.add_parser("cloud", help="RunComfy cloud GPU machines: start, status, stop")
    actions = cloud.add_subparsers(dest="action", required=True, parser_class=cli.Parser)
    cli.json_flag(actions.add_parser("start", help="reuse or launch a machine, wait until Ready"))
    cli.json_flag(actions.add_parser("status", help="state, masked URL, uptime, cost, budgets"))
    cli.json_flag(actions.add_parser("stop", help="stop the machine (billing ends)"))


def cloud_start(args: argparse.Namespace, ctx: cli.Context) -> int:
    return _show(_cloud(ctx).start(on_progress=_progress), args.json)


def cloud_status(args: argparse.Namespace, ctx: cli.Context) -> int:
    return _show(_cloud(ctx).status(), args.json)


def cloud_stop(args: argparse.Namespace, ctx: cli.Context) -> int:
    return _show(_cloud(ctx).stop(), args.json)


def _cloud(ctx: cli.Context) -> CloudControl:
    if ctx.control is None:
        raise RuntimeError("no engine API was wired for this command")
    return ctx.control.cloud


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _show(status: CloudStatus, as_json: bool) -> int:
    for line in status.notices:
        print(f"note: {line}", file=sys.stderr)
    for line in status.warnings:
        print(f"warning: {line}", file=sys.stderr)
    if as_json:
        print(json.dumps(status.as_dict(), indent=2, ensure_ascii=False))
        return 0
    print(describe_cloud(status))
    return 0


CLOUD_HANDLERS = {
    ("cloud", "start"): cloud_start,
    ("cloud", "status"): cloud_status,
    ("cloud", "stop"): cloud_stop,
}
