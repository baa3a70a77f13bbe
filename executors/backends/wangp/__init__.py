"""WanGP (deepbeepmeep/Wan2GP) through its official MCP server (`shared/mcp_server.py`).

WanGP runs as `python wgp.py --mcp --mcp-transport streamable-http --mcp-port 7866`: a FastMCP
server in JSON-response, stateless-HTTP mode at `http://host:7866/mcp` (POST /mcp answers 307
to /mcp/; the mcp client follows a redirect that stays on the same origin). The calls used here,
with the argument names and result shapes of WanGP's source:

* `wangp_list_models(limit<=10, offset, include_availability)` → compact model records, each
  with `availability: {model_type, status, status_code, indicator, available}` when asked;
* `wangp_get_model_availability(model_type)` → one such record ("Unknown model_type: x" for a
  model WanGP does not know);
* `wangp_generate(source=<settings>, wait=False, event_limit)` → a job snapshot `{job_id, done,
  cancel_requested, events[-event_limit:], result}`. `wait=True` would block WanGP's event loop
  for the whole job, so a job is submitted without waiting and then polled;
* `wangp_get_job(job_id, event_limit)` / `wangp_cancel_job(job_id)` → the same snapshot. Events
  are `{kind, timestamp, data}`; `progress` data is WanGP's ProgressUpdate (phase, status,
  progress 0-100, current_step, total_steps), `preview` data its PreviewUpdate, optionally with
  `media` (base64 `data`, `mime_type`); `result` is `{success, cancelled, generated_files,
  errors[{message, stage, cancelled, ...}], ..., gallery_items[...]}`;
* `wangp_create_gallery_download(<id>)` → `{download_url: "/wangp_api/gallery/download/
  <token>", filename, size, expires_in_seconds: 600}`: a relative URL that works once.

Two generations of that last tool: WanGP 12.60 (shared/mcp_server.py@8681e9f, August 2026)
names the argument `gallery_id` and its gallery items are full records `{gallery_id, path,
...}`; later versions (shared/mcp_server.py@72fe719, WanGP 12.641) call both `media_id` and
list compact items `{media_id, filename, ...}`. The argument name is read from the server's
`tools/list` (cached per client, i.e. per server; see mcp_calls.ToolCatalog), never assumed.

Needs mcp >= 2 on this side (`mcp.Client`, httpx2); it speaks the handshake protocol that
WanGP's pinned mcp 1.10.1 server answers.

Threads: see client.py. Only core errors leave this package.

Modules:

client.py     WanGPClient: health, models, run (submit, follow the job, download its files)
mcp_calls.py  the MCP layer: one connection, tool calls, the tool catalog, one-line messages
events.py     WanGP's job events → Progress / Preview
records.py    its answers → typed records (models, gallery items)
files.py      one-use gallery downloads into the job's folder
errors.py     whatever escaped → one core error; a finished job's result judged
"""

from .client import WanGPClient
from .mcp_calls import ToolFailed

__all__ = ["ToolFailed", "WanGPClient"]
