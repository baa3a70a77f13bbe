"""Configuration: shipped config.json < <home>/config.json < environment variables.

records (the frozen records), load (the one loader, and saving the home's file), merge (known
keys, same types), env (the environment layer, RunComfy's variables included), build (values
checked, records made), urls (server addresses). Every error names the key path or variable and
the problem. Secrets never live in a config file: a server names the environment variable that
holds its token (token_env).
"""

from core.config.build import check_route_functions
from core.config.load import (
    load_config,
    read_home_overrides,
    save_home_config,
    shipped_defaults,
)
from core.config.records import (
    CloudSettings,
    CommandConfig,
    Config,
    DownloadConfig,
    LlmConfig,
    RetryConfig,
    Route,
    RunComfyConfig,
    ServerConfig,
    TimeoutConfig,
    UrlBackendConfig,
)
from core.config.urls import is_local_url, is_server_url, mask_url

__all__ = [
    "CloudSettings",
    "CommandConfig",
    "Config",
    "DownloadConfig",
    "LlmConfig",
    "RetryConfig",
    "Route",
    "RunComfyConfig",
    "ServerConfig",
    "TimeoutConfig",
    "UrlBackendConfig",
    "check_route_functions",
    "is_local_url",
    "is_server_url",
    "load_config",
    "mask_url",
    "read_home_overrides",
    "save_home_config",
    "shipped_defaults",
]
