"""What the engines are told about a call and an attempt: plain values, no pipeline types."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BudgetLevel:
    """One budget a call was settled against, as metric labels see it.

    ``budget`` is bounded by the configuration: the team's or tag's name of a budget that
    names one, ``global``, ``named`` for a budget naming one key or user (ids are never
    labels), ``each`` for a budget that applies to every key, user, team or tag
    separately — then ``spent`` is this subject's, and ``each`` is True so the metric
    keeps the highest of them in the window ``period_id``."""

    scope: str
    budget: str
    #: day, month or lifetime
    window: str
    period_id: str
    spent: float
    hard: float | None
    soft: float | None
    each: bool


@dataclass(slots=True)
class CallRecord:
    """One finished call, as logs, metrics and spans report it.

    ``outcome`` is ``ok``, ``error`` or ``cancelled`` (the caller stopped a stream or
    cancelled the task). ``error_type`` is the exception's class name. Subject fields
    identify who called (never a key); they go to logs, not to metric labels.
    """

    op: str
    stream: bool
    requested_model: str
    alias: str | None = None
    deployment: str | None = None
    #: the wire protocol (openai, anthropic, gemini)
    protocol: str | None = None
    #: the service (openai, azure, groq, simulator…)
    provider: str | None = None
    #: the deployment's configured model id
    model: str | None = None
    #: the model the provider said answered
    response_model: str | None = None
    server: str | None = None
    request_id: str | None = None
    response_id: str | None = None
    ledger_id: str | None = None
    key_id: str | None = None
    user: str | None = None
    team: str | None = None
    tags: tuple[str, ...] = ()
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: float | None = None
    latency: float = 0.0
    ttft: float | None = None
    cache: str | None = None
    attempts: int = 0
    # sequences default to an empty tuple, not a fresh list: a record is made per call,
    # and most calls have no fallback, circuit change, error, guard decision or budget
    fallbacks: Sequence[tuple[str, str, str]] = ()
    circuit: Sequence[tuple[str, str, str]] = ()
    errors: Sequence[str] = ()
    resumed: int = 0
    waited: float = 0.0
    rate_limit_wait: float = 0.0
    outcome: str = "ok"
    error_type: str | None = None
    error_message: str | None = None
    finish_reason: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    #: guard decisions as (kind, action, where): never the value found
    guards: Sequence[tuple[str, str, str]] = ()
    #: the budgets this call was settled against, with what they hold now
    budgets: Sequence[BudgetLevel] = ()
    #: captured (and redacted) bodies, only when content capture is on
    prompt: str | None = None
    completion: str | None = None


@dataclass(slots=True)
class AttemptRecord:
    """One upstream request of a call."""

    number: int
    deployment: str
    protocol: str
    provider: str
    model: str
    server: str | None
    latency: float
    outcome: str = "ok"
    error_type: str | None = None
    status: int | None = None
