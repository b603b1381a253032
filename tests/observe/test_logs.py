from __future__ import annotations

import logging

import pytest
import structlog
from structlog.testing import capture_logs

from llmrelay.observe import AttemptRecord, CallRecord
from llmrelay.observe.logs import EXTRA_KEY, attempt_event, call_event, stdlib_emitter, structlog_emitter


def test_call_event_leaves_out_what_is_unknown() -> None:
    r = CallRecord(
        "chat", True, "chat", alias="chat", deployment="a", key_id="vk_1", user="ann", tags=("eu",)
    )
    r.input_tokens, r.output_tokens, r.latency, r.ttft, r.attempts = 3, 4, 0.5, 0.1234567, 1
    e = call_event(r)
    assert e["event"] == "llm.call" and e["outcome"] == "ok" and e["stream"] is True
    assert (e["key_id"], e["user"], e["tags"]) == ("vk_1", "ann", ["eu"])
    assert e["latency_ms"] == 500.0 and e["ttft_ms"] == 123.457
    assert "cost" not in e and "error_type" not in e and "prompt" not in e and "cached_tokens" not in e


def test_attempt_event() -> None:
    a = AttemptRecord(2, "a", "openai", "openai", "m", None, 0.01, "error", "OverloadedError", 529)
    e = attempt_event("chat", a)
    assert e == {
        "event": "llm.attempt", "model": "chat", "attempt": 2, "deployment": "a", "provider": "openai",
        "outcome": "error", "latency_ms": 10.0, "error_type": "OverloadedError", "status": 529,
    }  # fmt: skip


def test_stdlib_emitter_puts_the_fields_beside_a_short_message(caplog: pytest.LogCaptureFixture) -> None:
    emit = stdlib_emitter("llmrelay.calls.test")
    r = CallRecord("chat", False, "chat", deployment="a", attempts=1)
    with caplog.at_level(logging.INFO, logger="llmrelay.calls.test"):
        emit(logging.INFO, call_event(r))
        emit(logging.DEBUG, {"event": "llm.attempt"})  # below the level: not built into a record
    assert len(caplog.records) == 1
    rec = caplog.records[0]
    assert rec.getMessage().startswith("llm.call chat model=chat deployment=a outcome=ok attempts=1")
    assert getattr(rec, EXTRA_KEY)["deployment"] == "a"


def test_a_logger_nobody_handles_is_not_enabled_below_the_last_resort() -> None:
    name = "llmrelay.calls.nobody"
    logger = logging.getLogger(name)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # no handler up the hierarchy either
    emit = stdlib_emitter(name)
    try:
        # an INFO event would be dropped by stdlib (its last resort prints WARNING and up)
        assert not emit.enabled(logging.INFO) and not emit.enabled(logging.DEBUG)
        assert emit.enabled(logging.WARNING) == (logging.lastResort is not None)
        handler = logging.NullHandler()
        logger.addHandler(handler)
        assert emit.enabled(logging.INFO) and emit.enabled(logging.DEBUG)
        logger.removeHandler(handler)
        logger.propagate = True
        logging.getLogger("llmrelay.calls").addHandler(handler)  # a parent's handler counts
        assert emit.enabled(logging.INFO)
        logging.getLogger("llmrelay.calls").removeHandler(handler)
        logger.setLevel(logging.WARNING)
        assert not emit.enabled(logging.INFO)  # the level still rules
    finally:
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def test_structlog_emitter() -> None:
    structlog.configure(processors=[], logger_factory=structlog.testing.CapturingLoggerFactory())
    try:
        emit = structlog_emitter("llmrelay.calls")
        with capture_logs() as logs:
            emit(
                logging.WARNING, call_event(CallRecord("embed", False, "e", outcome="error", error_type="X"))
            )
    finally:
        structlog.reset_defaults()
    assert logs == [
        {"event": "llm.call", "log_level": "warning", "op": "embed", "stream": False, "outcome": "error",
         "model": "e", "attempts": 0, "latency_ms": 0.0, "error_type": "X"}
    ]  # fmt: skip
