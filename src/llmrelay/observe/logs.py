"""Per-call log events: one dict per call (and per attempt), emitted through the standard
``logging`` module or, when configured, structlog.

Library users keep their own logging setup: with ``stdlib`` the event goes to the
``llmrelay.calls`` logger as a short message, with every field in the record's
``llmrelay`` attribute (a JSON formatter can write it out as one line). Nothing here
carries a key: the subject is ids and names, and captured bodies are redacted before
they arrive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Protocol, runtime_checkable

from llmrelay.observe.record import AttemptRecord, CallRecord

#: the attribute of a ``logging.LogRecord`` that holds the event's fields
EXTRA_KEY = "llmrelay"


def call_event(r: CallRecord) -> dict[str, Any]:
    """The fields of a call's log event; ``None`` and empty values are left out.

    Built field by field (not as a full dict filtered afterwards): this runs on every
    call, and most optional fields are absent from most calls."""
    e: dict[str, Any] = {
        "event": "llm.call",
        "op": r.op,
        "stream": r.stream,
        "outcome": r.outcome,
        "model": r.requested_model,
    }
    # straight-line tests, not a loop over (key, value) pairs: the loop builds a tuple
    # per field on every call
    if r.alias is not None:
        e["alias"] = r.alias
    if r.deployment is not None:
        e["deployment"] = r.deployment
    if r.provider is not None:
        e["provider"] = r.provider
    if r.response_model is not None:
        e["response_model"] = r.response_model
    if r.request_id is not None:
        e["request_id"] = r.request_id
    if r.response_id is not None:
        e["response_id"] = r.response_id
    if r.ledger_id is not None:
        e["ledger_id"] = r.ledger_id
    if r.key_id is not None:
        e["key_id"] = r.key_id
    if r.user is not None:
        e["user"] = r.user
    if r.team is not None:
        e["team"] = r.team
    if r.tags:
        e["tags"] = list(r.tags)
    if r.input_tokens is not None:
        e["input_tokens"] = r.input_tokens
    if r.output_tokens is not None:
        e["output_tokens"] = r.output_tokens
    if r.cached_tokens:
        e["cached_tokens"] = r.cached_tokens
    if r.cache_write_tokens:
        e["cache_write_tokens"] = r.cache_write_tokens
    if r.reasoning_tokens:
        e["reasoning_tokens"] = r.reasoning_tokens
    if r.cost is not None:
        e["cost"] = r.cost
    e["latency_ms"] = round(r.latency * 1000, 3)
    if r.ttft is not None:
        e["ttft_ms"] = round(r.ttft * 1000, 3)
    if r.cache is not None:
        e["cache"] = r.cache
    e["attempts"] = r.attempts
    if r.fallbacks:
        e["fallbacks"] = [f"{a}->{b}" for a, b, _ in r.fallbacks]
    if r.errors:
        e["errors"] = list(r.errors)
    if r.resumed:
        e["resumed"] = r.resumed
    if r.waited:
        e["waited_ms"] = round(r.waited * 1000, 3)
    if r.rate_limit_wait:
        e["rate_limit_wait_ms"] = round(r.rate_limit_wait * 1000, 3)
    if r.finish_reason is not None:
        e["finish_reason"] = r.finish_reason
    if r.error_type is not None:
        e["error_type"] = r.error_type
    if r.error_message is not None:
        e["error"] = r.error_message
    if r.guards:
        e["guards"] = [f"{where}.{kind}:{action}" for kind, action, where in r.guards]
    if r.prompt is not None:
        e["prompt"] = r.prompt
    if r.completion is not None:
        e["completion"] = r.completion
    return e


def attempt_event(call_model: str, a: AttemptRecord) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event": "llm.attempt",
        "model": call_model,
        "attempt": a.number,
        "deployment": a.deployment,
        "provider": a.provider,
        "outcome": a.outcome,
        "latency_ms": round(a.latency * 1000, 3),
        "error_type": a.error_type,
        "status": a.status,
    }
    return {k: v for k, v in event.items() if v is not None}


def summary(event: Mapping[str, Any]) -> str:
    """A one-line human message for the stdlib record (the fields travel beside it)."""
    parts = [str(event["event"]), f"{event.get('op', '')}".strip(), f"model={event.get('model')}"]
    for key in ("deployment", "outcome", "error_type", "attempts", "attempt", "latency_ms", "cost"):
        if key in event:
            parts.append(f"{key}={event[key]}")
    return " ".join(p for p in parts if p)


class _Summary:
    """The message, formatted only if a handler writes the record out."""

    __slots__ = ("event",)

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event

    def __str__(self) -> str:
        return summary(self.event)


@runtime_checkable
class LogSink(Protocol):
    """Where log events go: ``enabled(level)`` is asked first, so an event nobody
    would see (an attempt at DEBUG) is never built."""

    def enabled(self, level: int) -> bool: ...

    def __call__(self, level: int, event: dict[str, Any]) -> None: ...


class StdlibLog:
    """Events as standard ``logging`` records: a short message, the fields in the
    record's ``llmrelay`` attribute."""

    def __init__(self, name: str) -> None:
        self.logger = logging.getLogger(name)

    def enabled(self, level: int) -> bool:
        """Whether a record at ``level`` would reach a handler: the logger is enabled
        for it and has a handler somewhere up its hierarchy, or stdlib's last resort
        (stderr, WARNING and above) would print it. An application that never set up
        logging pays nothing for INFO call events."""
        logger = self.logger
        if not logger.isEnabledFor(level):
            return False
        if logger.hasHandlers():
            return True
        last = logging.lastResort
        return last is not None and level >= last.level

    def __call__(self, level: int, event: dict[str, Any]) -> None:
        logger = self.logger
        if logger.isEnabledFor(level):
            # the record is made directly: Logger.log would walk the (deep, async) stack
            # to find the caller, which is always this line and costs more than the rest
            # by the record factory (as makeRecord does), without makeRecord's check of
            # ``extra`` for reserved names: ours is a constant
            record = logging.getLogRecordFactory()(
                logger.name, level, __file__, 0, "%s", (_Summary(event),), None
            )
            record.__dict__[EXTRA_KEY] = event
            logger.handle(record)


class FunctionLog:
    """Events handed to a function of yours, ``fn(level, fields)``, at every level."""

    def __init__(self, fn: Callable[[int, dict[str, Any]], None]) -> None:
        self.fn = fn

    def enabled(self, level: int) -> bool:
        return True

    def __call__(self, level: int, event: dict[str, Any]) -> None:
        self.fn(level, event)


def stdlib_emitter(name: str) -> StdlibLog:
    return StdlibLog(name)


def structlog_emitter(name: str) -> LogSink:
    """Events through structlog: ``event`` is the event name, the rest key-value pairs."""
    try:
        import structlog
    except ImportError:
        from llmrelay.errors import ConfigError

        raise ConfigError(
            "observe.log_format is 'structlog' but structlog is not installed: pip install structlog, "
            + "or use log_format: stdlib"
        ) from None
    # structlog filters by level in its own processors, so every level is handed over
    return FunctionLog(partial(_structlog_emit, structlog.get_logger(name)))


def _structlog_emit(logger: Any, level: int, event: dict[str, Any]) -> None:
    fields = dict(event)
    name = fields.pop("event")
    logger.log(level, name, **fields)
