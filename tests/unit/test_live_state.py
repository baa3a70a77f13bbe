"""The gallery / queue / status-bar logic, without a display."""

from __future__ import annotations

import time

from app.gallery_state import GridLayout, caption, take_details
from app.live_state import (
    ABOUT_BACKENDS,
    AMBER,
    CREDITS,
    GREEN,
    GREY,
    RED,
    JobTable,
    counts_text,
    eta_text,
    indicator,
    progress_text,
    vram_text,
)
from core.jobs import (
    ArtifactSaved,
    JobAccepted,
    JobFinished,
    JobPreview,
    JobProgress,
    JobQueued,
    JobRetrying,
    JobStarted,
    JobWaiting,
    PreviewReady,
)
from core.models import ArtifactRecord, MediaKind
from executors.pool import ServerState


def server(name: str = "local", **changes) -> ServerState:
    values = dict(
        name=name,
        kind="comfyui",
        url="http://127.0.0.1:8188",
        online=True,
        vram_total_mb=24576,
        vram_free_mb=18432,
        vram_source="server",
        queue_running=0,
        queue_pending=0,
        success_rate=None,
        median_latency_ms=None,
        reserved_gb=0.0,
        slots_used=0,
        breaker_open=False,
        last_error=None,
    )
    values.update(changes)
    return ServerState(**values)


def test_job_table_folds_a_job_from_queued_to_done():
    table = JobTable()
    view = table.apply(JobQueued(1, prompt_id=7))
    assert (view.state, view.prompt_id, view.status_text()) == ("queued", 7, "Queued")
    assert table.apply(JobAccepted(1, remote_id="abc")).status_text() == "Queued on server"
    view = table.apply(JobStarted(1, server="local", template="sdxl", tier="draft"))
    assert (view.state, view.server, view.tier) == ("running", "local", "draft")
    view = table.apply(JobProgress(1, 0.5, "Sampling 15/30", eta_s=42))
    assert (view.percent, view.status_text(), eta_text(view.eta_s)) == (
        50.0,
        "Sampling 15/30",
        "42s",
    )
    assert progress_text(view) == "#1 Sampling 15/30 · 50% · ETA 42s"
    assert table.apply(JobPreview(1, b"png", "image/png")) is view
    table.apply(ArtifactSaved(1, artifact_id=3, path="a.png"))
    assert table.apply(PreviewReady(1, artifact_id=3, preview_path="p.jpg")) is None
    view = table.apply(JobFinished(1, status="done", artifact_ids=(3,)))
    assert (view.state, view.fraction, view.active, view.artifact_ids) == ("done", 1.0, False, [3])


def test_waiting_retrying_and_failed_texts():
    table = JobTable()
    assert table.apply(JobWaiting(2, "GPU memory")).status_text() == "Waiting: GPU memory"
    view = table.apply(JobRetrying(2, attempt=2, delay_s=5, reason="connection refused"))
    assert view.status_text() == "Retrying: attempt 2 in 5s (connection refused)"
    view = table.apply(JobFinished(2, status="failed", error="out of memory"))
    assert view.status_text() == "Failed: out of memory"
    assert table.counts() == {"running": 0, "queued": 0, "failed": 1}


def test_order_counts_current_and_prune():
    table = JobTable(keep_finished=1)
    for job_id in (1, 2, 3, 4):
        table.apply(JobQueued(job_id, prompt_id=1))
    table.apply(JobStarted(3, server="a", template="t", tier="draft"))
    table.apply(JobStarted(4, server="b", template="t", tier="draft"))
    table.apply(JobFinished(1, status="cancelled"))
    assert [v.job_id for v in table.ordered()] == [3, 4, 2, 1]
    assert table.current().job_id == 4
    assert table.counts() == {"running": 2, "queued": 1, "failed": 0}
    table.apply(JobFinished(4, status="done"))
    assert table.current().job_id == 3
    assert table.prune() == [1]
    assert sorted(table.jobs) == [2, 3, 4]
    assert counts_text(2, 1, 0) == "2 running · 1 queued · 0 failed"


