"""`library import`: real outputs of the project's ComfyUI server (current profile) become prompts
and takes; broken files are reported one by one; a second import adds nothing; Ctrl+C keeps
what was done."""

from __future__ import annotations

import os
import shutil
import signal
import threading
from pathlib import Path

import pytest
from PIL import Image

from app import cli_import
from executors.library_import.importer import LibraryImport
from executors.storage import ArtifactStore
from executors.takes import TakeRecorder
from repositories.artifacts import ArtifactRepository
from repositories.database import Database
from repositories.prompts import PromptRepository
from tests.library_outputs import RUNS, altered, cut, graph_chunks, make_outputs, png_with_chunks

MEDIA_FILES = 12  # what RUNS save in the output folder (PreviewAudio writes to temp)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_outputs(tmp_path_factory.mktemp("comfyui"))


@pytest.fixture
def folder(outputs: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(outputs, tmp_path / "outputs"))


def all_prompts(home: Path) -> list[tuple]:
    """(prompt, its takes) for every prompt in the library."""
    database = Database(home / "takeboard.db")
    try:
        prompts, artifacts = PromptRepository(database), ArtifactRepository(database)
        return [(p, artifacts.for_prompt(p.id)) for p in prompts.iter_all()]
    finally:
        database.close()


def prompts_by_title(home: Path) -> dict[str, tuple]:
    return {prompt.title: (prompt, takes) for prompt, takes in all_prompts(home)}


def test_outputs_become_prompts_and_takes_with_their_exact_graph(cli, home, folder):
    summary = cli.json("library", "import", str(folder))
    assert summary["files_seen"] == summary["imported"] == MEDIA_FILES
    assert summary["failed"] == summary["without_graph"] == []
    found = prompts_by_title(home)
    fox, fox_takes = found["a red fox in snow"]
    assert fox.kind == "image" and fox.data["negative_prompt"] == "blurry"
    assert fox.data["params"] == {"width": 64, "height": 64, "model": "sd_v1-5.safetensors"}
    assert sorted(t.metadata["seed"] for t in fox_takes) == [1, 2]  # one prompt, two seeds
    by_seed = {t.metadata["seed"]: t for t in fox_takes}
    assert by_seed[1].metadata["workflow"] == RUNS[0].graph  # the exact API graph
    assert by_seed[1].metadata["ui_workflow"] == RUNS[0].workflow
    assert by_seed[2].metadata["workflow"] == RUNS[1].graph
    house, _ = found["a lighthouse at dusk"]
    assert house.data["aspect_ratio"] == "3:2" and house.data["seed"] == 3
    song, song_takes = found["pop, upbeat"]
    assert (song.kind, song.data["lyrics"], song.data["tags"]) == ("audio", "[verse]\nhello GPUs",
                                                                   ["pop", "upbeat"])  # fmt: skip
    assert (song.data["tempo"], song.data["key"], song.data["seed"]) == (120, "C major", 7)
    wan, wan_takes = found["a fox runs through snow"]
    assert (wan.kind, wan.data["resolution"], wan.data["frames"]) == ("video", "64x48", 9)
    assert wan.data["fps"] == 16 and wan.data["seed"] == 5
    assert len(song_takes) == len(wan_takes) == 1
    every_take = [t for _, takes in found.values() for t in takes]
    assert len(every_take) == MEDIA_FILES
    for take in every_take:  # copied into the library, with a preview, the media kind's folder
        assert take.path.startswith(f"artifacts/{take.kind}/")
        assert not (home / take.path).is_symlink() and take.preview_path is not None
        assert (home / take.preview_path).is_file()


def test_animation_files_of_one_run_are_takes_of_one_prompt_per_kind(cli, home, folder):
    cli.json("library", "import", str(folder))
    found = prompts_by_title(home)
    names = {k: sorted(Path(t.path).name for t in takes) for k, (_, takes) in found.items()}
    animation = [n for n in names.values() if "fx_anim_00001_.webp" in n]
    assert animation == [["fx_anim_00001_.webp", "fx_apng_00001_.png"]]  # image kind, 1 prompt
    videos = [n for n in names.values() if "fx_vid_00001_.mp4" in n]
    assert videos == [["fx_vid_00001_.mp4", "fx_webm_00001_.webm"]]
    audio = [n for n in names.values() if "fx_00001.flac" in n]
    assert audio == [["fx_00001.flac", "fx_mp3_00001.mp3", "fx_opus_00001.opus"]]


def test_a_second_import_of_the_same_folder_adds_nothing(cli, home, folder):
    first = cli.json("library", "import", str(folder))
    shutil.copy(folder / "sd" / "fox_00001_.png", folder / "copy of fox.png")
    second = cli.json("library", "import", str(folder))
    assert second["imported"] == 0 and second["prompts_created"] == []
    assert second["duplicates"] == MEDIA_FILES + 1
    assert sum(len(t) for _, t in all_prompts(home)) == first["imported"]


