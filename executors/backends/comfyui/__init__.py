"""The ComfyUI client (HTTP + WebSocket), for servers old and new.

client.py   ComfyClient: the endpoints, lookup / attach / cancel, downloads, validation
run.py      one prompt from POST /prompt to its end (or picked up again after a crash)
tracker.py  socket frames → events; progress that never goes backwards
answers.py  JSON answers → typed records, checked at the edge
http.py     the session, error translation, in-place retries of idempotent requests
features.py what a server supports (Jobs API, assets, version), detected once
messages.py refusals and failures → one line naming the node and what to do
events.py   what a run reports and returns
"""

from .answers import JobState, Outcome, parse_outputs
from .client import ComfyClient
from .events import Accepted, Cached, Event, NodeStarted, OutputFile, Preview, Progress, RunResult
from .features import ServerFeatures
from .run import TAKEBOARD_WORKFLOW_ID, new_prompt_id

__all__ = [
    "TAKEBOARD_WORKFLOW_ID",
    "Accepted",
    "Cached",
    "ComfyClient",
    "Event",
    "JobState",
    "NodeStarted",
    "Outcome",
    "OutputFile",
    "Preview",
    "Progress",
    "RunResult",
    "ServerFeatures",
    "new_prompt_id",
    "parse_outputs",
]
