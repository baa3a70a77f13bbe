"""What is known about the cloud machine, kept in ``<home>/cloud.json``.

The file holds the machine (its URL is the ComfyUI secret: the file is mode 0600) and the month
ledger of finished machines' costs. It is written atomically as soon as a machine is launched,
so a crash cannot lose a billing machine; one that cannot be read is moved aside.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core import atomic
from core.json_types import JsonObject

log = logging.getLogger(__name__)

STATE_FILE = "cloud.json"


@dataclass
class MachineState:
    server_id: str
    machine_type: str
    rate_usd_h: float
    launched_at: float
    url: str | None = None  # secret
    ready_at: float | None = None
    last_used_at: float | None = None
    status: str = "Pending"
    stopping_at: float | None = None  # when RunComfy stops it on its own (estimated_duration)

    def cost(self, now: float) -> float:
        if self.ready_at is None:
            return 0.0
        return self.rate_usd_h * max(0.0, now - self.ready_at) / 3600.0


@dataclass
class CloudState:
    machine: MachineState | None = None
    ledger: dict[str, float] = field(default_factory=dict)  # "YYYY-MM" (UTC) → USD


@dataclass(frozen=True)
class CloudStatus:
    """What `cloud status` shows; `url` is masked, `server` shortened."""

    state: str  # none, starting, ready, unknown
    online: bool
    server: str | None = None
    machine_type: str | None = None
    url: str = "-"
    uptime_s: float | None = None
    cost_usd: float = 0.0
    rate_usd_h: float | None = None
    session_budget_usd: float | None = None
    month_spent_usd: float = 0.0
    month_budget_usd: float | None = None
    warnings: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()

    def as_dict(self) -> JsonObject:
        data = asdict(self)
        data["warnings"], data["notices"] = list(self.warnings), list(self.notices)
        for key in ("cost_usd", "month_spent_usd"):
            data[key] = round(data[key], 4)
        return data


class StateFile:
    """``<home>/cloud.json``; `known` is a copy of the state as last read or written."""

    def __init__(self, home: Path, clock: Callable[[], float]):
        self.path = Path(home) / STATE_FILE
        self._clock = clock
        self.known: CloudState | None = None

    def load(self) -> CloudState:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.known = CloudState()
            return CloudState()
        except (OSError, ValueError) as exc:
            aside = self.path.with_name(f"{STATE_FILE}.broken-{int(self._clock())}")
            with contextlib.suppress(OSError):
                self.path.replace(aside)
            log.warning("cloud: %s unreadable (%s); moved to %s", self.path, exc, aside.name)
            return CloudState()
        state = _parse(raw)
        self.known = copy.deepcopy(state)
        return state

    def save(self, state: CloudState) -> None:
        data = {
            "version": 1,
            "machine": asdict(state.machine) if state.machine else None,
            "ledger": state.ledger,
        }
        atomic.write_text(self.path, json.dumps(data, indent=2), mode=atomic.PRIVATE_MODE)
        self.known = copy.deepcopy(state)


def _parse(raw: JsonObject) -> CloudState:
    machine = raw.get("machine")
    known = {f.name for f in fields(MachineState)}
    return CloudState(
        machine=(
            MachineState(**{k: v for k, v in machine.items() if k in known})
            if isinstance(machine, dict)
            else None
        ),
        ledger={str(k): float(v) for k, v in (raw.get("ledger") or {}).items()},
    )
