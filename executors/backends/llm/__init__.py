"""The LLM screenwriter: drafts or enhances a structured prompt through LiteLLM.

`Screenwriter(model, api_base, allow_online=...)` talks to Ollama, LM Studio or any
OpenAI-compatible server (local first), or to a hosted provider when online access is allowed:

* `draft(kind, idea)` and `enhance(kind, data, instruction)` return `(title, data)` where `data`
  has passed `core.models.validate_data`. The system prompt lists the fields of the kind, built
  from `core.models.SCHEMAS`. An invalid reply gets one repair round that quotes the validation
  error; a second invalid reply raises InputError naming the field.
* `check()` lists the endpoint's models (GET /v1/models, or /api/tags for Ollama): no tokens.
* litellm is imported lazily, on first use, with LITELLM_LOCAL_MODEL_COST_MAP=True so the import
  fetches nothing. Its own retries are off; ours retry connection errors, timeouts, 429 and 5xx.
* Keys come only from environment variables (TAKEBOARD_LLM_API_KEY, else the provider's usual
  variable for hosted providers) and are never logged. A local server never gets the provider's
  key: it gets TAKEBOARD_LLM_API_KEY or a placeholder.

Call `draft`/`enhance`/`check` from a worker thread: the first call pays litellm's ~3 s import.

Modules:

screenwriter.py  Screenwriter: draft, enhance, check (model listing), completions with retries
prompts.py       kinds, the system prompt built from core.models.SCHEMAS, reply parsing
errors.py        litellm / HTTP failures → one core error with the fix
probe.py         LlmProbe: the endpoint as a pool member that is only probed
"""

from .probe import LlmProbe
from .prompts import parse_kind, parse_reply, system_prompt
from .screenwriter import Screenwriter

__all__ = ["LlmProbe", "Screenwriter", "parse_kind", "parse_reply", "system_prompt"]