def test_takes_of_the_same_settings_join_their_prompt_in_a_later_import(cli, home, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    png_with_chunks(one / "a.png", graph_chunks(RUNS[0].graph))
    png_with_chunks(two / "b.png", graph_chunks(altered(RUNS[0].graph, seed=99)))
    png_with_chunks(two / "c.png", graph_chunks(altered(RUNS[0].graph, steps=30)))
    assert len(cli.json("library", "import", str(one))["prompts_created"]) == 1
    assert len(cli.json("library", "import", str(two))["prompts_created"]) == 1  # steps differ
    assert sorted(len(takes) for _, takes in all_prompts(home)) == [1, 2]


def test_broken_files_are_reported_one_by_one_and_the_rest_imported(cli, home, folder, tmp_path):
    good = folder / "sd" / "fox_00001_.png"
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(good, broken / "good.png")
    Image.new("RGB", (8, 8)).save(broken / "plain.png")  # no graph
    Image.new("RGB", (8, 8)).save(broken / "photo.jpg")
    (broken / "notes.txt").write_text("not media")
    cut(good, broken / "cut.png")
    cut(folder / "fx_anim_00001_.webp", broken / "cut.webp", 0.8)
    cut(folder / "video" / "fx_vid_00001_.mp4", broken / "cut.mp4", 0.3)
    png_with_chunks(broken / "bad_crc.png", graph_chunks(RUNS[0].graph), crc_ok=False)
    png_with_chunks(broken / "not_json.png", [(b"tEXt", b"prompt\0{not json")])
    png_with_chunks(broken / "no_keyword.png", [(b"zTXt", b"prompt-without-separator")])
    png_with_chunks(broken / "list.png", [(b"tEXt", b"prompt\0[1, 2]")])
    code, out, err = cli("library", "import", str(broken))
    assert code == 1 and "Traceback" not in out + err
    assert out.startswith("imported 1 of 11 files into 1 new prompts")
    reasons = dict(line.strip().split(": ", 1) for line in out.split("failed:\n")[1].splitlines())
    assert reasons == {
        str(broken / "bad_crc.png"): "its tEXt chunk at byte 33 is damaged",
        str(broken / "cut.mp4"): reasons[str(broken / "cut.mp4")],
        str(broken / "cut.png"): reasons[str(broken / "cut.png")],
        str(broken / "cut.webp"): reasons[str(broken / "cut.webp")],
        str(broken / "list.png"): "its embedded prompt is list, not a graph",
        str(broken / "no_keyword.png"): reasons[str(broken / "no_keyword.png")],
        str(broken / "not_json.png"): reasons[str(broken / "not_json.png")],
    }
    assert reasons[str(broken / "cut.png")].startswith("it is cut short")
    assert reasons[str(broken / "cut.webp")].startswith("it is cut short")
    assert reasons[str(broken / "cut.mp4")].startswith("it is damaged or cut short")
    assert reasons[str(broken / "not_json.png")].startswith("its embedded prompt is not valid JSON")
    assert "malformed" in reasons[str(broken / "no_keyword.png")]
    assert (
        f"no embedded graph (skipped):\n  {broken / 'photo.jpg'}\n  {broken / 'plain.png'}" in out
    )
    assert len(prompts_by_title(home)) == 1


def test_link_references_files_in_place(cli, home, folder):
    summary = cli.json("library", "import", str(folder), "--link")
    assert summary["imported"] == MEDIA_FILES
    _, takes = prompts_by_title(home)["a red fox in snow"]
    for take in takes:
        link = home / take.path
        assert link.is_symlink() and link.resolve().parent == (folder / "sd").resolve()
        assert take.metadata["import"]["linked"] is True
    assert cli.json("library", "import", str(folder), "--copy")["imported"] == 0


def test_ctrl_c_stops_after_the_file_in_hand_and_keeps_what_was_done(
    cli, home, folder, monkeypatch
):
    real_bar = cli_import.Bar.__call__

    def interrupt_after_three(bar, progress):
        real_bar(bar, progress)
        if progress.done == 3:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl+C sends

    monkeypatch.setattr(cli_import.Bar, "__call__", interrupt_after_three)
    code, out, err = cli("library", "import", str(folder), "--json")
    assert code == 130 and "stopping after this file" in err
    assert '"cancelled": true' in out and '"files_seen": 3' in out
    assert sum(len(t) for _, t in all_prompts(home)) == 3
    monkeypatch.undo()
    rest = cli.json("library", "import", str(folder))
    assert (rest["imported"], rest["duplicates"]) == (MEDIA_FILES - 3, 3)


def test_cancel_between_files_in_process(home, folder):
    database = Database(home / "takeboard.db")
    artifacts = ArtifactRepository(database)
    takes = TakeRecorder(ArtifactStore(home), artifacts, home / "thumbnails")
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p)
        if p.done == 2:
            cancel.set()

    try:
        importer = LibraryImport(PromptRepository(database), artifacts, takes)
        summary = importer.run(folder, cancel=cancel, progress=progress)
        takes.drain()
        assert summary.cancelled and summary.seen == summary.imported == 2
        assert artifacts.count() == 2 and [p.total for p in seen] == [MEDIA_FILES] * 2
        assert seen[-1].files_per_s > 0 and seen[-1].remaining_s is not None
    finally:
        database.close()


def test_a_path_that_is_not_a_folder_is_one_line(cli, tmp_path):
    code, _, err = cli("library", "import", str(tmp_path / "missing"))
    assert code == 2
    assert err.strip() == f"error: {tmp_path / 'missing'} is not a folder — give the folder of " \
        "ComfyUI outputs to import"  # fmt: skip
