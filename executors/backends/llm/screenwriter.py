"""Screenwriter: drafts or enhances a structured prompt through LiteLLM (see the package
docstring). Call `draft`/`enhance`/`check` from a worker thread: the first call pays litellm's
~3 s import.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from types import ModuleType

import requests
import tenacity

from core.config import LlmConfig, is_local_url, is_server_url
from core.errors import InputError, PermanentBackendError, TransientBackendError, UserError
from core.json_types import JsonObject
from core.models import MediaKind, validate_data, validate_title

from .errors import http_error, translate
from .prompts import parse_kind, parse_reply, system_prompt
from .providers import (
    DEFAULT_BASES,
    ENV_API_BASE,
    ENV_API_KEY,
    ENV_MODEL,
    HOSTED_BASES,
    KEY_VARS,
    LOCAL_KEY,
    OLLAMA,
    ONLINE_OFF,
)

log = logging.getLogger(__name__)


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
        attempts: int = 3,
        backoff_s: float = 1.0,
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
            attempts=attempts,
            backoff_s=backoff_s,
        )

    def __repr__(self) -> str:  # never shows a key
        return f"Screenwriter({self.model!r}, {self.root or 'hosted'!r}, local={self.local})"

    # --- public ---------------------------------------------------------------------------------

    def draft(self, kind: MediaKind | str, idea: str) -> tuple[str, JsonObject]:
        kind = parse_kind(kind)
        if not isinstance(idea, str) or not idea.strip():
            raise InputError("idea: is empty — describe what you want in a line")
        hint = " Write full lyrics." if kind is MediaKind.AUDIO else ""
        ask = f"Draft a complete {kind.value} prompt from this idea: {idea.strip()}{hint}"
        return self._write(kind, ask, fallback_title=idea.strip())

    def enhance(
        self, kind: MediaKind | str, data: JsonObject, instruction: str = ""
    ) -> tuple[str, JsonObject]:
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
                f"cannot reach the LLM server at {self.where()} ({type(exc).__name__}) — "
                f"{self.start_hint()}",
                backend="llm",
                url=url,
            ) from None
        if response.status_code != 200:
            raise http_error(self, response.status_code, url, response.text[:200])
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

    def _write(self, kind: MediaKind, ask: str, fallback_title: str) -> tuple[str, JsonObject]:
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
    ) -> tuple[str, JsonObject]:
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
                "LLM %s: %s; retrying", self.model, state.outcome and state.outcome.exception()
            ),
            reraise=True,
        )
        return retrying(self._complete_once, messages)

    def _complete_once(self, messages: list[dict[str, str]]) -> str:
        litellm = import_litellm()
        model = self.model
        extra: JsonObject = {}
        if self.provider in OLLAMA:
            model = f"ollama_chat/{self.name}"  # /api/chat takes messages
            extra["response_format"] = {"type": "json_object"}  # Ollama's format: json
        try:
            response = litellm.completion(
                model=model,
                messages=messages,
                api_base=self.completion_base(),
                api_key=self._key(),
                timeout=self.timeout_s,
                num_retries=0,
                max_retries=0,
                temperature=0.7,
                **extra,
            )
        except Exception as exc:
            raise translate(self, exc) from None
        content = response.choices[0].message.content
        return content or ""

    def completion_base(self) -> str | None:
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

    def where(self) -> str:
        return self.root or self.provider

    def start_hint(self) -> str:
        if self.provider in OLLAMA:
            return f"start Ollama (ollama serve) or check {ENV_API_BASE}"
        if self.local:
            return f"start the server (LM Studio, llama.cpp, vLLM…) or check {ENV_API_BASE}"
        return "check the network connection"

    def key_hint(self) -> str:
        var = ENV_API_KEY if self.local else KEY_VARS.get(self.provider, ENV_API_KEY)
        return f"the key was rejected — check {var}"


_litellm: ModuleType | None = None


def import_litellm() -> ModuleType:
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
