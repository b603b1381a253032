"""Wire-protocol adapters, one module per protocol, found through ``ADAPTERS``.

OpenAI-compatible services (Azure, Groq, vLLM, Ollama…) are configurations of the
``openai`` protocol (see ``llmrelay.hosts``), not modules of their own.
"""

from __future__ import annotations

import importlib
from types import MappingProxyType

from llmrelay.errors import UnknownProviderError
from llmrelay.providers.base import Adapter
from llmrelay.providers.counting import TokenRules

# protocol name -> "module:class"; imported on first use to keep `import llmrelay` light.
ADAPTERS = MappingProxyType(
    {
        "openai": "llmrelay.providers.openai:OpenAIAdapter",
        "anthropic": "llmrelay.providers.anthropic:AnthropicAdapter",
        "gemini": "llmrelay.providers.gemini:GeminiAdapter",
        "responses": "llmrelay.providers.openai_responses:ResponsesAdapter",
    }
)

#: the protocol of a model nothing else claims: OpenAI's is the one most servers speak
DEFAULT_PROTOCOL = "openai"


def load_adapter(protocol: str) -> Adapter:
    """A new adapter instance for ``protocol``."""
    try:
        target = ADAPTERS[protocol]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise UnknownProviderError(f"unknown wire protocol {protocol!r}; known protocols: {known}") from None
    module_name, _, cls_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    adapter: Adapter = cls()
    return adapter


def token_rules(protocol: str) -> TokenRules:
    """How ``protocol`` frames a prompt in tokens (raises ``UnknownProviderError``)."""
    return load_adapter(protocol).token_rules


def continues_prefill(protocol: str) -> bool:
    """Whether ``protocol`` continues a final assistant turn (raises ``UnknownProviderError``)."""
    return load_adapter(protocol).continues_prefill


def protocol_for_model(model: str) -> str:
    """The protocol whose own models a bare model id looks like (``claude-…`` is
    Anthropic's), else ``DEFAULT_PROTOCOL``. Loads every adapter: for names without a host."""
    for protocol in ADAPTERS:
        if token_rules(protocol).owns_model(model):
            return protocol
    return DEFAULT_PROTOCOL


__all__ = [
    "ADAPTERS",
    "DEFAULT_PROTOCOL",
    "Adapter",
    "TokenRules",
    "continues_prefill",
    "load_adapter",
    "protocol_for_model",
    "token_rules",
]
