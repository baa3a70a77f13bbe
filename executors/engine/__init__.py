"""The job engine: a persistent queue fed to a pool of backend servers (engine.py), split by
responsibility: planning (queue: tier and route), dispatch (one round of placing jobs),
placement (which server), attempt (one run on a server), outcomes (retry, degrade, fail),
state (what the engine's threads share)."""

from executors.engine.engine import Engine, EngineStuck
from executors.engine.outcomes import SuspectJob
from executors.engine.planning import route_matches

__all__ = ["Engine", "EngineStuck", "SuspectJob", "route_matches"]
