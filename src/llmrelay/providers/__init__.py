"""Wire-protocol adapters, one module per protocol, found through ``ADAPTERS``.

OpenAI-compatible services (Azure, Groq, vLLM, Ollama…) are configurations of the
``openai`` protocol (see ``llmrelay.hosts``), not modules of their own.
"""

from __future__ import annotations

import importlib
from types import MappingProxyType

from llmrelay.errors import UnknownProviderError
from llmrelay.providers.base import Adapter

# protocol name -> "module:class"; imported on first use to keep `import llmrelay` light.
ADAPTERS = MappingProxyType(
    {
        "openai": "llmrelay.providers.openai:OpenAIAdapter",
        "anthropic": "llmrelay.providers.anthropic:AnthropicAdapter",
        "gemini": "llmrelay.providers.gemini:GeminiAdapter",
    }
)


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


__all__ = ["ADAPTERS", "Adapter", "load_adapter"]
