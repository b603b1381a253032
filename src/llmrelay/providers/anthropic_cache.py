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

from collections.abc import Iterator
from typing import Any

from llmrelay.errors import UnsupportedFeatureError
from llmrelay.wire import Endpoint

MAX_BREAKPOINTS = 4
DEFAULT_MIN_TOKENS = 1024
_CHARS_PER_TOKEN = 4
#: an image counts as about this many tokens in the length estimate (a 1-megapixel image)
_IMAGE_TOKENS = 1600


def control(ttl: str) -> dict[str, Any]:
    """The ``cache_control`` object for a TTL (``"5m"`` or ``"1h"``)."""
    return {"type": "ephemeral", "ttl": "1h"} if ttl == "1h" else {"type": "ephemeral"}


def _ttl(block: dict[str, Any]) -> str | None:
    cc = block.get("cache_control")
    if not isinstance(cc, dict):
        return None
    return "1h" if cc.get("ttl") == "1h" else "5m"


def _blocks(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every block that can hold a breakpoint, in prompt order, with where it is."""
    for i, tool in enumerate(body.get("tools") or ()):
        yield f"tools[{i}]", tool
    system = body.get("system")
    if isinstance(system, list):
        for i, block in enumerate(system):
            yield f"system[{i}]", block
    for i, turn in enumerate(body.get("messages") or ()):
        for j, block in enumerate(turn.get("content") or ()):
            yield f"messages[{i}].content[{j}]", block


def _refuse(why: str, ep: Endpoint) -> UnsupportedFeatureError:
    provider = ep.host or "anthropic"
    return UnsupportedFeatureError(
        f"prompt cache breakpoints for {provider}: {why}", provider=provider, model=ep.model or None
    )


def check(body: dict[str, Any], ep: Endpoint) -> int:
    """Refuse more than four breakpoints, or a one-hour one after a five-minute one;
    return how many there are."""
    placed = [(where, ttl) for where, block in _blocks(body) if (ttl := _ttl(block)) is not None]
    if len(placed) > MAX_BREAKPOINTS:
        spots = ", ".join(where for where, _ in placed)
        raise _refuse(
            f"{len(placed)} cache breakpoints ({spots}); Anthropic takes at most {MAX_BREAKPOINTS} "
            "per request: remove some cache markers (Message.cache, Tool.cache, TextPart.cache)",
            ep,
        )
    short_at = None
    for where, ttl in placed:
        if ttl == "5m" and short_at is None:
            short_at = where
        elif ttl == "1h" and short_at is not None:
            raise _refuse(
                f"the 1-hour breakpoint at {where} comes after the 5-minute one at {short_at}; "
                "Anthropic needs 1-hour breakpoints before 5-minute ones (in the order tools, "
                "system, messages): make the earlier marker '1h' or the later one '5m'",
                ep,
            )
    return len(placed)


def estimate_tokens(value: Any) -> int:
    """A rough token count of a JSON value: its strings at four characters a token."""
    return _chars(value) // _CHARS_PER_TOKEN


def _chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        if value.get("type") in ("base64", "url") and ("data" in value or "url" in value):
            return _IMAGE_TOKENS * _CHARS_PER_TOKEN
        return sum(_chars(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_chars(v) for v in value)
    return 0


def place_auto(body: dict[str, Any], ttl: str, min_tokens: int | None) -> None:
    """Breakpoints at the end of the tool list, of the system prompt and of the
    conversation, each where the prefix up to it reaches ``min_tokens`` and the rules
    leave room. Call after ``check``: the markers placed by hand are kept as they are."""
    threshold = min_tokens or DEFAULT_MIN_TOKENS
    tools = body.get("tools") or []
    system = body.get("system")
    plain_system = isinstance(system, str) and bool(system)
    if plain_system:
        system = body["system"] = [{"type": "text", "text": system}]
    messages = body.get("messages") or []
    candidates: list[tuple[dict[str, Any], int]] = []
    prefix = estimate_tokens(tools)
    if tools:
        candidates.append((tools[-1], prefix))
    if isinstance(system, list) and system:
        prefix += estimate_tokens(system)
        candidates.append((system[-1], prefix))
    if messages and messages[-1].get("content"):
        prefix += estimate_tokens(messages)
        candidates.append((messages[-1]["content"][-1], prefix))
    for block, tokens in candidates:
        if (
            tokens < threshold
            or "cache_control" in block
            or block.get("type") in ("thinking", "redacted_thinking")
        ):
            continue
        if sum(1 for _, b in _blocks(body) if _ttl(b)) >= MAX_BREAKPOINTS:
            break
        block["cache_control"] = control(ttl)
        if not _ordered(body):
            del block["cache_control"]
    if plain_system and isinstance(system, list) and "cache_control" not in system[0]:
        body["system"] = system[0]["text"]  # no breakpoint there: keep the plain form


def _ordered(body: dict[str, Any]) -> bool:
    seen_short = False
    for _, block in _blocks(body):
        ttl = _ttl(block)
        if ttl == "5m":
            seen_short = True
        elif ttl == "1h" and seen_short:
            return False
    return True
