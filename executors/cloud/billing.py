"""What a cloud machine costs, the budgets, and the status line built from them.

RunComfy reports no cost, and bills from Ready on ("You are NOT charged until the machine status
is Ready", RunComfy API reference), so cost = hourly rate × time since Ready. The rate comes from
settings; the default per type is RunComfy's Hobby price (docs.runcomfy.com/about-billing via
backends.md §5.1), the higher of the two plans, so the meter over- rather than under-estimates.
Finished machines are added to a month ledger in the state file.

Budgets: per *session* (one machine, launch to stop — CLI calls are separate processes, so an
app run would be meaningless) and per calendar month (UTC). Reaching either stops the machine
and refuses new launches; from 80 % on, the status carries a warning.
"""

from __future__ import annotations

import time
from dataclasses import replace

from core.config import CloudSettings, mask_url
from core.config.env import ENV_RUNCOMFY_BUDGET_MONTH, ENV_RUNCOMFY_BUDGET_SESSION
from executors.backends.runcomfy import short_id
from executors.cloud.errors import CloudUnavailable
from executors.cloud.state import CloudState, CloudStatus

WARN_AT = 0.8


def month_of(timestamp: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(timestamp))


def book(state: CloudState, now: float) -> None:
    """Add the machine's cost to its month in the ledger and clear it from the state."""
    assert state.machine is not None
    month = month_of(now)
    state.ledger[month] = state.ledger.get(month, 0.0) + state.machine.cost(now)
    state.machine = None


def session_spent(state: CloudState, now: float) -> float:
    return state.machine.cost(now) if state.machine else 0.0


def month_spent(state: CloudState, now: float) -> float:
    return state.ledger.get(month_of(now), 0.0) + session_spent(state, now)


def over_budget(settings: CloudSettings, state: CloudState, now: float) -> str:
    """Which budget the spending reached ("session $5.00 of $5.00"), or ""."""
    session, session_budget = session_spent(state, now), settings.budget_session_usd
    if session_budget is not None and session >= session_budget:
        return f"session ${session:.2f} of ${session_budget:.2f}"
    month, month_budget = month_spent(state, now), settings.budget_month_usd
    if month_budget is not None and month >= month_budget:
        return f"month ${month:.2f} of ${month_budget:.2f}"
    return ""


def refuse_over_budget(settings: CloudSettings, state: CloudState, now: float) -> None:
    """CloudUnavailable when no new machine may be launched for the budgets."""
    month, budget = month_spent(state, now), settings.budget_month_usd
    if budget is not None and month >= budget:
        raise CloudUnavailable(
            f"monthly cloud budget reached (${month:.2f} of ${budget:.2f}) — no "
            f"new machine until next month, or raise {ENV_RUNCOMFY_BUDGET_MONTH}"
        )
    if settings.budget_session_usd is not None and settings.budget_session_usd <= 0:
        raise CloudUnavailable(f"session budget is 0 — raise {ENV_RUNCOMFY_BUDGET_SESSION}")


def budget_warnings(settings: CloudSettings, state: CloudState, now: float) -> list[str]:
    checks = (
        ("session", session_spent(state, now), settings.budget_session_usd),
        ("month", month_spent(state, now), settings.budget_month_usd),
    )
    return [
        f"{name} budget {spent / budget:.0%} used (${spent:.2f} of ${budget:.2f})"
        for name, spent, budget in checks
        if budget and spent >= WARN_AT * budget
    ]


def describe(
    settings: CloudSettings, state: CloudState, now: float, notices: list[str]
) -> CloudStatus:
    """The status to show: the machine (URL masked, id shortened), its cost and the budgets."""
    common = CloudStatus(
        state="none",
        online=settings.allow_online,
        session_budget_usd=settings.budget_session_usd,
        month_spent_usd=month_spent(state, now),
        month_budget_usd=settings.budget_month_usd,
        warnings=tuple(budget_warnings(settings, state, now)),
        notices=tuple(notices),
    )
    machine = state.machine
    if machine is None:
        return common
    return replace(
        common,
        state="ready" if machine.ready_at is not None else "starting",
        server=short_id(machine.server_id),
        machine_type=machine.machine_type,
        url=mask_url(machine.url),
        uptime_s=(now - machine.ready_at) if machine.ready_at is not None else None,
        cost_usd=machine.cost(now),
        rate_usd_h=machine.rate_usd_h,
    )
