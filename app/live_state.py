"""Plain-Python state behind the queue panel and status bar (no tkinter here).

- JobTable folds the engine's events into one JobView per job (what a queue row shows).
- indicator() turns a ServerState into a colour and tooltip (every device the server lists);
  vram_text() sums GPU memory, and apart from it the RAM of servers that compute on the CPU.
- describe_cloud() and cloud_meter() say what the cloud machine is doing and what it costs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.jobs import (
    ArtifactSaved,
    JobAccepted,
    JobEvent,
    JobFinished,
    JobPreview,
    JobProgress,
    JobQueued,
    JobRetrying,
    JobStarted,
    JobWaiting,
)

if TYPE_CHECKING:  # the pool pulls in the HTTP clients; the UI only reads its states
    from executors.cloud import CloudStatus
    from executors.pool import ServerState

ACTIVE = ("running", "retrying", "accepted", "waiting", "queued")  # display order, running first
FINISHED = ("done", "failed", "cancelled")


@dataclass
class JobView:
    """What the UI knows about one job, folded from its events."""

    job_id: int
    prompt_id: int | None = None
    state: str = "queued"  # one of ACTIVE or FINISHED
    fraction: float = 0.0
    label: str = ""
    eta_s: float | None = None
    server: str = ""
    tier: str = ""
    detail: str = ""  # why it waits or retries, the tier note, or the error
    artifact_ids: list[int] = field(default_factory=list)
    seq: int = 0  # order of the last state change (newest last)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def percent(self) -> float:
        return round(self.fraction * 100, 1)

    def status_text(self) -> str:
        """One line for the row: "Sampling 12/30", "Waiting: GPU memory", "Failed: …"."""
        if self.state == "running":
            return self.label or (f"Running on {self.server}" if self.server else "Running")
        if self.state == "waiting":
            return f"Waiting: {self.detail}" if self.detail else "Waiting"
        if self.state == "retrying":
            return f"Retrying: {self.detail}"
        if self.state == "accepted":
            return "Queued on server"
        if self.state == "failed":
            return f"Failed: {self.detail}" if self.detail else "Failed"
        return self.state.capitalize()


class JobTable:
    """Job views keyed by id; keeps at most `keep_finished` finished jobs (newest)."""

    def __init__(self, keep_finished: int = 20):
        self.keep_finished = keep_finished
        self.jobs: dict[int, JobView] = {}
        self._seq = 0

    def apply(self, event: JobEvent) -> JobView | None:
        """Fold one event in; returns the job's view, or None for events that change nothing."""
        view = self.jobs.get(event.job_id)
        if view is None:
            view = self.jobs[event.job_id] = JobView(event.job_id, seq=self._next())
        match event:
            case JobQueued(prompt_id=prompt_id):
                view.prompt_id = prompt_id
                self._set_state(view, "queued")
            case JobAccepted():
                if view.state in ("queued", "waiting", "retrying"):
                    self._set_state(view, "accepted")
            case JobStarted(server=server, tier=tier, note=note):
                view.server, view.tier, view.detail = server, tier, note
                view.fraction, view.label, view.eta_s = 0.0, "", None
                self._set_state(view, "running")
            case JobProgress(fraction=fraction, label=label, eta_s=eta_s):
                view.fraction = min(1.0, max(0.0, fraction))
                view.label, view.eta_s = label, eta_s
                if view.state != "running":
                    self._set_state(view, "running")
            case JobWaiting(reason=reason):
                view.detail = reason
                self._set_state(view, "waiting")
            case JobRetrying(attempt=attempt, delay_s=delay_s, reason=reason):
                view.detail = f"attempt {attempt} in {delay_s:.0f}s ({reason})"
                self._set_state(view, "retrying")
            case ArtifactSaved(artifact_id=artifact_id):
                view.artifact_ids.append(artifact_id)
            case JobFinished(status=status, error=error):
                view.detail, view.eta_s = error, None
                if status == "done":
                    view.fraction = 1.0
                self._set_state(view, status if status in FINISHED else "failed")
            case JobPreview():
                pass
            case _:
                return None
        return view

    def prune(self) -> list[int]:
        """Forget the oldest finished jobs beyond keep_finished; returns their ids."""
        finished = sorted((v for v in self.jobs.values() if not v.active), key=lambda v: v.seq)
        gone = [v.job_id for v in finished[: max(0, len(finished) - self.keep_finished)]]
        for job_id in gone:
            del self.jobs[job_id]
        return gone

    def ordered(self) -> list[JobView]:
        """Running first, then retrying/accepted/waiting/queued (oldest first), then finished
        (newest first)."""
        active = sorted(
            (v for v in self.jobs.values() if v.active),
            key=lambda v: (ACTIVE.index(v.state), v.seq),
        )
        done = sorted((v for v in self.jobs.values() if not v.active), key=lambda v: -v.seq)
        return active + done

    def current(self) -> JobView | None:
        """The running job that started last, if any."""
        running = [v for v in self.jobs.values() if v.state == "running"]
        return max(running, key=lambda v: v.seq) if running else None

    def counts(self) -> dict[str, int]:
        out = {"running": 0, "queued": 0, "failed": 0}
        for view in self.jobs.values():
            if view.state == "running":
                out["running"] += 1
            elif view.active:
                out["queued"] += 1
            elif view.state == "failed":
                out["failed"] += 1
        return out

    def _set_state(self, view: JobView, state: str) -> None:
        if view.state != state:
            view.state = state
            view.seq = self._next()

    def _next(self) -> int:
        self._seq += 1
        return self._seq


