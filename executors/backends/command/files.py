"""What a command wrote: the output folder before and after a run, and copying the new files
into the job's folder. Called on the worker thread that runs the job."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

PARTIAL_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload", ".lock", ".temp", "~")

Snapshot = dict[Path, tuple[int, int, int]]  # a file → (mtime_ns, size, inode)


def snapshot(folder: Path) -> Snapshot:
    """Every visible, finished file below `folder` with (mtime_ns, size, inode)."""
    found: Snapshot = {}
    if not folder.is_dir():
        return found
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(root) / name
            if _is_hidden_or_partial(path.relative_to(folder)):
                continue
            try:
                st = path.stat()
            except OSError:  # vanished meanwhile
                continue
            if path.is_file():
                found[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return found


def changed(folder: Path, before: Mapping[Path, tuple[int, int, int]]) -> list[Path]:
    """The files made or changed below `folder` since `before` was taken."""
    return [path for path, sig in snapshot(folder).items() if before.get(path) != sig]


def is_inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def copy_into(files: Iterable[Path], folder: Path) -> list[Path]:
    """Copies each file into `folder` keeping its name (`name_1.ext` on a clash)."""
    copies = []
    for source in files:
        target = folder / source.name
        n = 1
        while target.exists():
            target = folder / f"{source.stem}_{n}{source.suffix}"
            n += 1
        shutil.copy2(source, target)
        copies.append(target)
    return copies


def _is_hidden_or_partial(relative: Path) -> bool:
    if any(part.startswith(".") for part in relative.parts):
        return True
    return relative.name.lower().endswith(PARTIAL_SUFFIXES)
