"""Wire-level values shared by the provider adapters and the transport.

They sit below both: an adapter turns a ``ChatRequest`` into an ``HttpRequest`` and
``SSEEvent``s back into stream events; the transport sends ``HttpRequest``s and
decodes bytes into ``SSEEvent``s. Neither needs to know the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmrelay.secrets import Secret


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Everything an adapter needs to address one deployment.

    ``provider`` names the wire protocol (``openai``, ``anthropic``, ``gemini``);
    ``host`` names the service (``openai``, ``azure``, ``groq``, ``simulator``…) for
    reports. ``options`` carries protocol specifics, e.g. for ``openai``:
    ``{"azure": True, "api_version": "2024-10-21"}``; for ``anthropic``:
    ``{"auth": "bearer", "version": "2023-06-01"}``.
    """

    provider: str
    model: str
    base_url: str
    api_key: Secret | None = None
    host: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # the key is a Secret already; keep the repr short anyway
        return (
            f"Endpoint(provider={self.provider!r}, host={self.host!r}, "
            f"model={self.model!r}, base_url={self.base_url!r})"
        )


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None

    def __repr__(self) -> str:  # headers carry credentials: never print them
        return f"HttpRequest({self.method} {self.url})"


def with_trace_headers(http: HttpRequest, headers: Mapping[str, str] | None) -> HttpRequest:
    """``http`` with an attempt's trace propagation headers (``Call.trace_headers``),
    unless it names a parent of its own: a ``traceparent`` among the caller's
    ``extra_headers`` or the endpoint's headers is kept, as the caller asked."""
    if not headers:
        return http
    own = http.headers
    for name in own:  # a loop, not any() over a generator: this runs on every attempt
        if name.lower() == "traceparent":
            return http
    return HttpRequest(http.method, http.url, {**own, **headers}, http.body)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # lower-cased names
    body: bytes


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One Server-Sent Event: ``event`` defaults to ``"message"`` as in the spec."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None
