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
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
from collections.abc import Mapping
from typing import Any

import requests
import tenacity

from core.config import LlmConfig, is_local_url, is_server_url
from core.errors import (
    BackendError,
    InputError,
    PermanentBackendError,
    TransientBackendError,
    UserError,
)
from core.models import SCHEMAS, Field, MediaKind, parse_enum, validate_data, validate_title
from executors.backends.base import Health

log = logging.getLogger(__name__)

ENV_MODEL = "TAKEBOARD_LLM_MODEL"
ENV_API_BASE = "TAKEBOARD_LLM_API_BASE"
ENV_API_KEY = "TAKEBOARD_LLM_API_KEY"
KIND_ALIASES = {"song": "audio", "music": "audio", "picture": "image", "movie": "video"}
OLLAMA = ("ollama", "ollama_chat")
DEFAULT_BASES = {"ollama": "http://127.0.0.1:11434", "lm_studio": "http://127.0.0.1:1234"}
# Hosted providers whose model list is a free GET {base}/models, and their usual key variable.
HOSTED_BASES = {
    "openai": "https://api.openai.com/v1",
    "groq": "https://api.groq.com/openai/v1",
    "mistral": "https://api.mistral.ai/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "together_ai": "https://api.together.xyz/v1",
    "anthropic": "https://api.anthropic.com/v1",
}
KEY_VARS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "groq": "GROQ_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
}
LOCAL_KEY = "local"  # the OpenAI client needs some key; local servers ignore it
ONLINE_OFF = "online access is off — allow it in Settings or use a local model (Ollama, LM Studio)"

FIELD_HINTS = {
    "prompt": "the scene: subject, action, setting, light, camera, style, in rich detail "
    "(for a sound effect: what it sounds like)",
    "task": '"song" (the default) or "sfx" for a sound effect; never "voice"',
    "source_audio": "leave it out (a recording the user adds)",
    "lora": "leave it out (a LoRA file the user adds)",
    "negative_prompt": "what to keep out, e.g. blurry, watermark, extra fingers",
    "style_tags": "a few short style words",
    "title": "the song's title",
    "lyrics": "required for a song; ACE-Step style: sections marked [verse], [chorus], "
    "[bridge], [outro] on their own lines, then the sung lines; at least one [verse] and one "
    "[chorus]",
    "tags": "genre, instruments, mood and voice, e.g. sea shanty, accordion, male choir",
    "tempo": "beats per minute",
    "key": "musical key",
    "duration_s": "length in seconds",
    "seed": "leave it out: the app picks one",
    "params": "leave it out unless asked",
    "reference_image": "leave it out (a file path the user adds)",
    "start_image": "leave it out (a file path the user adds)",
    "frames": "leave it out when duration_s is given (give only one of them)",
}


# --- kinds, schema text, reply parsing ----------------------------------------------------------


def parse_kind(kind: MediaKind | str) -> MediaKind:
    """image, audio (or song), video."""
    if isinstance(kind, str):
        kind = KIND_ALIASES.get(kind.strip().lower(), kind.strip().lower())
    return parse_enum(MediaKind, kind, "kind")


def describe_field(name: str, spec: Field) -> str:
    """One line about a schema field: its type and limits from the check's closure."""
    check = spec.check
    kind = check.__qualname__.split(".")[0]
    params = inspect.getclosurevars(check).nonlocals if kind != "text_list" else {}
    if kind == "text":
        what = "non-empty text" if params.get("non_empty") else "text"
    elif kind in ("integer", "number"):
        noun = "whole number" if kind == "integer" else "number"
        what = f"{noun} from {params.get('lo')} to {params.get('hi')}"
    elif kind == "one_of":
        what = "one of " + ", ".join(f'"{c}"' for c in params.get("choices", ()))
    elif kind == "pattern":
        what = f'text like "{params.get("example")}"'
    elif kind == "text_list":
        what = "list of texts"
    elif kind == "free_params":
        what = "object"
    else:
        what = "value"
    extra = ["required"] if spec.required else []
    if spec.default not in (None, "", [], {}):
        extra.append(f"default {json.dumps(spec.default)}")
    hint = FIELD_HINTS.get(name)
    line = f'- "{name}": {what}' + (f" ({', '.join(extra)})" if extra else "")
    return line + (f" — {hint}" if hint else "")


