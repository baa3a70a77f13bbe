"""Find which generative servers answer: the usual local ports and the user's configured URLs.

    found = discover(["http://192.168.1.20:7866/mcp"])  # a worker thread; a few ms when quiet
    for item in found:
        print(item.kind, item.url, item.detail)  # wangp_mcp http://…:7866/mcp WanGP · 11 tools

How a scan goes:

* One thread pool runs every target at once: each (host, port) of `ports` (DEFAULT_PORTS unless
  given) on `host` (loopback unless given), and each of `extra_urls` as given. Nothing else is
  contacted; proxies from the environment are ignored (`trust_env=False`).
* A target first gets a plain TCP connect (`timeout_s`). Only a port that accepts gets HTTP
  probes, one after another, first match wins, each with a (connect, read) timeout of
  `timeout_s`. A read that times out or a peer that does not speak HTTP ends the target: a
  socket that accepts and never answers costs about 2 × timeout_s. A target's probes together
  get at most HTTP_BUDGET × timeout_s, so a slow-but-answering server is bounded too.
* A probe that fails finds nothing; `discover` raises nothing. A server busier than timeout_s
  to answer is missed: scan again, or pass a larger timeout_s.

What identifies each kind (read from the servers' sources; the tests run real servers where
they can be had here):

* comfyui — GET /system_stats: JSON with "system" and "devices".
* ollama — GET /api/version: JSON {"version": …}; a server with only Ollama's /api/tags counts
  as Ollama only when it does not also serve the OpenAI API (its chat is then /v1, not /api/chat).
* litellm_proxy — GET /health/liveliness: the JSON string "I'm alive!" (LiteLLM's proxy);
  /health/readiness adds the status and, when public, the version.
* openai_compatible — GET /v1/models: JSON with a "data" list (LM Studio, vLLM, llama.cpp…).
* gradio / wangp_gradio — GET /config: JSON with "version" and "components"; a WanGP UI is a
  Gradio app titled "WanGP" (Takeboard drives WanGP through its MCP server, `wgp.py --mcp`).
* mcp / wangp_mcp — POST <base>/mcp with a JSON-RPC `initialize`; a result with serverInfo is
  an MCP server, WanGP's when its name mentions WanGP or (stateless servers only, one more POST)
  its tools include wangp_generate.
* unknown_http — anything else that answered HTTP.

Modules:

scan.py     discover(): the targets, one thread pool, the first probe that matches
probes.py   one probe per kind (and what identifies it); Found, Target
http.py     HTTP for one target within its budget; Gone when it stops answering
"""

from .probes import Found
from .scan import DEFAULT_PORTS, KINDS, discover

__all__ = ["DEFAULT_PORTS", "KINDS", "Found", "discover"]
