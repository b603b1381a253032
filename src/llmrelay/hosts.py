"""Known services: which wire protocol they speak, where, and which key they need.

OpenAI-compatible services are entries here, not adapter modules: a host is just a
protocol plus a base URL, key variable and options. ``provider/model`` names on the
client (``groq/llama-3.1-8b-instant``) pick a host by its prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: base URL of the in-process simulator; the client mounts the simulator app there.
SIMULATOR_URL = "http://simulator.local"


@dataclass(frozen=True, slots=True)
class Host:
    name: str
    protocol: str
    base_url: str | None
    key_env: tuple[str, ...] = ()
    key_required: bool = True
    base_url_env: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    #: the host serving the same models through OpenAI's Responses API: models the catalog
    #: marks ``responses_only`` (o3-pro, gpt-5-pro, the codex models) are sent there
    responses_host: str | None = None


def _h(name: str, protocol: str, base_url: str | None, *key_env: str, **kw: Any) -> tuple[str, Host]:
    return name, Host(name, protocol, base_url, tuple(key_env), **kw)


# Anthropic requires max_tokens: its adapter sends this when a call gives none, and
# preflight reserves it in the context window.
_ANTHROPIC: Mapping[str, Any] = MappingProxyType({"default_max_tokens": 4096})
# OpenAI and Azure reject ``max_tokens`` for reasoning models; every other OpenAI-compatible
# server gets the adapter's default, ``max_tokens``, the one field they all know.
_MAX_COMPLETION_TOKENS: Mapping[str, Any] = MappingProxyType({"max_tokens_field": "max_completion_tokens"})

HOSTS: Mapping[str, Host] = MappingProxyType(
    dict(
        [
            _h(
                "openai",
                "openai",
                "https://api.openai.com/v1",
                "OPENAI_API_KEY",
                base_url_env="OPENAI_BASE_URL",
                options=_MAX_COMPLETION_TOKENS,
                description="OpenAI",
                responses_host="openai-responses",
            ),
            _h(
                "anthropic",
                "anthropic",
                "https://api.anthropic.com",
                "ANTHROPIC_API_KEY",
                base_url_env="ANTHROPIC_BASE_URL",
                options=_ANTHROPIC,
                description="Anthropic",
            ),
            _h(
                "gemini",
                "gemini",
                "https://generativelanguage.googleapis.com",
                "GEMINI_API_KEY",
                "GOOGLE_API_KEY",
                description="Google Gemini API",
            ),
            _h(
                "azure",
                "openai",
                None,
                "AZURE_OPENAI_API_KEY",
                base_url_env="AZURE_OPENAI_ENDPOINT",
                options={"azure": True, "api_version": "2024-10-21", **_MAX_COMPLETION_TOKENS},
                description="Azure OpenAI (model = deployment name)",
                responses_host="azure-responses",
            ),
            # OpenAI's Responses API (POST /v1/responses): the same service, keys and models
            # as the rows above, chosen per deployment by naming these rows instead
            _h(
                "openai-responses",
                "responses",
                "https://api.openai.com/v1",
                "OPENAI_API_KEY",
                base_url_env="OPENAI_BASE_URL",
                description="OpenAI, Responses API",
            ),
            _h(
                "azure-responses",
                "responses",
                None,
                "AZURE_OPENAI_API_KEY",
                base_url_env="AZURE_OPENAI_ENDPOINT",
                options={"azure": True},
                description="Azure OpenAI, Responses API (v1 path; model = deployment name)",
            ),
            _h("groq", "openai", "https://api.groq.com/openai/v1", "GROQ_API_KEY", description="Groq"),
            _h(
                "together",
                "openai",
                "https://api.together.xyz/v1",
                "TOGETHER_API_KEY",
                description="Together AI",
            ),
            _h(
                "openrouter",
                "openai",
                "https://openrouter.ai/api/v1",
                "OPENROUTER_API_KEY",
                description="OpenRouter",
            ),
            _h(
                "deepseek",
                "openai",
                "https://api.deepseek.com/v1",
                "DEEPSEEK_API_KEY",
                description="DeepSeek",
            ),
            _h("mistral", "openai", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", description="Mistral"),
            _h(
                "fireworks",
                "openai",
                "https://api.fireworks.ai/inference/v1",
                "FIREWORKS_API_KEY",
                description="Fireworks AI",
            ),
            _h("xai", "openai", "https://api.x.ai/v1", "XAI_API_KEY", description="xAI"),
            _h(
                "ollama",
                "openai",
                "http://localhost:11434/v1",
                "OLLAMA_API_KEY",
                key_required=False,
                base_url_env="OLLAMA_BASE_URL",
                description="Ollama (local)",
            ),
            _h(
                "vllm",
                "openai",
                "http://localhost:8000/v1",
                "VLLM_API_KEY",
                key_required=False,
                base_url_env="VLLM_BASE_URL",
                description="vLLM server (local)",
            ),
            _h(
                "llamacpp",
                "openai",
                "http://localhost:8080/v1",
                "LLAMACPP_API_KEY",
                key_required=False,
                base_url_env="LLAMACPP_BASE_URL",
                description="llama.cpp server (local)",
            ),
            _h(
                "lmstudio",
                "openai",
                "http://localhost:1234/v1",
                key_required=False,
                base_url_env="LMSTUDIO_BASE_URL",
                description="LM Studio (local)",
            ),
            _h(
                "simulator",
                "openai",
                f"{SIMULATOR_URL}/v1",
                key_required=False,
                description="built-in simulator, OpenAI protocol",
                responses_host="simulator-responses",
            ),
            _h(
                "simulator-anthropic",
                "anthropic",
                SIMULATOR_URL,
                key_required=False,
                options=_ANTHROPIC,
                description="built-in simulator, Anthropic protocol",
            ),
            _h(
                "simulator-responses",
                "responses",
                f"{SIMULATOR_URL}/v1",
                key_required=False,
                description="built-in simulator, OpenAI Responses protocol",
            ),
            _h(
                "simulator-gemini",
                "gemini",
                SIMULATOR_URL,
                key_required=False,
                description="built-in simulator, Gemini protocol",
            ),
        ]
    )
)


def is_simulator(base_url: str) -> bool:
    return base_url.startswith(SIMULATOR_URL)


def vendor_hosts() -> tuple[Host, ...]:
    """The hosts run by their protocol's own vendor (a host named like its protocol:
    ``openai``, ``anthropic``, ``gemini``), in table order."""
    return tuple(h for h in HOSTS.values() if h.name == h.protocol)
