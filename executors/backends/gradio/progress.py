"""gradio_client's status updates as Progress events (pure; the job's worker thread)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from executors.backends.base import Progress

if TYPE_CHECKING:
    from gradio_client.utils import ProgressUnit, StatusUpdate


def progress_of(status: StatusUpdate) -> Progress | None:
    """A gradio_client StatusUpdate as a Progress event, or None when it says nothing new."""
    code = getattr(status.code, "value", status.code)
    if code == "IN_QUEUE" and status.rank is not None:
        return Progress(None, f"queued, position {status.rank + 1}")
    units = status.progress_data or []
    if units:
        return Progress(_fraction(units[0]), " · ".join(_unit_label(u) for u in units))
    if code in ("PROCESSING", "ITERATING", "PROGRESS"):
        return Progress(None, "running")
    return None


def _fraction(unit: ProgressUnit) -> float | None:
    if unit.progress is not None:
        return max(0.0, min(1.0, float(unit.progress)))
    if unit.index is not None and unit.length:
        return max(0.0, min(1.0, unit.index / unit.length))
    return None


def _unit_label(unit: ProgressUnit) -> str:
    desc = unit.desc or unit.unit or "working"
    if unit.index is not None and unit.length:
        return f"{desc} {unit.index}/{unit.length}"
    if unit.progress is not None:
        return f"{desc} {round(100 * unit.progress)}%"
    return desc
