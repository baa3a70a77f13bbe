"""`draft`: an LLM screenwriter turns a one-line idea into a validated prompt (the engine API's
screenwriter, executors/backends/llm/). Model and server come from --model/--api-base, else from
TAKEBOARD_LLM_MODEL / TAKEBOARD_LLM_API_BASE, else from config.json's "llm" block; hosted
providers need online access allowed.
litellm is imported only when the command runs."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from app.cli_args import user_text

if TYPE_CHECKING:  # app.cli imports this module; no import back at run time
    from app.cli import Context


def add_draft_commands(commands: Any) -> None:
    draft_parser = commands.add_parser(
        "draft", help="draft a full prompt from a one-line idea with an LLM (local first)"
    )
    draft_parser.add_argument(
        "idea", metavar="IDEA", type=user_text, help='the idea, e.g. "a sea shanty"'
    )
    draft_parser.add_argument("--kind", required=True, help="image, audio (or song) or video")
    draft_parser.add_argument("--save", action="store_true", help="store it; prints the new id")
    draft_parser.add_argument(
        "--tag", action="append", dest="tags", type=user_text, help="a tag (with --save)"
    )
    draft_parser.add_argument("--model", help="provider/model, e.g. ollama/llama3")
    draft_parser.add_argument("--api-base", help="server URL, e.g. http://127.0.0.1:11434")
    draft_parser.add_argument("--json", action="store_true", help="print JSON")


def draft(args: argparse.Namespace, ctx: Context) -> None:
    if ctx.control is None:
        raise RuntimeError("no engine API was wired for this command")
    kind, title, data = ctx.control.draft(
        ctx.config, args.kind, args.idea, model=args.model, api_base=args.api_base
    )
    record_id = None
    if args.save:
        record_id = ctx.prompts.add(kind, title, data, tags=args.tags or []).id
    if args.json:
        result = {"id": record_id, "kind": kind.value, "title": title, "data": data}
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    print(f"{kind.value}  {title}")
    for key, value in data.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, str) and "\n" in value:
            print(f"  {key}:")
            print("\n".join(f"    {line}" for line in value.splitlines()))
        else:
            print(f"  {key}: {value}")
    if record_id is not None:
        print(record_id)


DRAFT_HANDLERS = {("draft", None): draft}
