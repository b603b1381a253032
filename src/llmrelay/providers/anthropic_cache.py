"""Anthropic prompt-cache breakpoints: checking the ones placed by hand, placing automatic ones.

Rules from Anthropic's prompt caching guide (platform.claude.com/docs, "Prompt caching"):

* a breakpoint is ``cache_control: {"type": "ephemeral"}`` on a block, with ``"ttl": "1h"``
  for the one-hour cache (five minutes is the default and is sent without a ttl);
* at most four breakpoints in a request;
* the prompt is read in the order tools → system → messages, and a one-hour breakpoint
  must not come after a five-minute one;
* a prefix shorter than the model's minimum (1,024 tokens for most models; 2,048 or 4,096
  for some: the catalog's ``cache_min_*`` marks) is not cached at all, so automatic
  placement skips spots whose prefix is shorter (estimated at four characters a token).

Markers placed by hand (``Tool.cache``, ``Message.cache``, ``TextPart.cache``) are put on
their blocks while translating; ``apply`` then checks them all and adds the automatic
ones (``PromptCache.auto``) where the rules leave room.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmrelay.errors import UnsupportedFeatureError
from llmrelay.wire import Endpoint

MAX_BREAKPOINTS = 4
DEFAULT_MIN_TOKENS = 1024
_CHARS_PER_TOKEN = 4
#: an image counts as about this many tokens in the length estimate (a 1-megapixel image)
_IMAGE_TOKENS = 1600
#: blocks that cannot carry cache_control
_NOT_CACHEABLE = frozenset(("thinking", "redacted_thinking"))


def control(ttl: str) -> dict[str, Any]:
    """The ``cache_control`` object for a TTL (``"5m"`` or ``"1h"``)."""
    return {"type": "ephemeral", "ttl": "1h"} if ttl == "1h" else {"type": "ephemeral"}


@dataclass(frozen=True, slots=True)
class Mark:
    """A breakpoint in the request: where it is (``section``: 0 tools, 1 system, 2
    messages), its TTL, and its place for messages."""

    section: int
    ttl: str
    where: str


def _ttl(block: Any) -> str | None:
    cc = block.get("cache_control") if isinstance(block, dict) else None
    if not isinstance(cc, dict):
        return None
    return "1h" if cc.get("ttl") == "1h" else "5m"


def marks(body: dict[str, Any]) -> list[Mark]:
    """Every breakpoint, in prompt order (one pass over the blocks)."""
    out: list[Mark] = []
    for i, tool in enumerate(body.get("tools") or ()):
        if (ttl := _ttl(tool)) is not None:
            out.append(Mark(0, ttl, f"tools[{i}]"))
    system = body.get("system")
    if isinstance(system, list):
        for i, block in enumerate(system):
            if (ttl := _ttl(block)) is not None:
                out.append(Mark(1, ttl, f"system[{i}]"))
    for i, turn in enumerate(body.get("messages") or ()):
        for j, block in enumerate(turn.get("content") or ()):
            if "cache_control" in block and (ttl := _ttl(block)) is not None:
                out.append(Mark(2, ttl, f"messages[{i}].content[{j}]"))
    return out


def _refuse(why: str, ep: Endpoint) -> UnsupportedFeatureError:
    provider = ep.host or "anthropic"
    return UnsupportedFeatureError(
        f"prompt cache breakpoints for {provider}: {why}", provider=provider, model=ep.model or None
    )


def check(body: dict[str, Any], ep: Endpoint) -> list[Mark]:
    """Refuse more than four breakpoints, or a one-hour one after a five-minute one;
    return the breakpoints."""
    placed = marks(body)
    if len(placed) > MAX_BREAKPOINTS:
        spots = ", ".join(m.where for m in placed)
        raise _refuse(
            f"{len(placed)} cache breakpoints ({spots}); Anthropic takes at most {MAX_BREAKPOINTS} "
            "per request: remove some cache markers (Message.cache, Tool.cache, TextPart.cache)",
            ep,
        )
    short_at = None
    for m in placed:
        if m.ttl == "5m" and short_at is None:
            short_at = m.where
        elif m.ttl == "1h" and short_at is not None:
            raise _refuse(
                f"the 1-hour breakpoint at {m.where} comes after the 5-minute one at {short_at}; "
                "Anthropic needs 1-hour breakpoints before 5-minute ones (in the order tools, "
                "system, messages): make the earlier marker '1h' or the later one '5m'",
                ep,
            )
    return placed


def _block_chars(block: Any) -> int:
    """A block's length in characters, for the estimate: its text, an image as a flat
    ``_IMAGE_TOKENS``, anything else (tool_use input, a tool definition) as its repr."""
    if not isinstance(block, dict):
        return len(block) if isinstance(block, str) else 0
    kind = block.get("type")
    if kind == "text":
        return len(block.get("text") or "")
    if kind in ("image", "document"):
        return _IMAGE_TOKENS * _CHARS_PER_TOKEN
    if kind == "thinking":
        return len(block.get("thinking") or "")
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return sum(_block_chars(b) for b in content)
        return len(content) if isinstance(content, str) else 0
    return len(str(block))


def estimate_tokens(blocks: Any, enough: int | None = None) -> int:
    """A rough token count of blocks (or of turns, whose content is blocks) at four
    characters a token; counting stops once ``enough`` is reached."""
    limit = None if enough is None else enough * _CHARS_PER_TOKEN
    chars = 0
    for item in blocks if isinstance(blocks, list) else (blocks,):
        content = item.get("content") if isinstance(item, dict) and "role" in item else None
        if isinstance(content, list):
            chars += sum(_block_chars(b) for b in content)
        elif isinstance(content, str):
            chars += len(content)
        else:
            chars += _block_chars(item)
        if limit is not None and chars >= limit:
            break
    return chars // _CHARS_PER_TOKEN


def place_auto(body: dict[str, Any], ttl: str, min_tokens: int | None, placed: list[Mark]) -> None:
    """Breakpoints at the end of the tool list, of the system prompt and of the
    conversation, each where the prefix up to it reaches ``min_tokens`` and the rules
    leave room. ``placed`` is what ``check`` returned: the markers placed by hand, kept as
    they are."""
    threshold = min_tokens or DEFAULT_MIN_TOKENS
    tools = body.get("tools") or []
    system = body.get("system")
    plain_system = isinstance(system, str) and bool(system)
    if plain_system:
        system = body["system"] = [{"type": "text", "text": system}]
    messages = body.get("messages") or []
    # each candidate is the last block of its section, so every breakpoint of an earlier or the
    # same section comes before it and every one of a later section after it
    candidates: list[tuple[int, dict[str, Any], int]] = []
    prefix = estimate_tokens(tools, threshold)
    if tools:
        candidates.append((0, tools[-1], prefix))
    if isinstance(system, list) and system:
        prefix += estimate_tokens(system, threshold)
        candidates.append((1, system[-1], prefix))
    if messages and messages[-1].get("content"):
        prefix += estimate_tokens(messages, max(0, threshold - prefix))
        candidates.append((2, messages[-1]["content"][-1], prefix))
    placed = list(placed)
    for section, block, tokens in candidates:
        if len(placed) >= MAX_BREAKPOINTS:
            break
        if tokens < threshold or "cache_control" in block or block.get("type") in _NOT_CACHEABLE:
            continue
        before = [m.ttl for m in placed if m.section <= section]
        after = [m.ttl for m in placed if m.section > section]
        if (ttl == "1h" and "5m" in before) or (ttl == "5m" and "1h" in after):
            continue  # a 1-hour breakpoint may not follow a 5-minute one
        block["cache_control"] = control(ttl)
        placed.append(Mark(section, ttl, "auto"))
    if plain_system and isinstance(system, list) and "cache_control" not in system[0]:
        body["system"] = system[0]["text"]  # no breakpoint there: keep the plain form
