"""A damaged library is noticed and nothing is written into it; backups; `library check|repair`;
a full disk says "disk full" (issue 15 items 6 and 9). Real SQLite files through the CLI; the
full disk is a real, small tmpfs mounted for the test (needs root, as on this project's CI)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from repositories import library
from repositories.database import SCHEMA_VERSION, Database

ADD = ("prompt", "add", "--kind", "image", "--data", '{"prompt": "a fox"}', "--title")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def a_library_with_takes(cli, home: Path, prompts: int = 3) -> Path:
    for n in range(prompts):
        assert cli(*ADD, f"p{n}")[0] == 0
    take = home / "artifacts" / "image" / "1_20261207-010000-000"
    take.mkdir(parents=True)
    (take / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return home / "takeboard.db"


def damage_an_index_page(path: Path) -> None:
    """4 KB of garbage over the artifact index's page: reads of prompts still work."""
    with sqlite3.connect(path) as connection:
        (page,) = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'artifact_prompt'"
        ).fetchone()
    connection.close()
    with path.open("r+b") as handle:
        handle.seek((page - 1) * 4096)
        handle.write(os.urandom(4096))


def test_an_empty_file_beside_takes_is_not_a_new_library(cli, home):
    path = a_library_with_takes(cli, home)
    path.write_bytes(b"")
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    code, out, err = cli("prompt", "list")
    assert code == 1 and out == ""
    assert "is damaged (the file is empty but artifacts/ holds takes)" in err
    assert "library repair" in err and err.count("\n") == 1
    assert path.stat().st_size == 0  # nothing was written into it


def test_an_empty_file_without_takes_is_a_new_library(cli, home):
    (home / "takeboard.db").write_bytes(b"")
    assert cli(*ADD, "first") == (0, "1\n", "")


def test_garbage_in_the_file_refuses_reads_and_writes_and_changes_nothing(cli, home):
    path = a_library_with_takes(cli, home)
    damage_an_index_page(path)
    before = digest(path)
    for args in (ADD + ("more",), ("prompt", "list")):
        code, _out, err = cli(*args)
        assert code == 1 and "is damaged (quick_check: " in err, err
        assert "library repair" in err and err.count("\n") == 1
    assert digest(path) == before


def test_backups_daily_and_before_a_migration_newest_kept(home):
    path = home / "takeboard.db"
    Database(path, migrate_to=SCHEMA_VERSION - 1).close()  # an older Takeboard's library
    Database(path).close()
    (before,) = library.backups(path)
    assert before.name.endswith(f"-before-v{SCHEMA_VERSION}.db")
    assert not library.inspect(before) and not Path(f"{before}-wal").exists()
    Database(path).close()
    assert library.backups(path) == [before]  # not due again the same day
    for _ in range(library.BACKUPS_KEPT + 2):
        day_old = time.time() - library.BACKUP_EVERY_S
        for backup in library.backups(path):
            os.utime(backup, (day_old, day_old))
        Database(path).close()
    assert len(library.backups(path)) == library.BACKUPS_KEPT


def test_check_and_repair_restore_the_newest_sound_backup(cli, home):
    path = a_library_with_takes(cli, home, prompts=2)  # the second open made the daily backup
    damage_an_index_page(path)
    code, out, _err = cli("library", "check")
    assert code == 1 and "DAMAGED" in out and "library repair" in out
    code, out, err = cli("library", "repair")
    assert code == 0, err
    assert "restored takeboard-" in out
    assert list((home / "backups").glob("damaged-takeboard-*.db"))
    assert [p["title"] for p in cli.json("prompt", "list")] == ["p0"]  # as the backup had it
    report = cli.json("library", "check")
    assert report["problems"] == [] and report["missing_files"] == []


def test_repair_without_a_sound_backup_changes_nothing(cli, home):
    path = a_library_with_takes(cli, home, prompts=1)
    damage_an_index_page(path)
    before = digest(path)
    code, _out, err = cli("library", "repair")
    assert code == 1 and "holds no sound backup" in err and ".recover" in err
    assert digest(path) == before


def test_repair_forgets_records_of_vanished_files(cli, home, ctx):
    prompt = ctx.prompts.add("image", "t", {"prompt": "x"})
    ctx.artifacts.add(prompt_id=prompt.id, kind="image", path="artifacts/image/x/gone.png",
                      sha256="0" * 64, size=1)  # fmt: skip
    code, out, _err = cli("library", "check", "--json")
    assert code == 1 and json.loads(out)["missing_files"] == ["artifacts/image/x/gone.png"]
    code, out, err = cli("library", "repair")
    assert code == 0 and "forgot 1 take records" in out, err
    assert ctx.artifacts.count() == 0


# --- a full disk ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MiB filesystem (tmpfs), so ENOSPC comes from the kernel, not from a patch."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()}); needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> None:
    with (folder / "filler").open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass


def test_a_full_disk_says_disk_full_when_the_library_is_written(cli, small_disk, monkeypatch):
    cli.home = small_disk
    assert cli(*ADD, "fits")[0] == 0
    fill(small_disk)
    results = [cli(*ADD, "x" * 250) for _ in range(40)]
    failed = [(code, err) for code, _out, err in results if code != 0]
    assert failed, "every write fitted on the full disk"
    code, err = failed[0]
    assert code == 1 and "disk full" in err and "internal error" not in err, err
    assert err.count("\n") == 1, err  # one line: no logging traceback either
    assert "check the file is a Takeboard database" not in err


def test_a_full_disk_while_storing_a_take_says_disk_full(small_disk):
    from core.errors import StorageError
    from executors.storage import ArtifactStore

    store = ArtifactStore(small_disk)
    take = store.make_take_dir("image", 1)
    with pytest.raises(StorageError, match="disk full — free some space"):
        store.write_stream(iter([b"\x89PNG\r\n\x1a\n", b"\0" * (3 * 1024 * 1024)]), take / "a.png")
    assert list(take.iterdir()) == []


def test_a_file_named_thumbnails_breaks_no_command(cli, home):
    (home / "thumbnails").write_text("not a folder")
    assert cli(*ADD, "ok") == (0, "1\n", "")
    assert cli("prompt", "list")[0] == 0