def test_eta_text():
    assert [eta_text(s) for s in (None, -1, 0, 59.4, 185, 3723)] == [
        "",
        "",
        "0s",
        "59s",
        "3:05",
        "1:02:03",
    ]


def test_indicator_colours_and_tooltips():
    assert indicator(server()).colour == GREEN
    busy = indicator(server(queue_running=1, queue_pending=2))
    assert (busy.colour, busy.status) == (AMBER, "busy (1 running, 2 pending)")
    assert indicator(server(online=None)).colour == GREY
    off = indicator(server("box", online=False, last_error="connection refused"))
    assert off.colour == GREY
    assert off.tooltip.splitlines() == [
        "box — http://127.0.0.1:8188",
        "Offline",
        "VRAM 6.0/24.0 GB",
        "Last error: connection refused",
    ]
    assert indicator(server(breaker_open=True, queue_running=1)).colour == RED


def test_a_wangp_indicator_discloses_wangp():
    tooltip = indicator(server("wangp", kind="wangp")).tooltip
    assert "Video by WanGP (deepbeepmeep/Wan2GP)" in tooltip and "Terms" in tooltip
    assert "WanGP" not in indicator(server()).tooltip
    assert CREDITS["wangp"] in ABOUT_BACKENDS


def test_vram_text_sums_online_servers():
    states = [
        server(),
        server("b", vram_total_mb=8192, vram_free_mb=8192),
        server("c", online=False),
    ]
    assert vram_text(states) == "VRAM 6.0/32.0 GB"
    assert vram_text([server(vram_total_mb=None, vram_free_mb=None)]) == "VRAM –"
    same_gpu = [
        server("comfy", vram_source="nvml", online=False),
        server("comfy2", vram_source="nvml"),
        server("wangp", kind="wangp", vram_source="nvml"),
    ]
    assert vram_text(same_gpu) == "VRAM 6.0/24.0 GB"  # this machine's GPU counts once


def test_caption():
    created = time.mktime((2024, 5, 6, 7, 8, 0, 0, 0, -1))
    record = ArtifactRecord(
        1,
        1,
        MediaKind.IMAGE,
        "a.png",
        None,
        "x",
        1,
        metadata={"tier": "draft", "seed": 42},
        created_at=created,
    )
    assert caption(record) == "draft · seed 42\n2024-05-06 07:08"
    assert caption(ArtifactRecord(1, 1, MediaKind.IMAGE, "a.png", None, "x", 1)) == ""


def test_grid_layout():
    grid = GridLayout(tile_w=100, tile_h=120, gap=10)
    assert grid.columns(0) == 1
    assert grid.columns(330) == 2 and grid.columns(340) == 3
    assert grid.position(0, 3) == (10, 10)
    assert grid.position(4, 3) == (120, 140)
    assert grid.height(7, 3) == 10 + 3 * 130
    assert grid.visible(10, 3, 0, 100) == range(0, 3)
    assert grid.visible(10, 3, 135, 270) == range(3, 6)
    assert grid.visible(10, 3, 135, 271) == range(3, 9)
    assert grid.visible(10, 3, 0, 10_000) == range(0, 10)
    assert grid.visible(0, 3, 0, 500) == range(0, 0)


def test_a_text_take_says_so_and_details_list_the_shown_texts():
    meta = {
        "tier": "standard",
        "seed": 7,
        "template": "create_audio/standard",
        "server": {"name": "gpu", "url": "http://gpu:8188"},
        "texts": {"12": ["verse one", "chorus"]},
        "output": {"media": "text"},
    }
    record = ArtifactRecord(3, 1, MediaKind.AUDIO, "a/12_text.txt", None, "x", 1, metadata=meta)
    assert caption(record).startswith("text · standard · seed 7")
    details = take_details(record).splitlines()
    assert details[0] == "file: a/12_text.txt"
    assert "server: gpu (http://gpu:8188)" in details
    assert details[-2:] == ["text from node 12: verse one", "text from node 12: chorus"]
