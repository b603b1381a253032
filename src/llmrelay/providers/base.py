"""The contract every wire-protocol adapter fulfils, and helpers they share.

Adapters are pure: no I/O, no environment, no retries. They translate a
``ChatRequest`` + ``Endpoint`` into an ``HttpRequest``, and a provider's bytes back
into ``ChatResponse``, stream events or a typed error. Everything protocol-specific
lives behind this interface (and in the host rows of ``llmrelay.hosts``): the layers
above never compare a provider's name.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any, Protocol

from llmrelay import errors
from llmrelay.providers.counting import TokenRules
from llmrelay.types import ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, StreamEvent
from llmrelay.wire import Endpoint, HttpRequest, SSEEvent


class StreamParser(Protocol):
    """Turns one provider's SSE events into llmrelay stream events.

    ``feed`` returns the events an SSE event produces (often none) and raises a typed
    ``LLMRelayError`` for an error event. ``done`` becomes true when the provider's
    end-of-stream marker has been seen; a byte stream that ends while ``done`` is
    false was cut, and the caller raises ``StreamTruncatedError``.
    ``response_id`` and ``model`` are filled as soon as the provider reveals them;
    ``provider_state`` (None for protocols without any) is read once the stream ends and
    becomes the final response's ``provider_state``; ``details`` likewise becomes its
    ``details``: what the provider reported beyond the common model, under the same keys
    ``parse_chat`` uses for a unary answer (Anthropic's ``stop_sequence``, OpenAI's
    ``system_fingerprint``…).
    """

    done: bool
    response_id: str | None
    model: str | None
    provider_state: Mapping[str, Any] | None
    details: Mapping[str, Any]

    def feed(self, event: SSEEvent) -> list[StreamEvent]: ...


class Adapter(Protocol):
    """One wire protocol. ``name`` is the protocol's name in ``ADAPTERS``;
    ``token_rules`` is how the protocol frames a prompt, for offline counting;
    ``count_method`` names the provider's token-count endpoint as ``TokenCount.method``
    reports it (None when the protocol has none)."""

    name: str
    token_rules: TokenRules
    count_method: str | None
    #: a final assistant turn is continued by the model (a prefill): how a stream that
    #: broke after delivering text can be finished without generating that text again
    continues_prefill: bool

    def chat_request(self, req: ChatRequest, ep: Endpoint, *, stream: bool) -> HttpRequest: ...

    def parse_chat(self, body: bytes, ep: Endpoint, *, include_raw: bool = False) -> ChatResponse:
        """Decode a 2xx chat body; raise ``MalformedResponseError`` if it is not one.
        ``raw`` on the response is the decoded payload only when ``include_raw``."""
        ...

    def stream_parser(self, ep: Endpoint) -> StreamParser: ...

    def parse_error(
        self, status: int, headers: Mapping[str, str], body: bytes, ep: Endpoint
    ) -> errors.LLMRelayError:
        """Map a non-2xx answer to the taxonomy, keeping status, retry-after and request id."""
        ...

    def embed_request(self, req: EmbeddingRequest, ep: Endpoint) -> HttpRequest:
        """Raise ``UnsupportedFeatureError`` where the protocol has no embeddings."""
        ...

    def parse_embed(self, body: bytes, ep: Endpoint) -> EmbeddingResponse: ...

    def request_id(self, headers: Mapping[str, str]) -> str | None:
        """The provider's id for one HTTP exchange (quote it to their support), from the
        response's headers (lower-cased names), whatever the status; None if absent."""
        ...

    def count_request(self, req: ChatRequest, ep: Endpoint) -> HttpRequest | None:
        """The provider's own (exact) token count of ``req``'s prompt, or None when the
        protocol has no count endpoint."""
        ...

    def parse_count(self, body: bytes, ep: Endpoint | None = None) -> int:
        """The token count in a 2xx answer to ``count_request``; raise
        ``MalformedResponseError`` if it has none, ``UnsupportedFeatureError`` for a
        protocol without a count endpoint. ``ep`` only names the provider in errors."""
        ...


# --------------------------------------------------------------------------- shared helpers

_STATUS_ERRORS: dict[int, type[errors.APIError]] = {
    400: errors.InvalidRequestError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    408: errors.RequestTimeoutError,
    409: errors.ConflictError,
    413: errors.InvalidRequestError,
    422: errors.InvalidRequestError,
    429: errors.RateLimitError,
    529: errors.OverloadedError,
}


def error_class_for_status(status: int) -> type[errors.APIError]:
    """The default error kind for an HTTP status; adapters refine it from the body."""
    if status in _STATUS_ERRORS:
        return _STATUS_ERRORS[status]
    if status >= 500:
        return errors.ServiceUnavailableError
    if status >= 400:
        return errors.InvalidRequestError
    return errors.APIError


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms``, ``retry-after`` (seconds or HTTP date)
    or the earliest ``x-ratelimit-reset-*`` header. Header names must be lower-case."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if ra:
        try:
            return max(0.0, float(ra))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(ra) if _looks_like_date(ra) else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - (time.time() if now is None else now))
    resets = [
        d
        for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens", "x-ratelimit-reset")
        if (v := headers.get(name)) and (d := parse_duration(v)) is not None
    ]
    return min(resets) if resets else None


def _looks_like_date(value: str) -> bool:
    try:
        email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return False
    return True


def parse_duration(value: str) -> float | None:
    """OpenAI-style durations: ``"1s"``, ``"6m0s"``, ``"250ms"``, ``"1h2m3.5s"``, or plain seconds."""
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    total, num = 0.0, ""
    i = 0
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    while i < len(value):
        ch = value[i]
        if ch.isdigit() or ch == ".":
            num += ch
            i += 1
            continue
        unit = "ms" if value.startswith("ms", i) else ch
        if unit not in units or not num:
            return None
        total += float(num) * units[unit]
        num = ""
        i += len(unit)
    if num:
        return None
    return total


def request_id_from(headers: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        v = headers.get(name)
        if v:
            return v
    return None