def eta_text(eta_s: float | None) -> str:
    """'' when unknown; '42s', '3:05' or '1:02:03' otherwise."""
    if eta_s is None or eta_s < 0:
        return ""
    total = round(eta_s)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    if minutes:
        return f"{minutes}:{seconds:02d}"
    return f"{seconds}s"


def progress_text(view: JobView) -> str:
    """The status bar's current-job line: '#12 Sampling 12/30 · 50% · ETA 42s'."""
    parts = [f"#{view.job_id} {view.status_text()}", f"{view.percent:.0f}%"]
    if eta := eta_text(view.eta_s):
        parts.append(f"ETA {eta}")
    return " · ".join(parts)


def counts_text(running: int, queued: int, failed: int) -> str:
    return f"{running} running · {queued} queued · {failed} failed"


# --- servers -------------------------------------------------------------------------------

GREEN, GREY, AMBER, RED = "#2e9e44", "#9a9a9a", "#e0a000", "#d03030"


@dataclass(frozen=True)
class Indicator:
    colour: str
    status: str  # "online", "offline", "busy", "breaker open", "not checked yet"
    tooltip: str


CREDITS = {  # shown wherever such a backend appears (WanGP's API terms ask for it)
    "wangp": "Video by WanGP (deepbeepmeep/Wan2GP) through its MCP server; its use is "
    "subject to the WanGP Terms and Conditions.",
}
ABOUT_BACKENDS = (
    "Takeboard drives these generators; each runs as its own program:\n\n"
    "• ComfyUI (comfyanonymous/ComfyUI) for image, song and video workflows\n"
    f"• {CREDITS['wangp']}\n"
    "• Gradio apps (gradio_client) and command-line tools you set up, e.g. Applio for RVC "
    "voices\n"
    "• LiteLLM for the screenwriter (local models first)"
)


def indicator(state: ServerState) -> Indicator:
    """Red: breaker open; grey: offline or unchecked; amber: busy; green: online and idle."""
    running, pending = state.queue_running or 0, state.queue_pending or 0
    if state.breaker_open:
        colour, status = RED, "breaker open (refusing jobs)"
    elif state.online is None:
        colour, status = GREY, "not checked yet"
    elif not state.online:
        colour, status = GREY, "offline"
    elif running or pending or state.slots_used:
        colour, status = AMBER, f"busy ({running} running, {pending} pending)"
    else:
        colour, status = GREEN, "online"
    lines = [f"{state.name} — {state.url}", status.capitalize(), *_memory_lines(state)]
    if state.last_error:
        lines.append(f"Last error: {state.last_error}")
    if state.kind in CREDITS:
        lines.append(CREDITS[state.kind])
    return Indicator(colour, status, "\n".join(lines))


