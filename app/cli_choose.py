"""Command-line commands for choosing takes and a prompt's history: `artifacts rate ID N`,
`artifacts circle ID`, `prompt history ID`. Bad ids and ratings exit 2 with one line."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app import cli, cli_output
from app.cli_args import record_id, whole_number
from app.history_state import version_dict

rating = whole_number(0, 5, "a rating — give a whole number from 0 (none) to 5")


def add_choose_actions(artifacts: Any) -> None:
    """`artifacts rate ID… N` and `artifacts circle ID [--off]`, beside `artifacts list`."""
    rate = artifacts.add_parser("rate", help="rate takes 0 (no rating) to 5")
    rate.add_argument("ids", type=record_id, nargs="+", metavar="ID", help="artifact ids")
    rate.add_argument("rating", type=rating, metavar="N", help="0 to 5")
    circle = artifacts.add_parser("circle", help='circle a take as its prompt\'s "the take"')
    circle.add_argument("id", type=record_id, help="artifact id")
    circle.add_argument("--off", action="store_true", help="uncircle it instead")


def add_history_action(prompt_actions: Any) -> None:
    history = prompt_actions.add_parser("history", help="every saved version of a prompt")
    history.add_argument("id", type=record_id)
    cli.json_flag(history)


def artifacts_rate(args: argparse.Namespace, ctx: cli.Context) -> None:
    ctx.artifacts.rate(args.ids, args.rating)


def artifacts_circle(args: argparse.Namespace, ctx: cli.Context) -> None:
    ctx.artifacts.circle(args.id, not args.off)


def prompt_history(args: argparse.Namespace, ctx: cli.Context) -> None:
    current = ctx.prompts.get(args.id, include_trash=True)
    rows = [
        {
            **version_dict(v),
            "saved_at": cli_output.iso(v.saved_at),
            "current": v.version == current.version,
        }
        for v in ctx.prompts.history(args.id)
    ]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        mark = "*" if row["current"] else " "
        print(f"{mark} {row['version']}  {row['saved_at']}  {row['title']}")


CHOOSE_HANDLERS = {
    ("artifacts", "rate"): artifacts_rate,
    ("artifacts", "circle"): artifacts_circle,
    ("prompt", "history"): prompt_history,
}
