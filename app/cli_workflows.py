"""`workflows import FILE`: any ComfyUI workflow (API or UI format, or a file ComfyUI saved)
becomes an ordinary template in `<home>/workflows/<function>/<quality>/`.

The /object_info comes from the named (or first configured) server's cache in the home, else
from the shipped catalog of core nodes, and the output says which; only a server named with
--server that was never seen is asked over the network.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from core.config import Config
from core.errors import InputError
from executors.templates import KINDS, QUALITIES
from executors.workflow_import.catalog import ObjectInfoCache, choose, fetch
from executors.workflow_import.importer import ImportOptions, ImportResult, import_workflow
from executors.workflow_import.tiers import TierResult, add_tier


def add_workflow_commands(commands: Any) -> None:
    parser = commands.add_parser("workflows", help="import ComfyUI workflows as functions")
    actions = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
    imp = actions.add_parser(
        "import",
        help="turn a ComfyUI workflow (.json, API or UI format) or a file ComfyUI saved "
        "(PNG, WEBP, FLAC, MP3, Opus, MP4, WEBM) into a template",
    )
    imp.add_argument("file", type=Path, help="the workflow or output file")
    imp.add_argument("--function", help="function name (default: from the file name)")
    imp.add_argument("--kind", choices=KINDS, help="image, audio or video (default: from outputs)")
    imp.add_argument("--quality", choices=QUALITIES, default="standard", help="the tier")
    imp.add_argument("--server", help="check nodes and models against this server's cache")
    imp.add_argument("--replace", action="store_true", help="overwrite another workflow there")
    imp.add_argument("--json", action="store_true", help="print JSON")
    tier = actions.add_parser(
        "tier", help="add a tier to a function as overrides of its standard tier (no re-import)"
    )
    tier.add_argument("function", help="a function in <home>/workflows (e.g. one imported)")
    tier.add_argument("quality", help="the tier to add or update: low, high or premium")
    tier.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a parameter the tier pins"
    )
    tier.add_argument("--json", action="store_true", help="print JSON")


def import_file(config: Config, path: Path, options: ImportOptions) -> ImportResult:
    """Import with the best object_info the home has; the network only for a --server never
    seen. Used by the window too (without --server: no network)."""
    servers = {server.name: server for server in config.comfyui_servers}
    cache = ObjectInfoCache(config.home)
    named = options.server
    problem = ""
    if named and cache.load(named) is None:  # asked for by name, never seen: ask it now
        if named not in servers:
            raise InputError(
                f"--server: no ComfyUI server named {named!r} — use one of: "
                f"{', '.join(servers) or 'none configured (see config.json comfyui.servers)'}"
            )
        problem = fetch(servers[named], cache, config.timeouts)
    result = import_workflow(path, config.home, options, choose(cache, list(servers), named))
    return replace(result, warnings=[problem, *result.warnings]) if problem else result


def workflows_import(args: argparse.Namespace, ctx: Any) -> int:
    options = ImportOptions(args.function, args.kind, args.quality, args.server, args.replace)
    result = import_file(ctx.config, args.file, options)
    if args.json:
        print(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
    else:
        print(describe(result))
    return 0


def describe(result: ImportResult) -> str:
    """A few lines for people: what was made, where, and what keeps it from running."""
    names = ", ".join(n for n, p in result.parameters.items() if not p.get("advanced"))
    advanced = sum(1 for p in result.parameters.values() if p.get("advanced"))
    lines = [
        f"imported {result.function}/{result.quality} ({result.kind}) into {result.path}",
        f"  parameters: {names or 'none'} (+{advanced} advanced)",
    ]
    lines += [f"  warning: {warning}" for warning in result.warnings]
    return "\n".join(lines)


def workflows_tier(args: argparse.Namespace, ctx: Any) -> int:
    result = add_tier(ctx.config.home, args.function, args.quality, parse_settings(args.set))
    if args.json:
        print(json.dumps({**asdict(result), "path": str(result.path)}, ensure_ascii=False))
    else:
        print(tier_line(result))
    return 0


def tier_line(result: TierResult) -> str:
    pinned = ", ".join(f"{name}={value}" for name, value in result.settings.items())
    return f"tier {result.function}/{result.quality} ({pinned}) written to {result.path}"


def parse_settings(items: list[str]) -> dict[str, str]:
    """["steps=12", "width=768"] → {"steps": "12", "width": "768"}."""
    settings = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--set: {item!r} is not NAME=VALUE — write e.g. --set steps=12")
        settings[name.strip()] = value.strip()
    return settings


WORKFLOW_HANDLERS = {
    ("workflows", "import"): workflows_import,
    ("workflows", "tier"): workflows_tier,
}
