"""`library import DIR [--link|--copy] [--json]`: a folder of ComfyUI outputs becomes prompts and
takes (executors/library_import). Progress on stderr (a redrawn bar on a terminal: files/s and
what remains); the first Ctrl+C stops after the file in hand, keeping what was done."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from core.config import Config
from core.errors import InputError
from executors.library_import.importer import ImportProgress, ImportSummary, LibraryImport
from repositories.artifacts import ArtifactRepository
from repositories.database import Database
from repositories.prompts import PromptRepository

BAR_WIDTH = 30
LISTED = 20  # paths listed per group in the text summary; --json lists all


def add_import_command(actions: Any) -> None:
    parser = actions.add_parser(
        "import", help="make prompts and takes of a folder of ComfyUI outputs"
    )
    parser.add_argument("folder", type=Path, metavar="DIR", help="walked with its subfolders")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--copy", dest="link", action="store_false", help="copy (the default)")
    where.add_argument("--link", dest="link", action="store_true", help="reference in place")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(link=False)


def run_import(args: argparse.Namespace, config: Config, takes_for: Callable) -> int:
    folder = Path(args.folder).expanduser()
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder — give the folder of ComfyUI outputs to import")
    database = Database(config.database_path)
    try:
        artifacts = ArtifactRepository(database)
        takes = takes_for(artifacts)
        importer = LibraryImport(PromptRepository(database), artifacts, takes)
        with _stop_on_ctrl_c() as cancel:
            summary = importer.run(folder, link=args.link, cancel=cancel, progress=Bar())
            takes.drain()
    finally:
        database.close()
    print(json.dumps(summary.as_json(), indent=2) if args.json else describe(summary))
    return 130 if summary.cancelled else 1 if summary.failed else 0


@contextmanager
def _stop_on_ctrl_c() -> Iterator[threading.Event]:
    """The first Ctrl+C sets the event (the import stops between files); a second one
    interrupts at once."""
    cancel = threading.Event()

    def stop(_signum: int, _frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\nstopping after this file (Ctrl+C again to stop at once)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


class Bar:
    """Redraws one line on a terminal; otherwise prints a line every 10 %."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._tenth = -1

    def __call__(self, progress: ImportProgress) -> None:
        tenth = 10 * progress.done // max(progress.total, 1)
        if not self.tty and tenth == self._tenth:
            return
        self._tenth = tenth
        left = f", ~{progress.remaining_s:.0f} s left" if progress.remaining_s else ""
        text = f"{progress.done}/{progress.total} files, {progress.files_per_s:.1f} files/s{left}"
        if self.tty:
            filled = BAR_WIDTH * progress.done // max(progress.total, 1)
            self.stream.write(f"\r\x1b[K[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {text}")
            if progress.done == progress.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"{text}\n")
        self.stream.flush()


def describe(summary: ImportSummary) -> str:
    lines = [
        f"imported {summary.imported} of {summary.seen} files into "
        f"{len(summary.prompts_created)} new prompts; {summary.duplicates} already in the "
        f"library, {len(summary.without_graph)} without an embedded graph, "
        f"{len(summary.not_media)} not media, {len(summary.failed)} failed"
        + (
            " — stopped before the end; run it again to import the rest"
            if summary.cancelled
            else ""
        )
    ]
    lines += _listed("no embedded graph (skipped)", summary.without_graph)
    lines += _listed("failed", [f"{path}: {reason}" for path, reason in summary.failed])
    return "\n".join(lines)


def _listed(heading: str, items: Any) -> list[str]:
    items = list(items)
    more = [f"  … and {len(items) - LISTED} more (--json lists all)"] if len(items) > LISTED else []
    return [f"{heading}:", *(f"  {item}" for item in items[:LISTED]), *more] if items else []
