"""Anthropic extended thinking in the simulator: the request's ``thinking`` settings, the
rules that go with them, and the check of thinking blocks replayed in later turns.

Pure functions raising ``AnthropicInvalid`` with the API's messages. A replayed
``thinking`` block must carry the simulator's signature of exactly its text, so a changed
signature or a changed thought is refused, as Anthropic refuses it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmrelay.simulator.anthropic_invalid import AnthropicInvalid
from llmrelay.simulator.anthropic_models import ADAPTIVE, ADAPTIVE_ONLY, is_family
from llmrelay.simulator.thinking import check, sign, thought_text, thought_tokens

MIN_BUDGET = 1024
EFFORTS = ("low", "medium", "high", "xhigh", "max")
SIGNATURE_KIND = "anthropic-thinking"
# Anthropic documents this prompt string for testing: it makes the reply's thinking redacted.
REDACT_TRIGGER = "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_46C9A13E193C177646C7398A98432ECCCE4C1253"
_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"


@dataclass(frozen=True, slots=True)
class ThinkingAsk:
    """Thinking as asked: a fixed ``budget`` (``enabled``) or adaptive with an ``effort``."""

    budget: int | None
    effort: str


@dataclass(frozen=True, slots=True)
class Thought:
    """The thinking block of a reply: text, signature and the output tokens it cost."""

    text: str
    signature: str
    tokens: int
    redacted: bool = False

    def block(self, seed: int) -> dict[str, Any]:
        """The content block as sent: ``thinking`` with its signature, or ``redacted_thinking``."""
        if self.redacted:
            return {"type": "redacted_thinking", "data": seal_redacted(self.text, seed)}
        return {"type": "thinking", "thinking": self.text, "signature": self.signature}


def _keystream(seed: int, size: int) -> bytes:
    return hashlib.shake_256(f"llmrelay-simulator-redacted:{seed}".encode()).digest(size)


def seal_redacted(text: str, seed: int) -> str:
    """A ``redacted_thinking`` block's ``data``: the thought, enciphered, and its signature."""
    raw = text.encode("utf-8", "surrogatepass")
    hidden = bytes(a ^ b for a, b in zip(raw, _keystream(seed, len(raw)), strict=True))
    return base64.b64encode(hidden).decode("ascii") + "." + sign(SIGNATURE_KIND, text, seed)


def open_redacted(data: str, seed: int) -> bool:
    """Whether ``data`` is a ``redacted_thinking`` payload of this simulator, unchanged."""
    hidden, _, signature = data.partition(".")
    try:
        raw = base64.b64decode(hidden.encode("ascii"), validate=True)
        text = bytes(a ^ b for a, b in zip(raw, _keystream(seed, len(raw)), strict=True)).decode("utf-8")
    except (ValueError, UnicodeError):
        return False
    return check(SIGNATURE_KIND, text, signature, seed) == "ok"


def parse_thinking(body: Mapping[str, Any], model: str) -> ThinkingAsk | None:
    """Validate ``thinking`` (and ``output_config.effort``); None when thinking is off."""
    raw = body.get("thinking")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise AnthropicInvalid("thinking: Input should be a valid dictionary")
    kind = raw.get("type")
    if kind == "disabled":
        return None
    effort = _effort(body)
    if kind == "enabled":
        if is_family(model, ADAPTIVE_ONLY):
            raise AnthropicInvalid(
                "thinking.type.enabled is not supported for this model. Use thinking.type.adaptive and "
                "output_config.effort to control thinking behavior."
            )
        budget = raw.get("budget_tokens")
        if budget is None:
            raise AnthropicInvalid("thinking.enabled.budget_tokens: Field required")
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise AnthropicInvalid("thinking.enabled.budget_tokens: Input should be a valid integer")
        if budget < MIN_BUDGET:
            raise AnthropicInvalid(
                f"thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_BUDGET}"
            )
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, int) and budget >= max_tokens:
            raise AnthropicInvalid(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                f"documentation at {_DOCS}#max-tokens-and-context-window-size"
            )
        return ThinkingAsk(budget, effort or "medium")
    if kind == "adaptive":
        if not is_family(model, ADAPTIVE):
            raise AnthropicInvalid(f"thinking.type.adaptive is not supported for model {model}.")
        return ThinkingAsk(None, effort or "high")
    raise AnthropicInvalid(
        "thinking: Input tag found using 'type' does not match any of the expected tags: "
        "'adaptive', 'disabled', 'enabled'"
    )