def system_prompt(kind: MediaKind | str) -> str:
    kind = parse_kind(kind)
    fields = "\n".join(describe_field(name, spec) for name, spec in SCHEMAS[kind].items())
    media = {"image": "an image", "audio": "a song", "video": "a video clip"}[kind.value]
    return (
        f"You are a screenwriter who writes generation prompts for {media}.\n"
        'Reply with one JSON object and nothing else: {"title": short title for the library, '
        '"data": {...}}.\n'
        f"The fields of data (no other fields allowed):\n{fields}\n"
        "Use only these field names. Leave out optional fields you have nothing for."
        + (LYRICS_EXAMPLE if kind is MediaKind.AUDIO else "")
    )


LYRICS_EXAMPLE = (
    '\nLyrics look like this (newlines as \\n in JSON): "[verse]\\nFirst line\\nSecond line'
    '\\n\\n[chorus]\\nHook line\\nHook line"'
)
FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def parse_reply(content: str) -> tuple[str, Any]:
    """(title, data) from the model's text: fences stripped, JSON between the outer braces."""
    fenced = FENCE.search(content or "")
    text = fenced.group(1) if fenced else (content or "")
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise InputError("data: the model did not reply with a JSON object — ask for JSON only")
    try:
        obj = json.loads(text[start : end + 1])
    except ValueError as exc:
        raise InputError(f"data: the model's reply is not valid JSON ({exc})") from None
    if isinstance(obj.get("data"), dict):
        title = obj.get("title")
        return (title if isinstance(title, str) else ""), obj["data"]
    return "", obj


# --- the screenwriter ---------------------------------------------------------------------------


