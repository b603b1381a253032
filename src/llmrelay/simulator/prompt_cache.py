"""A prompt-prefix cache shared by the protocol modules: what each provider's cache remembers.

Entries are digests of a prompt prefix (never the text), keyed by a namespace (model,
and OpenAI's ``prompt_cache_key``), and expire on the simulator's clock. The memory is
bounded: past ``limit`` entries the least recently used go first, as a real cache evicts.

Two ways of asking, matching the providers:

* ``longest_prefix`` — OpenAI's and Gemini's automatic caching: the longest cached
  prefix of the prompt's tokens, at ``step`` token boundaries from ``minimum`` up.
* ``lookup`` / ``store`` — Anthropic's explicit breakpoints: one digest per breakpoint.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from llmrelay.simulator.clock import SimClock
from llmrelay.simulator.engine import GenerationInput, split_tokens

DEFAULT_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class AutoRule:
    """How a provider's automatic cache cuts prompts: no hit below ``minimum`` tokens, and
    hits grow in ``step`` token increments; entries live ``ttl`` seconds after last use."""

    minimum: int
    step: int
    ttl: float


class PromptCache:
    """Digests of prompt prefixes with their expiry time, least recently used first."""

    def __init__(self, clock: SimClock, limit: int = DEFAULT_LIMIT) -> None:
        self.clock = clock
        self.limit = limit
        self._entries: OrderedDict[bytes, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: bytes) -> bool:
        """Whether ``key`` is cached and unexpired (a hit refreshes its place, not its TTL)."""
        expires = self._entries.get(key)
        if expires is None:
            return False
        if expires <= self.clock.now():
            del self._entries[key]
            return False
        self._entries.move_to_end(key)
        return True

    def store(self, key: bytes, ttl: float) -> None:
        """Cache ``key`` for ``ttl`` seconds from now (a longer remaining life is kept)."""
        expires = self.clock.now() + ttl
        self._entries[key] = max(expires, self._entries.get(key, 0.0))
        self._entries.move_to_end(key)
        while len(self._entries) > self.limit:
            self._entries.popitem(last=False)

    def longest_prefix(self, namespace: str, tokens: Sequence[str], rule: AutoRule) -> int:
        """Tokens of the longest cached prefix of ``tokens`` (0 for none), then remember every
        prefix boundary of this prompt for ``rule.ttl`` seconds, as automatic caches do."""
        boundaries = list(range(rule.minimum, len(tokens) + 1, rule.step))
        if not boundaries:
            return 0
        digest = hashlib.blake2b(namespace.encode(), digest_size=16)
        keys: list[bytes] = []
        done = 0
        for boundary in boundaries:
            digest.update("".join(tokens[done:boundary]).encode("utf-8", "surrogatepass"))
            done = boundary
            keys.append(digest.copy().digest())
        hit = 0
        for boundary, key in zip(boundaries, keys, strict=True):
            if self.lookup(key):
                hit = boundary
        for key in keys:
            self.store(key, rule.ttl)
        return hit


def prompt_sequence(inp: GenerationInput, conversation: list[str] | None = None) -> list[str]:
    """The prompt as the tokens an automatic cache sees, in order: tool definitions first,
    then the conversation (so a new last message leaves the earlier prefix cached).
    ``conversation`` passes in ``split_tokens(inp.conversation)`` when already split."""
    if conversation is None:
        conversation = split_tokens(inp.conversation)
    if not inp.tools:
        return conversation
    tools = json.dumps(
        [[t.name, t.description, t.parameters] for t in inp.tools], sort_keys=True, separators=(",", ":")
    )
    return [*split_tokens(tools + "\n"), *conversation]
