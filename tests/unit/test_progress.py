"""The terminal's job lines: no message repeats itself."""

from __future__ import annotations

import pytest

from app.progress import outcome_text
from core.jobs import JobFinished


@pytest.mark.parametrize(
    ("status", "error", "shown"),
    [
        ("done", "", "done"),
        ("cancelled", "cancelled", "cancelled"),
        (
            "cancelled",
            "cancelled; the prompt was stopped on gpu",
            "cancelled; the prompt was stopped on gpu",
        ),
        (
            "failed",
            "node 3 (KSampler) failed on gpu: boom",
            "failed: node 3 (KSampler) failed on gpu: boom",
        ),
    ],
)
def test_a_finished_job_reads_once(status, error, shown):
    assert outcome_text(JobFinished(1, status=status, error=error)) == shown