class Screenwriter:
    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        *,
        allow_online: bool,
        timeout_s: float = 60,
        attempts: int = 3,
        backoff_s: float = 1.0,
        key_env: str | None = None,
    ):
        provider, sep, name = (model or "").strip().partition("/")
        if not sep or not provider or not name:
            raise InputError(
                f"{ENV_MODEL}: {model!r} is not provider/model — write it like "
                "ollama/llama3, openai/llama3 (with an api base) or openai/gpt-4o-mini"
            )
        self.provider, self.name = provider.lower(), name
        self.model = f"{self.provider}/{name}"
        base = (api_base or "").strip().rstrip("/") or DEFAULT_BASES.get(self.provider, "")
        if base and not is_server_url(base):
            raise InputError(f"{ENV_API_BASE}: {api_base!r} is not an http(s) URL")
        self.root = base.removesuffix("/v1")  # the server, without the OpenAI /v1 prefix
        self.local = bool(self.root) and is_local_url(self.root)
        self.allow_online = allow_online
        self.timeout_s = timeout_s
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.key_env = key_env  # config.json llm.api_key_env: the variable holding the key

    @classmethod
    def from_config(
        cls,
        config: LlmConfig,
        *,
        allow_online: bool,
        model: str | None = None,
        api_base: str | None = None,
        env: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Screenwriter:
        """Arguments, else TAKEBOARD_LLM_MODEL / TAKEBOARD_LLM_API_BASE, else config.json's
        llm block; a model named by argument or env does not take the configured api_base."""
        env = os.environ if env is None else env
        chosen = model or env.get(ENV_MODEL)
        base = api_base or env.get(ENV_API_BASE) or (None if chosen else config.api_base)
        return cls(
            chosen or config.model,
            base,
            allow_online=allow_online,
            timeout_s=config.timeout_s,
            key_env=config.api_key_env,
            **options,
        )

    def __repr__(self) -> str:  # never shows a key
        return f"Screenwriter({self.model!r}, {self.root or 'hosted'!r}, local={self.local})"

    # --- public ---------------------------------------------------------------------------------

    def draft(self, kind: MediaKind | str, idea: str) -> tuple[str, dict[str, Any]]:
        kind = parse_kind(kind)
        if not isinstance(idea, str) or not idea.strip():
            raise InputError("idea: is empty — describe what you want in a line")
        hint = " Write full lyrics." if kind is MediaKind.AUDIO else ""
        ask = f"Draft a complete {kind.value} prompt from this idea: {idea.strip()}{hint}"
        return self._write(kind, ask, fallback_title=idea.strip())

    def enhance(
        self, kind: MediaKind | str, data: dict[str, Any], instruction: str = ""
    ) -> tuple[str, dict[str, Any]]:
        kind = parse_kind(kind)
        current = validate_data(kind, data)
        ask = (
            f"Improve this {kind.value} prompt: richer, more specific, same intent. "
            f"{instruction.strip() or 'Keep what works.'}\n"
            f"Current data:\n{json.dumps(current, ensure_ascii=False, indent=2)}"
        )
        fallback = current.get("title") or current.get("prompt") or kind.value
        return self._write(kind, ask, fallback_title=fallback)

    def check(self) -> list[str]:
        """The endpoint's model names, from a free model listing (no tokens spent)."""
        self._require_allowed()
        url, headers = self._models_request()
        try:
            response = requests.get(url, headers=headers, timeout=(5, min(self.timeout_s, 15)))
        except requests.RequestException as exc:
            raise TransientBackendError(
                f"cannot reach the LLM server at {self._where()} ({type(exc).__name__}) — "
                f"{self._start_hint()}",
                backend="llm",
                url=url,
            ) from None
        if response.status_code != 200:
            raise self._http_error(response.status_code, url, response.text[:200])
        try:
            body = response.json()
            if self.provider in OLLAMA:
                return [m["name"] for m in body["models"]]
            return [m["id"] for m in body["data"]]
        except (ValueError, KeyError, TypeError):
            raise PermanentBackendError(
                f"{url} did not answer with a model list — check {ENV_API_BASE}",
                backend="llm",
                url=url,
            ) from None

    # --- internals ------------------------------------------------------------------------------

    def _write(self, kind: MediaKind, ask: str, fallback_title: str) -> tuple[str, dict[str, Any]]:
        self._require_allowed()
        messages = [
            {"role": "system", "content": system_prompt(kind)},
            {"role": "user", "content": ask},
        ]
        content = self._complete(messages)
        try:
            return self._validated(kind, content, fallback_title)
        except InputError as exc:
            log.info("LLM draft invalid (%s); one repair round", exc)
            messages += [
                {"role": "assistant", "content": content},
                {
                    "role": "user",
                    "content": f"That is not valid: {exc}. Reply with the corrected JSON object "
                    "only, same shape.",
                },
            ]
        content = self._complete(messages)
        try:
            return self._validated(kind, content, fallback_title)
        except InputError as exc:
            raise InputError(f"the model's {kind.value} prompt is still invalid: {exc}") from None

    def _validated(
        self, kind: MediaKind, content: str, fallback_title: str
    ) -> tuple[str, dict[str, Any]]:
        title, data = parse_reply(content)
        data = validate_data(kind, data)
        title = (title or data.get("title") or fallback_title).strip()[:300]
        return validate_title(title or kind.value), data

    def _require_allowed(self) -> None:
        if self.local:
            return
        if not self.allow_online:
            raise UserError(ONLINE_OFF)
        var = KEY_VARS.get(self.provider)
        if var and not self._key():
            raise UserError(f"{var} is not set — put the {self.provider} API key in it")

    def _complete(self, messages: list[dict[str, str]]) -> str:
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientBackendError),
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_exponential(multiplier=self.backoff_s, max=10 * self.backoff_s),
            before_sleep=lambda state: log.warning(
                "LLM %s: %s; retrying", self.model, state.outcome.exception()
            ),
            reraise=True,
        )
        return retrying(self._complete_once, messages)

    def _complete_once(self, messages: list[dict[str, str]]) -> str:
        litellm = import_litellm()
        model = self.model
        extra: dict[str, Any] = {}
        if self.provider in OLLAMA:
            model = f"ollama_chat/{self.name}"  # /api/chat takes messages
            extra["response_format"] = {"type": "json_object"}  # Ollama's format: json
        try:
            response = litellm.completion(
                model=model,
                messages=messages,
                api_base=self._completion_base(),
                api_key=self._key(),
                timeout=self.timeout_s,
                num_retries=0,
                max_retries=0,
                temperature=0.7,
                **extra,
            )
        except Exception as exc:
            raise self._translate(exc) from None
        content = response.choices[0].message.content
        return content or ""

    def _completion_base(self) -> str | None:
        if not self.root:
            return None  # the hosted provider's own endpoint
        if self.provider in OLLAMA:
            return self.root
        return self.root + "/v1"

    def _key(self) -> str | None:
        explicit = os.environ.get(ENV_API_KEY) or (
            os.environ.get(self.key_env) if self.key_env else None
        )
        if explicit:
            return explicit
        if self.local:
            return LOCAL_KEY if self.provider not in OLLAMA else None
        var = KEY_VARS.get(self.provider)
        return os.environ.get(var) if var else None

    def _models_request(self) -> tuple[str, dict[str, str]]:
        key = self._key()
        if self.provider in OLLAMA:
            return f"{self.root}/api/tags", {}
        if self.root:
            base = self.root + "/v1"
        elif self.provider in HOSTED_BASES:
            base = HOSTED_BASES[self.provider]
        else:
            raise PermanentBackendError(
                f"no free model listing for {self.provider} — set {ENV_API_BASE} to an "
                "OpenAI-compatible server, or just try a draft",
                backend="llm",
            )
        if self.provider == "anthropic" and not self.root:
            return f"{base}/models", {"x-api-key": key or "", "anthropic-version": "2023-06-01"}
        return f"{base}/models", ({"Authorization": f"Bearer {key}"} if key else {})

    def _where(self) -> str:
        return self.root or self.provider

    def _start_hint(self) -> str:
        if self.provider in OLLAMA:
            return f"start Ollama (ollama serve) or check {ENV_API_BASE}"
        if self.local:
            return f"start the server (LM Studio, llama.cpp, vLLM…) or check {ENV_API_BASE}"
        return "check the network connection"

    def _key_hint(self) -> str:
        var = ENV_API_KEY if self.local else KEY_VARS.get(self.provider, ENV_API_KEY)
        return f"the key was rejected — check {var}"

    def _http_error(self, status: int | None, url: str, detail: str) -> Exception:
        where = self._where()
        if status is None:
            return PermanentBackendError(
                f"LLM call to {where} failed: {detail[:200]} — "
                f"check {ENV_MODEL} and {ENV_API_BASE}",
                backend="llm",
                url=url,
                detail=detail,
            )
        if status in (401, 403):
            return PermanentBackendError(
                f"LLM server {where} answered {status}: {self._key_hint()}",
                backend="llm",
                url=url,
                status=status,
            )
        if status == 429 or status >= 500:
            return TransientBackendError(
                f"LLM server {where} answered {status} — busy or failing; try again later",
                backend="llm",
                url=url,
                status=status,
                detail=detail,
            )
        hint = (
            f"is {self.name!r} installed? (see the model list)"
            if status == 404 and self.local
            else f"check {ENV_MODEL} and {ENV_API_BASE}"
        )
        return PermanentBackendError(
            f"LLM server {where} answered {status}: {detail[:200]} — {hint}",
            backend="llm",
            url=url,
            status=status,
            detail=detail,
        )

    def _translate(self, exc: Exception) -> Exception:
        """A litellm/OpenAI SDK exception as our Transient/PermanentBackendError."""
        name = type(exc).__name__
        message = str(exc)
        url = self._completion_base() or self.provider
        if "Timeout" in name:
            return TransientBackendError(
                f"LLM server {self._where()} did not answer in {self.timeout_s:g} s — "
                "try a smaller model or a longer timeout",
                backend="llm",
                url=url,
            )
        if "Connection error" in message or "APIConnectionError" in name:
            return TransientBackendError(
                f"cannot reach the LLM server at {self._where()} — {self._start_hint()}",
                backend="llm",
                url=url,
            )
        return self._http_error(getattr(exc, "status_code", None), url, message)


