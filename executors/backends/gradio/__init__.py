"""Any Gradio (≥ 4) app with named endpoints as a Takeboard backend, through gradio_client.

`GradioClient(config)` follows the `ToolClient` contract (base.py). A request is

    {"inputs": {<the endpoint's keyword arguments>}, "api_name": "/voice_convert",
     "output": <index of the output that is the file, or null: the first file output>,
     "files": [<names of inputs whose values are local file paths (or URLs)>]}

* One gradio_client `Client` per GradioClient, made on the first `run` (under a lock) and shared
  by every job that runs on this app; dropped when the app stops answering, so the next job
  connects afresh. Its downloads go to a private temp folder; the chosen output files are
  moved from there into the caller's `workdir`.
* Before the Client is made, `GET <url>/config` tells a Gradio 3 app (websocket protocol) apart:
  gradio_client 2.x cannot call it, and for apps ≤ 3.36.1 its constructor would ask an internet
  service for the API description. Such an app gets a PermanentBackendError saying what to do.
* Progress comes from `job.status()`, polled every `poll_s` while `job.result(timeout=poll_s)`
  waits; the deadline is kept the same way (httpx's own timeouts stay above the server's 15 s
  SSE heartbeat). A deadline or a cancel calls `job.cancel()`, which drops queued work and stops
  generators; a plain function the app is already running finishes on the server regardless.
* The machine's saved Hugging Face token is never sent: `token=False` unless the user named an
  environment variable (`token_env`), whose value is then sent as `x-hf-authorization`.
* gradio_client (and so huggingface_hub and httpx) is imported on the first connect, after
  `quiet_hub_env()`; importing this module costs only `requests`.

Threads: see client.py.

Modules:

client.py      GradioClient: health, run (submit, wait with progress, collect), close
app_config.py  what GET /config says (version, protocol, endpoints)
request.py     the request checked into a Call; local files; the output files
progress.py    status updates → Progress
errors.py      gradio_client / httpx exceptions → one core error with the fix
hub_env.py     Hugging Face telemetry, lookups and the implicit token off
"""

from .client import GradioClient
from .hub_env import QUIET_HUB_ENV, quiet_hub_env

__all__ = ["QUIET_HUB_ENV", "GradioClient", "quiet_hub_env"]
