"""The status bar's memory label and tooltips for servers on other device types (Xvfb)."""

from __future__ import annotations

from app.views.status_bar import StatusBar
from executors.pool import ServerState
from executors.vram import Device
from tests.gui.conftest import pump

XPU = Device("xpu:0 Intel(R) Arc(TM) A770 Graphics", "xpu", 0, "VRAM", 16384, 15360)
XPU2 = Device("xpu:1 Intel(R) Arc(TM) B580 Graphics", "xpu", 1, "VRAM", 12288, 11264)
CPU = Device("cpu", "cpu", None, "RAM", 32768, 8192)


def state(name: str, devices: tuple[Device, ...], memory: str) -> ServerState:
    primary = devices[0]
    return ServerState(
        name=name, kind="comfyui", url=f"http://{name}:8188", online=True,
        vram_total_mb=primary.total_mb, vram_free_mb=primary.free_mb, vram_source="server",
        queue_running=0, queue_pending=0, success_rate=None, median_latency_ms=None,
        reserved_gb=0.0, slots_used=0, breaker_open=False, last_error=None, devices=devices,
        memory=memory,
    )  # fmt: skip


def hover(bar: StatusBar, widget) -> str | None:
    widget.event_generate("<Enter>", x=2, y=2)
    pump(bar)
    return bar.tooltip.showing_text()


def test_memory_label_and_tooltips_show_every_device(root):
    bar = StatusBar(root)
    bar.pack(fill="x")
    pump(root)
    bar.update_servers([state("arc", (XPU, XPU2), "VRAM"), state("cpu-box", (CPU,), "RAM")])
    pump(root)

    assert bar.vram.cget("text") == "VRAM 1.0/16.0 GB · RAM 24.0/32.0 GB"
    assert hover(bar, bar.vram) == (
        "arc: xpu:0 Intel(R) Arc(TM) A770 Graphics: VRAM 1.0/16.0 GB (primary: admits jobs)\n"
        "arc: xpu:1 Intel(R) Arc(TM) B580 Graphics: VRAM 1.0/12.0 GB\n"
        "cpu-box: cpu: RAM 24.0/32.0 GB"
    )
    assert bar.tooltip_text("cpu-box").splitlines()[2] == "cpu: RAM 24.0/32.0 GB"