def _effort(body: Mapping[str, Any]) -> str | None:
    config = body.get("output_config")
    effort = config.get("effort") if isinstance(config, dict) else None
    if effort is not None and effort not in EFFORTS:
        allowed = ", ".join(f"'{e}'" for e in EFFORTS)
        raise AnthropicInvalid(f"output_config.effort: Input should be {allowed}")
    return effort if isinstance(effort, str) else None


def check_with_thinking(body: Mapping[str, Any]) -> None:
    """What thinking is incompatible with: sampling changes and a forced tool choice."""
    temperature = body.get("temperature")
    if temperature is not None and temperature != 1:
        raise AnthropicInvalid(
            "`temperature` may only be set to 1 when thinking is enabled or in adaptive mode. Please consult "
            f"our documentation at {_DOCS}#feature-compatibility"
        )
    if body.get("top_k") is not None:
        raise AnthropicInvalid(
            "`top_k` is not supported when thinking is enabled or in adaptive mode. Please consult our "
            f"documentation at {_DOCS}#feature-compatibility"
        )
    top_p = body.get("top_p")
    if isinstance(top_p, int | float) and not 0.95 <= top_p <= 1:
        raise AnthropicInvalid(
            "`top_p` must be greater than or equal to 0.95 and less than or equal to 1 when thinking is "
            f"enabled or in adaptive mode. Please consult our documentation at {_DOCS}#feature-compatibility"
        )
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        raise AnthropicInvalid("Thinking may not be enabled when tool_choice forces tool use.")


def check_replayed(messages: Sequence[Any], seed: int, thinking_on: bool) -> None:
    """Every replayed ``thinking`` block must be signed by this simulator for exactly its text;
    with thinking on, the assistant turn whose tool calls the last user turn answers must
    start with its thinking."""
    latest = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=-1)
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if message.get("role") != "assistant" or not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            if not isinstance(block, dict) or block.get("type") not in ("thinking", "redacted_thinking"):
                continue
            path = f"messages.{i}.content.{j}"
            if block["type"] == "thinking":
                _check_block(block, path, seed, latest=i == latest)
            elif i == latest and not open_redacted(str(block.get("data")), seed):
                raise AnthropicInvalid(_modified(path))
    if thinking_on:
        _check_leading_thinking(messages)


def _check_block(block: Mapping[str, Any], path: str, seed: int, *, latest: bool) -> None:
    """A forged signature is refused anywhere; a genuine signature of another text (the thought
    was edited) only in the latest assistant turn, the one the API reads thinking from."""
    text, signature = block.get("thinking"), block.get("signature")
    if not isinstance(text, str):
        raise AnthropicInvalid(f"{path}.thinking.thinking: Field required")
    if not isinstance(signature, str):
        raise AnthropicInvalid(f"{path}.thinking.signature: Field required")
    status = check(SIGNATURE_KIND, text, signature, seed)
    if status == "forged":
        raise AnthropicInvalid(f"{path}: Invalid `signature` in `thinking` block")
    if status == "modified" and latest:
        raise AnthropicInvalid(_modified(path))


def _modified(path: str) -> str:
    return (
        f"{path}: `thinking` or `redacted_thinking` blocks in the latest assistant message cannot be "
        "modified. These blocks must remain as they were in the original response."
    )


def _check_leading_thinking(messages: Sequence[Any]) -> None:
    if len(messages) < 2:
        return
    last, turn = messages[-1], messages[-2]
    content = last.get("content") if isinstance(last, dict) else None
    answers_tools = isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content
    )
    blocks = turn.get("content") if isinstance(turn, dict) else None
    if not answers_tools or not isinstance(blocks, list) or not blocks:
        return
    first = blocks[0].get("type") if isinstance(blocks[0], dict) else None
    if first not in ("thinking", "redacted_thinking"):
        raise AnthropicInvalid(
            f"messages.{len(messages) - 2}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
            f"found `{first}`. When `thinking` is enabled, a final `assistant` message must start with a "
            "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). "
            "We recommend you include thinking blocks from previous turns. "
            "To avoid this requirement, disable `thinking`. "
            f"Please consult our documentation at {_DOCS}"
        )


def think(ask: ThinkingAsk, conversation: str, seed: int, max_tokens: int) -> Thought:
    """The thought for ``conversation``; its cost stays within the budget (adaptive: leaves
    at least one token of ``max_tokens`` for the answer)."""
    text = thought_text(conversation, seed)
    cap = ask.budget if ask.budget is not None else max(max_tokens - 1, 1)
    tokens = min(thought_tokens(text, ask.effort), cap)
    return Thought(text, sign(SIGNATURE_KIND, text, seed), tokens, REDACT_TRIGGER in conversation)
