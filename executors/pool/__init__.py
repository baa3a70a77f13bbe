"""The pool of backend servers: members and their health, VRAM admission, slots and a circuit
breaker.

server_pool.py  ServerPool (membership, refresh, leasing, refusals), Lease, Refusal
servers.py      Member (one server's bookkeeping), ServerState (its snapshot), backend_rows
health.py       one health check: probe a member, apply what it answered
"""

from executors.pool.server_pool import Lease, Refusal, ServerPool
from executors.pool.servers import FAMILIES, ServerState, backend_rows

__all__ = ["FAMILIES", "Lease", "Refusal", "ServerPool", "ServerState", "backend_rows"]
