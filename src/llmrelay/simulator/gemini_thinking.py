"""Gemini thinking in the simulator: ``generationConfig.thinkingConfig``, thought parts,
thought signatures, and their check when a conversation is replayed.

* 2.5 models think when ``thinkingConfig`` asks (``thinkingBudget``: -1 dynamic, 0 off where
  the model allows it); Gemini 3 models always think (``thinkingLevel``, default high).
* ``includeThoughts`` adds the thought summary as a part with ``thought: true``.
* A thinking reply signs its first function call part (parallel calls after it carry
  none), or its first text part, with ``thoughtSignature``, as Google's "Thought
  signatures" page describes.
* Gemini 3 models validate the current turn (everything after the last user message
  that is not only function responses): the first function call of each model step must
  carry its signature, unchanged. Google's documented placeholder
  ``skip_thought_signature_validator`` is accepted.

Pure functions raising ``GeminiInvalid``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.gemini_invalid import GeminiInvalid, get
from llmrelay.simulator.thinking import sign, thought_text, thought_tokens, verify

KIND = "gemini-thought"
# Values Google documents for replaying calls that have no signature of their own.
SKIP_SIGNATURES = frozenset({"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"})
LEVELS = ("minimal", "low", "medium", "high")
_DOCS = "https://ai.google.dev/gemini-api/docs/thought-signatures"
# (first budget, last budget, whether 0 turns thinking off) by model family; -1 is dynamic everywhere.
_BUDGETS = (
    ("gemini-2.5-pro", 128, 32_768, False),
    ("gemini-2.5-flash-lite", 512, 24_576, True),
    ("gemini-2.5-flash", 1, 24_576, True),
)


@dataclass(frozen=True, slots=True)
class GeminiThinking:
    effort: str
    budget: int | None  # None: as much as the model likes
    include: bool


@dataclass(frozen=True, slots=True)
class GeminiThought:
    text: str
    tokens: int
    include: bool


def is_gemini3(model: str) -> bool:
    return model.rsplit("/", 1)[-1].lower().startswith("gemini-3")


def parse_thinking(body: Mapping[str, Any], model: str) -> GeminiThinking | None:
    """The thinking a request asks of ``model``, None for none."""
    config = get(body, "generationConfig")
    raw = get(config, "thinkingConfig") if isinstance(config, dict) else None
    path = "generation_config.thinking_config"
    if raw is None:
        return GeminiThinking("high", None, False) if is_gemini3(model) else None
    if not isinstance(raw, dict):
        raise GeminiInvalid(f"Invalid JSON payload received. Expected an object for '{path}'.")
    include = get(raw, "includeThoughts") is True
    budget, level = get(raw, "thinkingBudget"), get(raw, "thinkingLevel")
    if budget is not None and level is not None:
        raise GeminiInvalid("You can only set only one of thinking budget and thinking level.")
    if level is not None:
        if not is_gemini3(model):
            raise GeminiInvalid("Thinking level is not supported for this model.")
        if not isinstance(level, str) or level.lower() not in LEVELS:
            raise GeminiInvalid(
                f"Invalid value at '{path}.thinking_level' "
                "(type.googleapis.com/google.ai.generativelanguage.v1beta.ThinkingConfig.ThinkingLevel), "
                f'"{level}"'
            )
        return GeminiThinking(level.lower(), None, include)
    if budget is None:
        return GeminiThinking("high" if is_gemini3(model) else "medium", None, include)
    if not isinstance(budget, int) or isinstance(budget, bool):
        raise GeminiInvalid(f"Invalid value at '{path}.thinking_budget' (TYPE_INT32), {json.dumps(budget)}")
    return _budgeted(model, budget, include)


def _budgeted(model: str, budget: int, include: bool) -> GeminiThinking | None:
    if budget == -1:
        return GeminiThinking("medium", None, include)
    bare = model.rsplit("/", 1)[-1].lower()
    for family, low, high, can_stop in _BUDGETS:
        if bare.startswith(family):
            if budget == 0:
                if not can_stop:
                    raise GeminiInvalid("Budget 0 is invalid. This model only works in thinking mode.")
                return None
            if not low <= budget <= high:
                raise GeminiInvalid(
                    f"The thinking budget {budget} is invalid. "
                    f"Please choose a value between {low} and {high}."
                )
            break
    if budget == 0 and not is_gemini3(model):
        return None
    if budget < 0:
        raise GeminiInvalid(f"The thinking budget {budget} is invalid.")
    return GeminiThinking("medium", max(budget, 1), include)


def think(ask: GeminiThinking, conversation: str, seed: int) -> GeminiThought:
    text = thought_text(conversation, seed)
    tokens = thought_tokens(text, ask.effort)
    if ask.budget is not None:
        tokens = min(tokens, ask.budget)
    return GeminiThought(text, tokens, ask.include)


def call_payload(name: object, args: object) -> str:
    return "call\x00" + str(name) + "\x00" + json.dumps(args or {}, sort_keys=True, separators=(",", ":"))


def call_signature(name: str, args: object, seed: int) -> str:
    return sign(KIND, call_payload(name, args), seed)


def text_signature(text: str, seed: int) -> str:
    return sign(KIND, "text\x00" + text, seed)


def check_signatures(contents: Sequence[Any], model: str, seed: int) -> None:
    """Gemini 3's rule for the current turn: every model step that calls functions carries
    the signature of its first call, and every signature sent on a call is intact."""
    if not is_gemini3(model):
        return
    start = 0
    for i, content in enumerate(contents):
        parts = content.get("parts") or []
        if (content.get("role") or "user") != "model" and any(
            get(p, "functionResponse") is None for p in parts
        ):
            start = i + 1
    for i in range(start, len(contents)):
        content = contents[i]
        if content.get("role") != "model":
            continue
        calls = [p for p in content["parts"] if isinstance(get(p, "functionCall"), dict)]
        for n, part in enumerate(calls):
            call = get(part, "functionCall")
            signature = get(part, "thoughtSignature")
            if signature is None:
                if n == 0:
                    raise GeminiInvalid(_missing(str(call.get("name")), i + 1))
                continue
            _check(signature, call_payload(call.get("name"), call.get("args")), seed)


def _missing(name: str, position: int) -> str:
    return (
        "Function call is missing a thought_signature in functionCall parts. This is required for tools to "
        "work correctly, and missing thought_signature may lead to degraded model performance. Additional "
        f"data, function call `default_api:{name}` , position {position}. Please refer to {_DOCS} for more "
        "details."
    )


def _check(signature: object, payload: str, seed: int) -> None:
    """Signatures are bytes in proto JSON: base64 in either alphabet (the SDKs send URL-safe)."""
    if signature in SKIP_SIGNATURES:
        return
    if not isinstance(signature, str):
        raise GeminiInvalid("Corrupted thought signature.")
    standard = signature.replace("-", "+").replace("_", "/")
    try:
        sent = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise GeminiInvalid("Corrupted thought signature.") from None
    if not verify(KIND, payload, base64.b64encode(sent).decode("ascii"), seed):
        raise GeminiInvalid("Invalid thought signature.")
