"""core.atomic on a real disk: a refused or failed write leaves the old file and no temp file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core import atomic


def refuse(path: Path) -> None:
    assert path.read_text() == "new" and path.parent.name == "folder"  # the finished temp file
    raise ValueError("not valid")


def test_a_refused_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path: Path):
    dest = tmp_path / "folder" / "a.json"
    dest.parent.mkdir()
    atomic.write_text(dest, "old")
    with pytest.raises(ValueError, match="not valid"):
        atomic.write_text(dest, "new", check=refuse)
    assert dest.read_text() == "old" and os.listdir(dest.parent) == ["a.json"]


def test_chunks_are_hashed_and_the_mode_is_set(tmp_path: Path):
    written = atomic.write_chunks([b"ab", b"c"], tmp_path / "s", mode=atomic.PRIVATE_MODE)
    assert written == atomic.Written(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3
    )
    assert (tmp_path / "s").read_bytes() == b"abc"
    assert (tmp_path / "s").stat().st_mode & 0o777 == 0o600 or os.name != "posix"


def test_a_staged_file_that_is_not_committed_is_removed(tmp_path: Path):
    with atomic.Staged(tmp_path / "db") as staged:
        staged.path.write_bytes(b"half")
    assert os.listdir(tmp_path) == []
