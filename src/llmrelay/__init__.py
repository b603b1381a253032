"""llmrelay: one reliable, observable pipeline to every LLM provider.

Importing the package is cheap: the client, transport, settings and simulator are
imported on first use of the names below.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from llmrelay.errors import (
    AllDeploymentsFailedError,
    APIError,
    AuthenticationError,
    BudgetExceededError,
    CircuitOpenError,
    ConfigError,
    ConnectionError,
    ContentFilterError,
    ContextWindowExceededError,
    InvalidRequestError,
    LLMRelayError,
    MalformedResponseError,
    MissingKeyError,
    NotFoundError,
    OutputParseError,
    OverloadedError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServiceUnavailableError,
    StreamTruncatedError,
    TimeoutError,
    UnknownModelError,
    UnknownProviderError,
    UnsupportedFeatureError,
)
from llmrelay.types import (
    JSON_OBJECT,
    ChatRequest,
    ChatResponse,
    Embedding,
    EmbeddingResponse,
    FinishEvent,
    ForcedTool,
    ImagePart,
    Message,
    ReasoningDelta,
    ResponseFormat,
    StreamEnd,
    StreamEvent,
    StreamStart,
    Subject,
    TextDelta,
    TextPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from llmrelay.types.fields import PromptCache, Reasoning, SafetySetting, TokenLogprob, TopLogprob
from llmrelay.types.report import Report

__version__ = "0.1.0"

# A library logs and lets the application decide where records go: without this,
# Python's last-resort handler would print llmrelay's warnings to stderr.
logging.getLogger("llmrelay").addHandler(logging.NullHandler())

_LAZY = {
    "Client": "llmrelay.app.client",
    "Call": "llmrelay.pipeline",
    "Observer": "llmrelay.pipeline",
    "Controller": "llmrelay.pipeline",
    "before": "llmrelay.middleware.stack",
    "after": "llmrelay.middleware.stack",
    "SyncClient": "llmrelay.sync",
    "ChatStream": "llmrelay.stream",
    "Settings": "llmrelay.settings",
    "Simulator": "llmrelay.simulator",
    "SimulatorConfig": "llmrelay.simulator",
}

if TYPE_CHECKING:
    from llmrelay.app.client import Client
    from llmrelay.middleware.stack import after, before
    from llmrelay.pipeline import Call, Controller, Observer
    from llmrelay.settings import Settings
    from llmrelay.simulator import Simulator, SimulatorConfig
    from llmrelay.stream import ChatStream
    from llmrelay.sync import SyncClient


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmrelay' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "JSON_OBJECT",
    "APIError",
    "AllDeploymentsFailedError",
    "AuthenticationError",
    "BudgetExceededError",
    "Call",
    "ChatRequest",
    "ChatResponse",
    "ChatStream",
    "CircuitOpenError",
    "Client",
    "ConfigError",
    "ConnectionError",
    "ContentFilterError",
    "ContextWindowExceededError",
    "Controller",
    "Embedding",
    "EmbeddingResponse",
    "FinishEvent",
    "ForcedTool",
    "ImagePart",
    "InvalidRequestError",
    "LLMRelayError",
    "MalformedResponseError",
    "Message",
    "MissingKeyError",
    "NotFoundError",
    "Observer",
    "OutputParseError",
    "OverloadedError",
    "PermissionDeniedError",
    "PromptCache",
    "QuotaExceededError",
    "RateLimitError",
    "Reasoning",
    "ReasoningDelta",
    "Report",
    "ResponseFormat",
    "SafetySetting",
    "ServiceUnavailableError",
    "Settings",
    "Simulator",
    "SimulatorConfig",
    "StreamEnd",
    "StreamEvent",
    "StreamStart",
    "StreamTruncatedError",
    "Subject",
    "SyncClient",
    "TextDelta",
    "TextPart",
    "TimeoutError",
    "TokenLogprob",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "TopLogprob",
    "UnknownModelError",
    "UnknownProviderError",
    "UnsupportedFeatureError",
    "Usage",
    "UsageEvent",
    "after",
    "before",
]
