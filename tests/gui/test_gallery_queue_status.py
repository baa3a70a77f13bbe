"""The takes gallery, the queue panel and the status bar on a real Tk (Xvfb)."""

from __future__ import annotations

import io
from pathlib import Path
from tkinter import ttk

import pytest
from PIL import Image

from app.live_state import GREY, RED
from app.views.gallery import TakesGallery
from app.views.queue_panel import QueuePanel
from app.views.status_bar import StatusBar
from core.jobs import (
    ArtifactSaved,
    JobFinished,
    JobPreview,
    JobProgress,
    JobQueued,
    JobStarted,
    PreviewReady,
)
from executors.pool import ServerState
from tests.gui.conftest import pump


class Recorder:
    """Any action the widgets call is recorded as (name, *args)."""

    def __init__(self):
        self.calls: list[tuple] = []

    def __getattr__(self, name: str):
        return lambda *args: self.calls.append((name, *args))


def png(path: Path, colour: str, size: tuple[int, int] = (512, 384)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def png_bytes(colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def takes(ctx, home: Path):
    """A prompt with three takes: two with previews on disk, one whose preview is not made yet."""
    prompt = ctx.prompts.add("image", "Fox", {"prompt": "a red fox"})
    records = []
    for n, colour in enumerate(("red", "green", "blue")):
        png(home / f"takes/{n}.png", colour)
        preview = f"previews/{n}.jpg" if n < 2 else None
        if preview:
            png(home / preview, colour)
        records.append(
            ctx.artifacts.add(
                prompt_id=prompt.id, kind="image", path=f"takes/{n}.png", sha256=f"{n}", size=1,
                preview_path=preview, metadata={"tier": "draft", "seed": 100 + n},
            )
        )  # fmt: skip
    return prompt, records


def wait_for(root, condition, timeout_ms: int = 3000) -> None:
    for _ in range(timeout_ms // 20):
        if condition():
            return
        pump(root, 20)
    assert condition()


def tile_centre(gallery: TakesGallery, artifact_id: int) -> tuple[int, int]:
    x0, y0, x1, y1 = gallery.canvas.bbox(f"a{artifact_id}")
    return (x0 + x1) // 2, (y0 + y1) // 2 - int(gallery.canvas.canvasy(0))


def test_gallery_shows_thumbnails_and_acts_on_takes(root, ctx, home, takes):
    prompt, records = takes
    actions = Recorder()
    gallery = TakesGallery(root, ctx.artifacts, home, actions)
    gallery.pack(fill="both", expand=True)
    root.geometry("900x600")
    pump(root)
    gallery.show_prompt(prompt.id)
    canvas = gallery.canvas
    wait_for(root, lambda: len(canvas.find_withtag("thumb")) == 2)
    newest_first = [r.id for r in reversed(records)]
    assert [r.id for r in gallery.records] == newest_first
    assert canvas.itemcget(canvas.find_withtag(f"a{records[2].id}&&pending")[0], "text") == (
        "image\npreview pending…"
    )
    caption = canvas.itemcget(canvas.find_withtag(f"a{records[0].id}&&caption")[0], "text")
    assert caption.startswith("draft · seed 100\n")

    # The missing preview arrives: the placeholder becomes a picture.
    png(home / "previews/2.jpg", "blue")
    gallery.handle(PreviewReady(1, artifact_id=records[2].id, preview_path="previews/2.jpg"))
    wait_for(root, lambda: len(canvas.find_withtag("thumb")) == 3)
    assert canvas.find_withtag("pending") == ()

    x, y = tile_centre(gallery, records[1].id)
    for _ in range(2):  # Tk cannot generate <Double-…>; two quick clicks make one
        canvas.event_generate("<ButtonPress-1>", x=x, y=y)
        canvas.event_generate("<ButtonRelease-1>", x=x, y=y)
    assert actions.calls == [("view_take", gallery.records, records[1].id)]  # the take viewer

    posted = []
    gallery.post_menu = lambda x_root, y_root: posted.append((x_root, y_root))
    x, y = tile_centre(gallery, records[0].id)
    canvas.event_generate("<Button-3>", x=x, y=y)
    assert len(posted) == 1
    gallery.menu.invoke("Regenerate same seed")
    gallery.menu.invoke("Copy path")
    assert actions.calls[1:] == [
        ("regenerate_same_seed", records[0].id),
        ("copy_path", home / "takes/0.png"),
    ]

    # A new take of this prompt appears on ArtifactSaved; the loaded pictures are kept.
    png(home / "previews/3.jpg", "white")
    new = ctx.artifacts.add(
        prompt_id=prompt.id, kind="image", path="takes/3.png", sha256="3", size=1,
        preview_path="previews/3.jpg",
    )  # fmt: skip
    gallery.handle(ArtifactSaved(1, artifact_id=new.id, path="takes/3.png"))
    wait_for(root, lambda: len(canvas.find_withtag("thumb")) == 4)


def test_take_details_show_the_texts_the_workflow_displayed(root, ctx, home):
    prompt = ctx.prompts.add("audio", "Shanty", {"lyrics": "yo ho", "tags": ["folk"]})
    png(home / "takes/song.png", "red")
    meta = {"tier": "standard", "seed": 5, "texts": {"12": ["folk, sea shanty"]}}
    take = ctx.artifacts.add(
        prompt_id=prompt.id, kind="audio", path="takes/song.png", sha256="s", size=1,
        metadata=meta,
    )  # fmt: skip
    gallery = TakesGallery(root, ctx.artifacts, home, Recorder())
    gallery.pack(fill="both", expand=True)
    pump(root)
    gallery.show_prompt(prompt.id)
    wait_for(root, lambda: len(gallery.records) == 1)
    gallery.post_menu = lambda x_root, y_root: None
    x, y = tile_centre(gallery, take.id)
    gallery.canvas.event_generate("<Button-3>", x=x, y=y)
    gallery.menu.invoke("Details…")
    pump(root)
    [window] = [w for w in gallery.winfo_children() if w.winfo_class() == "Toplevel"]
    [text] = window.winfo_children()
    shown = text.get("1.0", "end")
    assert "text from node 12: folk, sea shanty" in shown and "seed: 5" in shown
    text.focus_force()
    pump(root)
    text.event_generate("<Escape>")
    pump(root)
    assert not window.winfo_exists()


def test_gallery_loads_only_tiles_near_the_view(root, ctx, home):
    prompt = ctx.prompts.add("image", "Many", {"prompt": "many"})
    rows = []
    for n in range(60):
        png(home / f"p/{n}.png", "gray", size=(32, 32))
        rows.append(
            dict(prompt_id=prompt.id, kind="image", path=f"t/{n}.png", sha256=str(n), size=1,
                 preview_path=f"p/{n}.png")
        )  # fmt: skip
    ctx.artifacts.add_many(rows)
    gallery = TakesGallery(root, ctx.artifacts, home, Recorder())
    gallery.pack(fill="both", expand=True)
    root.geometry("900x400")
    pump(root)
    gallery.show_prompt(prompt.id)
    canvas = gallery.canvas
    wait_for(root, lambda: not gallery._requested)
    loaded = len(canvas.find_withtag("thumb"))
    assert 0 < loaded < 60
    assert len(canvas.find_withtag("caption")) == 60
    last = f"a{gallery.records[-1].id}&&thumb"
    assert canvas.find_withtag(last) == ()
    canvas.yview_moveto(1.0)  # scrolling loads the tiles that come into view
    wait_for(root, lambda: canvas.find_withtag(last) != ())
    assert loaded < len(canvas.find_withtag("thumb")) < 60


def test_queue_panel_follows_a_job(root):
    actions = Recorder()
    panel = QueuePanel(root, actions)
    panel.pack(fill="both", expand=True)
    pump(root)
    panel.handle(JobQueued(5, prompt_id=1))
    panel.handle(JobQueued(6, prompt_id=1))
    assert panel.tree.get_children() == ("5", "6")
    assert panel.tree.set("6", "status") == "Queued"

    panel.handle(JobStarted(6, server="local", template="sdxl", tier="draft"))
    assert panel.tree.get_children() == ("6", "5")  # running first
    panel.handle(JobProgress(6, 0.5, "Sampling 15/30", eta_s=65))
    assert float(panel.progress["value"]) == 50.0
    assert panel.current.cget("text") == "#6 Sampling 15/30"
    assert panel.eta.cget("text") == "ETA 1:05"
    assert panel.tree.set("6", "progress") == "50%"
    assert panel.preview.cget("image") == ""

    panel.handle(JobPreview(6, png_bytes("red"), "image/png"))
    panel.handle(JobPreview(6, png_bytes("blue"), "image/png"))  # only the newest is drawn
    wait_for(root, lambda: panel.preview.cget("image") != "", timeout_ms=500)
    assert panel.preview_photo is not None and panel.preview_photo.width() == 64
    assert panel.preview_count == 1

    panel.handle(JobFinished(6, status="done", artifact_ids=(9,)))
    assert panel.tree.set("6", "status") == "Done"
    assert "done" in panel.tree.item("6", "tags")
    assert panel.tree.get_children() == ("5", "6")

    panel.tree.selection_set("5")
    pump(root)
    panel.cancel_button.invoke()
    panel.pause_button.invoke()
    assert panel.pause_button.cget("text") == "Resume queue"
    panel.pause_button.invoke()
    panel.retry_button.invoke()
    assert actions.calls == [("cancel", 5), ("pause",), ("resume",), ("retry_failed",)]


def state(name: str, **changes) -> ServerState:
    values = dict(
        name=name, kind="comfyui", url=f"http://{name}:8188", online=True, vram_total_mb=24576,
        vram_free_mb=16384, vram_source="server", queue_running=0, queue_pending=0,
        success_rate=None, median_latency_ms=None, reserved_gb=0.0, slots_used=0,
        breaker_open=False, last_error=None,
    )  # fmt: skip
    values.update(changes)
    return ServerState(**values)


def test_status_bar_shows_servers_counts_and_progress(root):
    bar = StatusBar(root)
    bar.pack(fill="x")
    pump(root)
    bar.update_servers(
        [state("gpu1", breaker_open=True), state("box", online=False, last_error="refused")]
    )
    pump(root)
    assert bar.colour("gpu1") == RED
    assert bar.colour("box") == GREY
    assert bar.tooltip_text("box") == "box — http://box:8188\nOffline\nVRAM 8.0/24.0 GB\n" + (
        "Last error: refused"
    )
    assert bar.vram.cget("text") == "VRAM 8.0/24.0 GB"

    indicator = bar.indicators["box"]
    indicator.event_generate("<Enter>", x=2, y=2)
    pump(root)
    assert bar.tooltip.showing_text() == bar.tooltip_text("box")
    indicator.event_generate("<Leave>")
    pump(root)
    assert bar.tooltip.showing_text() is None

    bar.update_servers([state("gpu1")])  # a server that left is dropped
    assert list(bar.indicators) == ["gpu1"]

    bar.update_counts(1, 2, 3)
    assert bar.counts.cget("text") == "1 running · 2 queued · 3 failed"
    bar.handle(JobStarted(4, server="gpu1", template="t", tier="draft"))
    bar.handle(JobProgress(4, 0.25, "Sampling 5/20", eta_s=30))
    assert bar.job.cget("text") == "#4 Sampling 5/20 · 25% · ETA 30s"
    assert float(bar.job_progress["value"]) == 25.0
    bar.handle(JobFinished(4, status="done"))
    assert bar.job.cget("text") == ""
    assert isinstance(bar.job_progress, ttk.Progressbar)
