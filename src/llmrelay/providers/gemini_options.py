"""Gemini ``generationConfig`` (sampling, logprobs, thinking, response format) and the
request fields the Gemini API has no parameter for (refused before sending). Pure functions."""

from __future__ import annotations

from typing import Any

from llmrelay.errors import InvalidRequestError
from llmrelay.providers.request_fields import refuse_cache_fields, refuse_set, unsupported, wants_logprobs
from llmrelay.types import ChatRequest, ResponseFormat
from llmrelay.wire import Endpoint

PROTOCOL = "gemini"
#: ThinkingConfig.thinkingLevel values (Gemini 3 models; which ones a model takes is in the catalog)
_THINKING_LEVELS = frozenset(("minimal", "low", "medium", "high"))
_NO_SUCH_FIELD = (
    ("service_tier", "the Gemini API has no per-request service tier"),
    ("verbosity", "the Gemini API has no verbosity parameter; say how long to answer in the prompt"),
)


def refuse_unsupported(req: ChatRequest, ep: Endpoint) -> None:
    refuse_set(req, _NO_SUCH_FIELD, ep, PROTOCOL)
    refuse_cache_fields(
        req,
        ("key", "retention"),
        "prompt_cache_key and prompt_cache_retention are OpenAI's; Gemini caches implicitly, or reads "
        "an explicit cache named by prompt_cache.cached_content",
        ep,
        PROTOCOL,
    )


def generation_config(req: ChatRequest, ep: Endpoint) -> dict[str, Any]:
    config: dict[str, Any] = {
        "temperature": req.temperature,
        "topP": req.top_p,
        "topK": req.top_k,
        "maxOutputTokens": req.max_tokens,
        "stopSequences": list(req.stop) if req.stop else None,
        "seed": req.seed,
        "presencePenalty": req.presence_penalty,
        "frequencyPenalty": req.frequency_penalty,
        "thinkingConfig": _thinking_config(req, ep),
    }
    if wants_logprobs(req):
        # GenerationConfig.responseLogprobs / logprobs; the answer's logprobsResult holds
        # chosenCandidates and topCandidates ({token, tokenId, logProbability})
        config["responseLogprobs"] = True
        config["logprobs"] = req.top_logprobs
    if req.response_format is not None:
        config.update(_response_format(req.response_format))
    return {k: v for k, v in config.items() if v is not None}


def _thinking_config(req: ChatRequest, ep: Endpoint) -> dict[str, Any] | None:
    """ThinkingConfig (thinking guide): a budget is ``thinkingBudget`` (Gemini 2.5; 0 turns
    thinking off where the model allows it), an effort ``thinkingLevel`` (Gemini 3; the
    catalog turns efforts into budgets for 2.5 models), and the summary ``includeThoughts``."""
    r = req.reasoning
    if r is None:
        return None
    if r.summary_mode not in (None, "auto"):
        raise unsupported(
            "reasoning.summary",
            "Gemini returns thought summaries with no choice of style; use summary=True or leave it unset",
            ep,
            PROTOCOL,
        )
    config: dict[str, Any] = {}
    if r.budget_tokens is not None and r.effort is not None:
        raise unsupported(
            "reasoning",
            "Gemini takes a thinking budget or a thinking level, not both: give budget_tokens or effort",
            ep,
            PROTOCOL,
        )
    if r.budget_tokens is not None:
        config["thinkingBudget"] = r.budget_tokens
    elif r.effort is not None:
        if r.effort not in _THINKING_LEVELS:
            raise unsupported(
                "reasoning.effort",
                f"Gemini's thinking levels are minimal, low, medium and high, not {r.effort!r}"
                + (" (Gemini 3 models cannot turn thinking off)" if r.effort == "none" else ""),
                ep,
                PROTOCOL,
            )
        config["thinkingLevel"] = r.effort
    if r.summary is not None:
        config["includeThoughts"] = r.summary_mode is not None
    return config or None


def _response_format(fmt: ResponseFormat) -> dict[str, Any]:
    if fmt.type == "text":
        return {}
    if fmt.type == "json_object":
        return {"responseMimeType": "application/json"}
    if fmt.schema is None:
        raise InvalidRequestError(
            "response_format is json_schema but has no schema; use ResponseFormat.json_schema(schema)"
        )
    # responseJsonSchema takes standard JSON Schema ($ref, anyOf, additionalProperties…),
    # unlike the older OpenAPI-subset responseSchema, so no conversion is needed.
    return {"responseMimeType": "application/json", "responseJsonSchema": dict(fmt.schema)}
