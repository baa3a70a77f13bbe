"""Cloud GPUs: RunComfy machines as pool members, with a cost meter, budgets and an offline switch.

state (what is known, ``<home>/cloud.json``), billing (cost, budgets, the status), manager
(`CloudManager`: one machine's lifecycle), monitor (`CloudMonitor`: the manager joined to the
engine's pool). The settings are `core.config.CloudSettings` (`Config.cloud`).
"""

from executors.cloud.errors import CloudStartFailed, CloudUnavailable
from executors.cloud.manager import CloudManager
from executors.cloud.monitor import CloudMonitor
from executors.cloud.state import CloudState, CloudStatus, MachineState

__all__ = [
    "CloudManager",
    "CloudMonitor",
    "CloudStartFailed",
    "CloudState",
    "CloudStatus",
    "CloudUnavailable",
    "MachineState",
]
