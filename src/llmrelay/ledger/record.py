"""One ledger record: what a single call cost and how it went.

Records are built on the request path, so they are plain frozen dataclasses with a
float timestamp; backends convert to their own column types when they write.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from llmrelay.errors import LLMRelayError
from llmrelay.secrets import Secret, redact

#: ``status`` of a call that returned normally
OK = "ok"

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass(frozen=True, slots=True)
class GuardMark:
    """One guard decision as the ledger keeps it: what kind of finding (``email``,
    ``api_key``, ``injection``…), what was done (``mask``, ``flag``, ``block``…), on which
    side (``input``: the prompt, ``output``: the reply) and how many times — never a value."""

    kind: str
    action: str
    where: str
    count: int = 1


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """A call as the ledger stores it.

    ``ts`` is when the call started (seconds since the epoch, UTC). Token counts are None
    when the provider reported no usage (never a made-up zero); ``cost`` is US dollars,
    None when unknown. ``status`` is ``"ok"`` or the error kind (``error_kind``).
    ``key`` names the API key or virtual key the call was made with — a label or
    fingerprint, never the key itself.

    ``cache_write_1h_tokens`` is the part of ``cache_write_tokens`` written with a one-hour
    lifetime; ``service_tier`` the tier the provider says served the call. ``cache`` is
    the response cache's verdict (``hit``, ``miss``, ``stale``; None without a response
    cache). ``saved_provider_cache`` is what the provider's cache reads saved (those tokens
    at the input price less what they cost); ``saved_response_cache`` what llmrelay's
    response cache saved on a hit or stale answer: the cost of the call that made the
    answer (the hit itself costs 0). ``guard`` lists the guard's decisions.
    """

    id: str
    ts: float
    status: str = OK
    stream: bool = False
    request_id: str | None = None
    response_id: str | None = None
    key: str | None = None
    user: str | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, str] | None = None
    alias: str | None = None
    deployment: str | None = None
    provider: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: float | None = None
    latency: float | None = None
    ttft: float | None = None
    http_status: int | None = None
    cache_hit: bool = False
    attempts: int = 1
    cache_write_1h_tokens: int | None = None
    service_tier: str | None = None
    cache: str | None = None
    saved_provider_cache: float | None = None
    saved_response_cache: float | None = None
    guard: tuple[GuardMark, ...] = ()

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.ts, UTC)


def error_kind(exc: BaseException) -> str:
    """A short, stable name for how a call failed, e.g. ``rate_limit`` or ``timeout``.

    llmrelay's own errors are named after their class (``RateLimitError`` →
    ``rate_limit``); a cancelled call is ``cancelled``, a stream the caller stopped
    reading is ``closed``, anything else ``internal``.
    """
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    if isinstance(exc, GeneratorExit):
        return "closed"
    if isinstance(exc, LLMRelayError):
        name = type(exc).__name__.removesuffix("Error") or "llmrelay"
        return _CAMEL.sub("_", name).lower()
    return "internal"


def key_label(value: Any) -> str | None:
    """How a key is named in the ledger: a Secret by its fingerprint, a name as given.

    A string that looks like a provider key is scrubbed, so a caller who passes the key
    itself by mistake does not get it written to the database.
    """
    if value is None:
        return None
    if isinstance(value, Secret):
        return f"fp:{value.fingerprint}"
    text = redact(str(value))
    return text or None