def _memory_lines(state: ServerState) -> list[str]:
    """Every device the server lists, one line each, the first (primary) marked when there
    are several since admission uses it; without a device list, the numbers alone."""
    if state.devices:
        lines = [device.describe() for device in state.devices]
        if len(lines) > 1:
            lines[0] += " (primary: admits jobs)"
        return lines
    if state.vram_total_mb and state.vram_free_mb is not None:
        used = state.vram_total_mb - state.vram_free_mb
        return [f"VRAM {_gb(used)}/{_gb(state.vram_total_mb)} GB"]
    return []


def memory_tooltip(states: Iterable[ServerState]) -> str:
    """The memory label's tooltip: every device of every online server, by server."""
    lines = [
        f"{state.name}: {line}" for state in states if state.online for line in _memory_lines(state)
    ]
    return "\n".join(lines) or "No server reports its memory"


def vram_text(states: Iterable[ServerState]) -> str:
    """Memory used/total over the servers that report it, GPU memory and RAM apart:
    'VRAM 6.2/24.0 GB', 'VRAM 6.2/24.0 GB · RAM 3.0/32.0 GB'. Local servers all report this
    machine's GPU (NVML): it counts once."""
    sums = {"VRAM": [0, 0], "RAM": [0, 0]}  # label → [used, total] in MB
    local_counted = False
    for state in states:
        if not (state.online and state.vram_total_mb and state.vram_free_mb is not None):
            continue
        if state.vram_source == "nvml":
            if local_counted:
                continue
            local_counted = True
        used_total = sums[state.memory]
        used_total[0] += state.vram_total_mb - state.vram_free_mb
        used_total[1] += state.vram_total_mb
    parts = [
        f"{label} {_gb(used)}/{_gb(total)} GB" for label, (used, total) in sums.items() if total
    ]
    return " · ".join(parts) or "VRAM –"


def _gb(mb: int) -> str:
    return f"{mb / 1024:.1f}"


# --- cloud ---------------------------------------------------------------------------------


def describe_cloud(status: CloudStatus) -> str:
    """One line for `cloud status` and the Settings dialog: state, type, masked URL, cost."""
    online = "online" if status.online else "offline (allow_online is off)"
    month = f"${status.month_spent_usd:.2f}" + (
        f" of ${status.month_budget_usd:.2f}" if status.month_budget_usd is not None else ""
    )
    if status.state == "none":
        return f"cloud: no machine  [{online}]  month {month}"
    uptime = f"{status.uptime_s / 60:.1f} min" if status.uptime_s is not None else "-"
    session = f"${status.cost_usd:.2f}" + (
        f" of ${status.session_budget_usd:.2f}" if status.session_budget_usd is not None else ""
    )
    return (
        f"cloud: {status.state}  {status.machine_type}  {status.server}  {status.url}  "
        f"up {uptime}  cost {session} (${status.rate_usd_h}/h)  month {month}  [{online}]"
    )


@dataclass(frozen=True)
class Meter:
    text: str
    colour: str  # "" for the theme's own
    tooltip: str


def cloud_meter(status: CloudStatus) -> Meter | None:
    """The status bar's cost meter: text, colour (amber from 80 % of a budget) and tooltip;
    None when there is nothing to show (no machine, nothing spent this month)."""
    if status.state == "none" and not status.month_spent_usd and not status.warnings:
        return None
    if status.state == "none":
        text = f"cloud: none · month ${status.month_spent_usd:.2f}"
    else:
        text = f"cloud: {status.machine_type} {status.state} ${status.cost_usd:.2f}"
        if status.session_budget_usd is not None:
            text += f" of ${status.session_budget_usd:.2f}"
    lines = [describe_cloud(status), *status.warnings, *status.notices]
    colour = "#b26a00" if status.warnings else ""
    return Meter(text, colour, "\n".join(lines))
