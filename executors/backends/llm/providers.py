"""Where the screenwriter's settings come from and what it knows of providers: the environment
variables, local servers' default bases, hosted providers' model listings and key variables."""

from __future__ import annotations

ENV_MODEL = "TAKEBOARD_LLM_MODEL"
ENV_API_BASE = "TAKEBOARD_LLM_API_BASE"
ENV_API_KEY = "TAKEBOARD_LLM_API_KEY"
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