_litellm: Any = None


class LlmProbe:
    """The screenwriter's endpoint as a pool member that is only ever probed, never leased:
    its status-bar dot and `backends` row come from `check()` (a model listing, no tokens).
    With online access off, a hosted provider is reported unavailable without any call."""

    kind = "llm"
    name = "llm"

    def __init__(self, writer: Screenwriter):
        self.writer = writer
        self.url = writer.root or f"{writer.provider} (hosted)"

    def health(self) -> Health:
        try:
            models = self.writer.check()
        except (UserError, BackendError) as exc:
            return Health(online=False, detail=str(exc))
        return Health(online=True, detail=f"{len(models)} models", extra={"models": models})

    def run(self, *_args: Any, **_kwargs: Any) -> list:
        raise PermanentBackendError("the LLM screenwriter writes prompts; it runs no jobs")


def import_litellm() -> Any:
    """litellm, imported on first use with the bundled cost map (no fetch at import)."""
    global _litellm
    if _litellm is None:
        os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        import litellm

        litellm.suppress_debug_info = True
        litellm.telemetry = False
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
            # litellm prints INFO lines to stdout (breaking --json); send WARNING+ to our log.
            logger = logging.getLogger(name)
            logger.setLevel(logging.WARNING)
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
        _litellm = litellm
    return _litellm
