"""Render the engine's replies as OpenAI Chat Completions bodies (pieces shared with the stream)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.engine import Generation

FINGERPRINT = "fp_5im0lat0r1"
FINISH = {"stop": "stop", "stop_sequence": "stop", "length": "length", "tool_calls": "tool_calls"}
# What Azure's content filter reports for harmless text.
AZURE_FILTER = {
    category: {"filtered": False, "severity": "safe"}
    for category in ("hate", "self_harm", "sexual", "violence")
}
AZURE_PROMPT_FILTER = [{"prompt_index": 0, "content_filter_results": AZURE_FILTER}]


@dataclass(frozen=True, slots=True)
class Billing:
    """What a reply's usage adds to its tokens: reasoning tokens per choice (counted in the
    completion), prompt tokens served from the cache, and the tier that served it."""

    reasoning: int = 0
    cached: int = 0
    service_tier: str = "default"


NO_BILLING = Billing()


def usage(prompt: int, completion: int, reasoning: int = 0, cached: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def total_usage(generations: list[Generation], billing: Billing = NO_BILLING) -> dict[str, Any]:
    """The prompt once, every choice's completion (its reasoning included)."""
    reasoning = billing.reasoning * len(generations)
    completion = sum(g.completion_tokens for g in generations) + reasoning
    return usage(generations[0].prompt_tokens, completion, reasoning, billing.cached)


def completion_payload(
    model: str,
    generations: list[Generation],
    completion_id: str,
    *,
    azure: bool,
    billing: Billing = NO_BILLING,
) -> dict[str, Any]:
    """A ``chat.completion`` object with one choice per generation."""
    choices = []
    for index, generation in enumerate(generations):
        message: dict[str, Any] = {
            "role": "assistant",
            "content": generation.text if not generation.tool_calls else None,
            "refusal": None,
            "annotations": [],
        }
        if generation.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in generation.tool_calls
            ]
        choice: dict[str, Any] = {
            "index": index,
            "message": message,
            "logprobs": None,
            "finish_reason": FINISH[generation.finish],
        }
        if azure:
            choice["content_filter_results"] = AZURE_FILTER
        choices.append(choice)
    payload: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": total_usage(generations, billing),
        "service_tier": billing.service_tier,
        "system_fingerprint": FINGERPRINT,
    }
    if azure:
        payload["prompt_filter_results"] = AZURE_PROMPT_FILTER
    return payload
