"""The error taxonomy.

Every failure llmrelay reports is an ``LLMRelayError`` subclass that keeps the HTTP
status, provider, provider request id and retry-after where known. Messages never
contain a secret: text that came from a provider is scrubbed with ``redact``.

``retryable`` tells the resilience layer whether trying again (here or on another
deployment) can help; it is a property of the error kind, not a policy.
"""

from __future__ import annotations

from typing import Any

from llmrelay.secrets import redact


class LLMRelayError(Exception):
    """Base of all llmrelay errors."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        code: str | None = None,
        body: Any = None,
    ) -> None:
        self.message = redact(message)
        self.provider = provider
        self.model = model
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after
        self.code = code
        self.body = body
        super().__init__(self.message)

    def __str__(self) -> str:
        where = []
        if self.provider:
            where.append(self.provider)
        if self.status is not None:
            where.append(str(self.status))
        if self.request_id:
            where.append(f"request {self.request_id}")
        return f"{self.message} ({', '.join(where)})" if where else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, status={self.status!r})"


# --------------------------------------------------------------------------- configuration


class ConfigError(LLMRelayError, ValueError):
    """The configuration or the call's arguments cannot work; fix them and try again."""


class UnknownModelError(ConfigError):
    """The model name is neither a configured alias nor ``provider/model``."""


class UnknownProviderError(ConfigError):
    """The ``provider/`` prefix names no known protocol or host."""


class MissingKeyError(ConfigError):
    """No API key is configured for a provider that needs one."""

    def __init__(self, message: str, *, env_var: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.env_var = env_var


class UnsupportedFeatureError(ConfigError):
    """The provider's protocol cannot express what was asked (e.g. embeddings on Anthropic)."""


# --------------------------------------------------------------------------- provider said no


class APIError(LLMRelayError):
    """The provider answered with an error."""


class InvalidRequestError(APIError, ValueError):
    """The request is malformed or has a value out of range (HTTP 400/422, or caught locally)."""


class ContextWindowExceededError(InvalidRequestError):
    """Prompt plus requested output do not fit the model's context window."""


class ContentFilterError(APIError):
    """The provider refused or stopped the content on safety grounds."""


class AuthenticationError(APIError):
    """The API key is missing, wrong or revoked (HTTP 401)."""


class PermissionDeniedError(APIError):
    """The key is valid but may not use this resource (HTTP 403)."""


class NotFoundError(APIError):
    """The model or endpoint does not exist (HTTP 404)."""


class ConflictError(APIError):
    """HTTP 409: a concurrent change; safe to retry."""

    retryable = True


class ServerStateLostError(APIError):
    """The provider no longer holds (or will not extend) the server-side conversation state
    the request continued from, e.g. an Anthropic message thread that expired or was
    already continued. Sending the whole history again recovers: ``resend_options`` are
    the endpoint options that make the adapter do so, and the client resends once itself,
    so callers only see this error if that resend is refused the same way."""

    def __init__(self, message: str, *, resend_options: dict[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.resend_options: dict[str, Any] = dict(resend_options or {})


class RequestTimeoutError(APIError):
    """HTTP 408 from the provider."""

    retryable = True


class RateLimitError(APIError):
    """Too many requests or tokens (HTTP 429); see ``retry_after``."""

    retryable = True


class QuotaExceededError(RateLimitError):
    """The account is out of credit or quota; retrying soon will not help."""

    retryable = False


class ServiceUnavailableError(APIError):
    """The provider failed (HTTP 5xx)."""

    retryable = True


class OverloadedError(ServiceUnavailableError):
    """The provider is overloaded (Anthropic 529, Gemini 503 UNAVAILABLE)."""


class MalformedResponseError(APIError):
    """The provider's answer could not be decoded (bad JSON, missing fields)."""

    retryable = True


class StreamTruncatedError(APIError):
    """A stream ended before its end marker. ``partial_text`` is what arrived."""

    retryable = True

    def __init__(self, message: str, *, partial_text: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.partial_text = partial_text


# --------------------------------------------------------------------------- network


class TransportError(LLMRelayError):
    """The request did not get an HTTP answer."""

    retryable = True


class TimeoutError(TransportError):  # noqa: A001 - deliberately mirrors the builtin name
    """Connect, read or total timeout elapsed."""


class ConnectionError(TransportError):  # noqa: A001
    """The connection failed or was reset."""


# --------------------------------------------------------------------------- llmrelay's own refusals


class BudgetExceededError(LLMRelayError):
    """A hard budget would be exceeded; nothing was sent."""


class CircuitOpenError(LLMRelayError):
    """The deployment's circuit breaker is open; nothing was sent."""

    retryable = True


class AllDeploymentsFailedError(LLMRelayError):
    """Every deployment and fallback was tried; ``errors`` holds each failure."""

    def __init__(self, message: str, *, errors: list[LLMRelayError] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.errors = errors or []


class OutputParseError(LLMRelayError):
    """The model's output did not parse or validate as the requested structure."""

    def __init__(self, message: str, *, text: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.text = text
