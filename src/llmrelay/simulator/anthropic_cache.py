"""Anthropic prompt caching in the simulator: ``cache_control`` breakpoints and the usage
they produce.

A breakpoint caches the prompt up to and including its block, in the order the API reads
a request: ``tools``, then ``system``, then ``messages``. The first request with a prefix
writes it (``cache_creation_input_tokens``, split by TTL in ``cache_creation``); a repeat
within the TTL reads it (``cache_read_input_tokens``); ``input_tokens`` counts only what
follows the last breakpoint, as Anthropic bills it. A prefix shorter than the model's
minimum is not cached, without an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from llmrelay.simulator.anthropic_invalid import AnthropicInvalid
from llmrelay.simulator.anthropic_models import min_cacheable
from llmrelay.simulator.engine import MESSAGE_OVERHEAD, count_tokens
from llmrelay.simulator.prompt_cache import PromptCache

MAX_BREAKPOINTS = 4
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


@dataclass(frozen=True, slots=True)
class Breakpoint:
    tokens: int  # prompt tokens up to and including the block
    key: bytes  # digest of that prefix
    ttl: str


@dataclass(frozen=True, slots=True)
class CacheUsage:
    """The cache figures of one reply's usage (all zero without breakpoints)."""

    read: int = 0
    write_5m: int = 0
    write_1h: int = 0

    @property
    def written(self) -> int:
        return self.write_5m + self.write_1h


def _ttl_of(block: object, path: str) -> str | None:
    if not isinstance(block, dict) or block.get("cache_control") is None:
        return None
    control = block["cache_control"]
    if not isinstance(control, dict) or control.get("type") != "ephemeral":
        raise AnthropicInvalid(f"{path}.cache_control.type: Input should be 'ephemeral'")
    ttl = control.get("ttl", "5m")
    if ttl not in TTL_SECONDS:
        raise AnthropicInvalid(f"{path}.cache_control.ephemeral.ttl: Input should be '5m' or '1h'")
    return str(ttl)


def _block_text(block: object) -> str:
    if isinstance(block, dict):
        plain = {k: v for k, v in block.items() if k != "cache_control"}
        if plain.get("type") == "text" and isinstance(plain.get("text"), str):
            return str(plain["text"])
        return json.dumps(plain, sort_keys=True, separators=(",", ":"))
    return str(block)


def _marked(body: Mapping[str, Any]) -> bool:
    """Whether any tool, system block or message block carries ``cache_control``."""
    blocks: list[Any] = list(body.get("tools") or ())
    system = body.get("system")
    if isinstance(system, list):
        blocks.extend(system)
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            blocks.extend(content)
    return any(isinstance(b, dict) and "cache_control" in b for b in blocks)


def breakpoints(body: Mapping[str, Any]) -> list[Breakpoint]:
    """The request's breakpoints in API order; raises for more than four, or for a 1h
    breakpoint after a 5m one."""
    if not _marked(body):
        return []  # most requests: no need to count every block
    digest = hashlib.blake2b(str(body.get("model")).encode(), digest_size=16)
    found: list[Breakpoint] = []
    tokens = 0

    def visit(block: object, path: str, overhead: int = 0) -> None:
        nonlocal tokens
        text = _block_text(block)
        digest.update(len(text).to_bytes(8, "big") + text.encode("utf-8", "surrogatepass"))
        tokens += count_tokens(text) + overhead
        ttl = _ttl_of(block, path)
        if ttl is not None:
            found.append(Breakpoint(tokens, digest.copy().digest(), ttl))

    for i, tool in enumerate(body.get("tools") or ()):
        visit(tool, f"tools.{i}")
    system = body.get("system")
    if isinstance(system, list):
        for i, block in enumerate(system):
            visit(block, f"system.{i}", MESSAGE_OVERHEAD if i == 0 else 0)
    elif isinstance(system, str) and system:
        visit(system, "system", MESSAGE_OVERHEAD)
    for i, message in enumerate(body.get("messages") or ()):
        content = message.get("content") if isinstance(message, dict) else None
        role = message.get("role") if isinstance(message, dict) else None
        digest.update(str(role).encode())
        if isinstance(content, list):
            for j, block in enumerate(content):
                visit(block, f"messages.{i}.content.{j}", MESSAGE_OVERHEAD if j == 0 else 0)
        else:
            visit(content, f"messages.{i}.content", MESSAGE_OVERHEAD)
    if len(found) > MAX_BREAKPOINTS:
        raise AnthropicInvalid(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {len(found)}."
        )
    for earlier, later in pairwise(found):
        if earlier.ttl == "5m" and later.ttl == "1h":
            raise AnthropicInvalid(
                "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. "
                "Note that blocks are processed in the following order: `tools`, `system`, `messages`."
            )
    return found


def account(cache: PromptCache, points: list[Breakpoint], model: str, prompt: int) -> CacheUsage:
    """Read the longest cached breakpoint, write the ones after it, and say how many prompt
    tokens each took (never more than the ``prompt`` itself)."""
    minimum = min_cacheable(model)
    eligible = [p for p in points if p.tokens >= minimum]
    read, hit_at = 0, -1
    for i, point in enumerate(eligible):
        if cache.lookup(point.key):
            read, hit_at = min(point.tokens, prompt), i
    if hit_at >= 0:  # a read refreshes the entry's life
        cache.store(eligible[hit_at].key, TTL_SECONDS[eligible[hit_at].ttl])
    written = {"5m": 0, "1h": 0}
    done = read
    for point in eligible[hit_at + 1 :]:
        upto = min(point.tokens, prompt)
        written[point.ttl] += max(upto - done, 0)
        done = max(done, upto)
        cache.store(point.key, TTL_SECONDS[point.ttl])
    return CacheUsage(read, written["5m"], written["1h"])
