"""What `library import` costs: 2,000 ComfyUI outputs of mixed kinds (PNG images, animated WEBP,
MP4 video, FLAC songs), each carrying its graph as ComfyUI embeds it, imported into a fresh
library (copied, previews made), then imported again (nothing new), then linked in place into
another fresh library.

The corpus is written by a child process (the project's ComfyUI test server's embedding code,
executors/demo_server/media.py): 40 prompt texts × seeds, so files group into prompts as a real
output folder does. Peak memory is the importing process's maximum resident set (the corpus is
made elsewhere) and the peak of Python allocations (tracemalloc, on a separate re-import run).

Run: .venv/bin/python -m bench.library_import [--files 2000] [--corpus DIR]
Results: RESULTS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from executors.library_import.importer import LibraryImport
from executors.storage import ArtifactStore
from executors.takes import TakeRecorder
from repositories.artifacts import ArtifactRepository
from repositories.database import Database
from repositories.prompts import PromptRepository

MIX = (("png", 0.7), ("webp", 0.1), ("mp4", 0.1), ("flac", 0.1))
TEXTS = 40


def make_corpus(folder: Path, files: int) -> None:
    """`files` outputs in day folders, as ComfyUI's output folder fills up."""
    from PIL import Image

    from executors.demo_server import media
    from tests.comfyui_server.examples import txt2img
    from tests.library_outputs import song, ui_workflow, wan_video

    rng = random.Random(7)
    noise = Image.frombytes("RGB", (512, 512), rng.randbytes(512 * 512 * 3))
    made = 0
    for kind, share in MIX:
        for n in range(round(files * share)):
            text, seed = f"subject {n % TEXTS}", n
            day = folder / f"2026-11-{1 + n % 28:02d}"
            day.mkdir(parents=True, exist_ok=True)
            workflow = {"workflow": ui_workflow(text)}
            if kind == "png":
                graph = txt2img(seed=seed, text=text, width=512, height=512)
                noise.save(day / f"img_{made:05}_.png", pnginfo=media.png_metadata(graph, workflow))
            elif kind == "flac":
                media.copy_sample(
                    "flac", day / f"song_{made:05}.flac", song(text, "la", seed), workflow
                )
            else:
                graph = wan_video(text, seed)
                media.copy_sample(kind, day / f"clip_{made:05}_.{kind}", graph, workflow)
            made += 1


def run_import(home: Path, corpus: Path, *, link: bool = False) -> tuple[float, object]:
    database = Database(home / "takeboard.db")
    try:
        artifacts = ArtifactRepository(database)
        takes = TakeRecorder(ArtifactStore(home), artifacts, home / "thumbnails")
        start = time.perf_counter()
        summary = LibraryImport(PromptRepository(database), artifacts, takes).run(corpus, link=link)
        recorded = time.perf_counter() - start
        takes.drain()
        total = time.perf_counter() - start
        print(f"  records written in {recorded:.1f} s, previews {total - recorded:.1f} s later")
        return total, summary
    finally:
        database.close()


def report(label: str, seconds: float, summary) -> None:
    print(
        f"{label:<34} {seconds:7.1f} s  {summary.seen / seconds:7.1f} files/s  "
        f"imported {summary.imported}, duplicates {summary.duplicates}, "
        f"prompts {len(summary.prompts_created)}, failed {len(summary.failed)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--corpus", type=Path, help="reuse (or make) the corpus here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    corpus = args.corpus or work / "outputs"
    if not corpus.exists():
        child = multiprocessing.Process(target=make_corpus, args=(corpus, args.files))
        child.start()
        child.join()
    size = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    print(f"corpus: {sum(1 for p in corpus.rglob('*') if p.is_file())} files, {size / 1e6:.0f} MB")
    home = work / "home"
    home.mkdir()
    report("import (copy, previews)", *run_import(home, corpus))
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS after the import: {peak_rss:.0f} MB")
    report("re-import of the same folder", *run_import(home, corpus))
    tracemalloc.start()
    seconds, summary = run_import(home, corpus)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    report("re-import under tracemalloc", seconds, summary)
    print(f"peak Python allocations of a re-import: {peak / 1e6:.1f} MB")
    linked = work / "linked"
    linked.mkdir()
    report("import (--link, previews)", *run_import(linked, corpus, link=True))
    print(f"work folder: {work}")


if __name__ == "__main__":
    main()
