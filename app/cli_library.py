"""`library check` and `library repair`: look at a library that may be damaged, and mend it.

These commands open the library file themselves (main.py runs them before the normal open,
which refuses a damaged file): `check` reads only; `repair` puts the newest sound backup in
place of a damaged file (the damaged one is kept beside the backups), then forgets take records
whose files are gone and makes missing previews.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from app.cli_import import add_import_command, run_import
from core.config import Config
from core.errors import DatabaseError
from repositories import library
from repositories.artifacts import ArtifactRepository
from repositories.database import Database

TakesFor = Callable[[ArtifactRepository], Any]  # main.build_takes: a TakeRecorder


def add_library_commands(commands: Any) -> None:
    parser = commands.add_parser("library", help="check or repair the library file")
    actions = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
    check = actions.add_parser("check", help="full integrity check, backups, missing take files")
    check.add_argument("--json", action="store_true", help="print JSON")
    actions.add_parser("repair", help="restore the newest sound backup if the file is damaged, "
                       "then forget records of vanished take files")  # fmt: skip
    add_import_command(actions)


def run_library(args: argparse.Namespace, config: Config, takes_for: TakesFor) -> int:
    if args.action == "check":
        return check(config.database_path, takes_for, as_json=args.json)
    if args.action == "import":
        return run_import(args, config, takes_for)
    return repair(config.database_path, takes_for)


def check(path: Path, takes_for: TakesFor, *, as_json: bool) -> int:
    report: dict[str, Any] = {"library": str(path), "problems": library.inspect(path)}
    report["backups"] = [str(b) for b in library.backups(path)]
    if not report["problems"]:
        missing, unpreviewed = _scan(path, takes_for)
        report["missing_files"] = [f.path for f in missing]
        report["without_preview"] = len(unpreviewed)
    ok = not report["problems"] and not report.get("missing_files")
    print(json.dumps(report, indent=2) if as_json else _describe(report))
    return 0 if ok else 1


def _scan(path: Path, takes_for: TakesFor) -> tuple[list[Any], list[Any]]:
    database = Database(path)
    try:
        return takes_for(ArtifactRepository(database)).scan()
    finally:
        database.close()


def _describe(report: dict[str, Any]) -> str:
    problems, backups = report["problems"], report["backups"]
    lines = [
        f"library {report['library']}: "
        + (f"DAMAGED: {library.first_problem(problems)}" if problems else "integrity ok"),
        f"backups: {len(backups)}" + (f", newest {_when(Path(backups[0]))}" if backups else ""),
    ]
    if "missing_files" in report:
        lines.append(
            f"take records whose files are gone: {len(report['missing_files'])}; "
            f"takes without a preview: {report['without_preview']}"
        )
    if problems or report.get("missing_files"):
        lines.append("to mend it: python main.py library repair")
    return "\n".join(lines)


def _when(path: Path) -> str:
    stamp = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    return f"{stamp} ({path})"


def repair(path: Path, takes_for: TakesFor) -> int:
    if library.inspect(path):
        restored = library.restore_newest_good(path)
        if restored is None:
            raise DatabaseError(
                f"the library {path} is damaged and {library.backup_folder(path)} holds no sound "
                f"backup — nothing was changed; salvage what SQLite can read with: sqlite3 "
                f"{path} .recover | sqlite3 recovered.db"
            )
        print(f"restored {restored.name}; the damaged file was kept in {restored.parent}")
    database = Database(path)
    try:
        recovery = takes_for(ArtifactRepository(database)).recover(lambda _event: None, force=True)
    finally:
        database.close()
    print(
        f"forgot {recovery.removed} take records whose files are gone; "
        f"made {recovery.previews} missing previews"
    )
    return 0
