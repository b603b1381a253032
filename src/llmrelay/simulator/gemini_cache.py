"""Gemini explicit context caching: ``cachedContents`` resources and their use by
``generateContent`` (``cachedContent: "cachedContents/…"``).

A resource holds a model's ``contents``, ``systemInstruction``, ``tools`` and
``toolConfig`` for its ``ttl`` (an hour by default) on the simulator's clock. A request
that names it is answered as if those were in the request before its own contents, and
reports them as ``usageMetadata.cachedContentTokenCount`` (counted in
``promptTokenCount`` too, as Gemini does). The store is bounded.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from llmrelay.simulator.clock import SimClock
from llmrelay.simulator.engine import GenerationInput, conversation_of, prompt_tokens
from llmrelay.simulator.gemini_invalid import GeminiInvalid, get
from llmrelay.simulator.gemini_request import parse_count_tokens

KEPT = 256
DEFAULT_TTL = 3600.0
NOT_FOUND = "CachedContent not found (or permission denied)"
_CARRIED = ("systemInstruction", "tools", "toolConfig")


class CacheRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class _Entry:
    resource: dict[str, Any]
    model: str
    carried: dict[str, Any]  # contents, systemInstruction, tools, toolConfig as created
    tokens: int
    expires: float  # on the simulator clock


def _stamp(seconds_from_now: float = 0.0) -> str:
    moment = datetime.fromtimestamp(time.time() + seconds_from_now, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ttl(body: Mapping[str, Any]) -> float:
    raw = get(body, "ttl")
    if raw is None:
        return DEFAULT_TTL
    if not isinstance(raw, str) or not raw.endswith("s"):
        raise GeminiInvalid(
            f"Invalid value at 'cached_content.ttl' (type.googleapis.com/google.protobuf.Duration), {raw!r}"
        )
    try:
        seconds = float(raw[:-1])
    except ValueError:
        raise GeminiInvalid(
            f"Invalid value at 'cached_content.ttl' (type.googleapis.com/google.protobuf.Duration), {raw!r}"
        ) from None
    if seconds <= 0:
        raise GeminiInvalid("* CreateCachedContentRequest.cached_content.ttl: ttl must be positive.\n")
    return seconds


def _tokens(model: str, carried: Mapping[str, Any]) -> int:
    if carried.get("contents"):
        return parse_count_tokens(model, {"generateContentRequest": dict(carried)})
    system = get(carried, "systemInstruction")
    parts = system.get("parts") if isinstance(system, dict) else None
    texts = [str(p.get("text", "")) for p in parts or () if isinstance(p, dict)]
    if not texts:
        raise GeminiInvalid(
            "* CreateCachedContentRequest.cached_content.contents: contents is not specified\n"
        )
    return prompt_tokens(GenerationInput(model, conversation_of(texts), False))


class CachedContents:
    """The resources of one simulator, by name, least recently used dropped past the bound."""

    def __init__(self, clock: SimClock, minimum: Callable[[str], int], limit: int = KEPT) -> None:
        self.clock = clock
        self.minimum = minimum  # model -> minimum tokens of a cache
        self.limit = limit
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def create(self, body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise GeminiInvalid("Invalid JSON payload received. Expected an object.")
        named = body.get("model")
        if not isinstance(named, str) or not named:
            raise GeminiInvalid("* CreateCachedContentRequest.cached_content.model: model is required\n")
        model = named.removeprefix("models/")
        ttl = _ttl(body)
        carried = {k: body[k] for k in ("contents", *_CARRIED) if body.get(k) is not None}
        for key in _CARRIED:
            snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
            if key not in carried and body.get(snake) is not None:
                carried[key] = body[snake]
        tokens = _tokens(model, carried)
        minimum = self.minimum(model)
        if tokens < minimum:
            raise GeminiInvalid(
                f"Cached content is too small. total_token_count={tokens}, min_total_token_count={minimum}"
            )
        name = "cachedContents/" + secrets.token_hex(8)
        now = _stamp()
        resource = {
            "name": name,
            "model": f"models/{model}",
            "createTime": now,
            "updateTime": now,
            "expireTime": _stamp(ttl),
            "usageMetadata": {"totalTokenCount": tokens},
        }
        if isinstance(body.get("displayName"), str):
            resource["displayName"] = body["displayName"]
        self._entries[name] = _Entry(resource, model, carried, tokens, self.clock.now() + ttl)
        while len(self._entries) > self.limit:
            self._entries.popitem(last=False)
        return resource

    def _live(self, name: str) -> _Entry:
        entry = self._entries.get(name)
        if entry is None or entry.expires <= self.clock.now():
            self._entries.pop(name, None)
            raise CacheRefused(403, NOT_FOUND)
        self._entries.move_to_end(name)
        return entry

    def get(self, name: str) -> dict[str, Any]:
        return self._live(name).resource

    def list(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        return [e.resource for e in self._entries.values() if e.expires > now]

    def delete(self, name: str) -> None:
        self._live(name)
        del self._entries[name]

    def apply(self, body: Mapping[str, Any], model: str) -> tuple[dict[str, Any], int]:
        """The request with the cache's contents before its own, and the cached token count."""
        name = get(body, "cachedContent")
        entry = self._live(str(name))
        if entry.model != model:
            raise GeminiInvalid(
                f"Model used by GenerateContent request (models/{model}) and CachedContent "
                f"(models/{entry.model}) has to be the same."
            )
        if any(get(body, key) is not None for key in _CARRIED):
            raise GeminiInvalid(
                "CachedContent can not be used with GenerateContent request setting system_instruction, "
                "tools or tool_config.\n\nProposed fix: move those values to CachedContent from "
                "GenerateContent request."
            )
        merged = {k: v for k, v in body.items() if k not in ("cachedContent", "cached_content")}
        merged.update({k: v for k, v in entry.carried.items() if k != "contents"})
        merged["contents"] = [*(entry.carried.get("contents") or ()), *(body.get("contents") or ())]
        return merged, entry.tokens
