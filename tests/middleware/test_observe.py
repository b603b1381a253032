"""The observe layers against in-process simulators: one run with retries, a fallback, a
stream and a refusal gives the expected metric samples (read back from the scraped
text), GenAI spans with a child per attempt, traceparent headers upstream, log events —
and no key anywhere."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from tests.observe.kit import Rig, rig, sim_deployment

from llmrelay import errors
from llmrelay.simulator import Fault, FaultSequence, Simulator

KEY = "sk-observe-test-key-0123456789abcdef"
MODELS = {
    "chat": {"deployments": [sim_deployment("a", api_key_env="SIM_KEY")], "fallbacks": ["backup"]},
    "backup": {"deployments": [sim_deployment("b", model="claude-sonnet")]},
}
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def _sims(faults_a: list[Fault | None]) -> dict[str, Simulator]:
    a = Simulator()
    a.faults = FaultSequence(faults_a)
    return {"a": a, "b": Simulator()}


async def _scenario(r: Rig) -> None:
    # 1: a retry on a (503, then fine)
    await r.client.chat("first call", temperature=0.5, max_tokens=64)
    # 2: a fails twice (max_attempts 2): the call falls back to "backup" on b
    await r.client.chat("second call")
    # 3: a stream, served by a
    async for _ in r.client.stream("third call", user="carol"):
        pass
    # 4: carol's rate limit (1 a minute) refuses her next call before anything is sent
    with pytest.raises(errors.RateLimitError):
        await r.client.chat("fourth call", user="carol")


@pytest.fixture(params=["sdk", "direct"])
async def run(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Any:
    sims = _sims([Fault.error(503), None, Fault.error(500), Fault.error(500)])
    limits = {"mode": "fail", "users": {"carol": {"rpm": 1}}}
    caplog.set_level(logging.DEBUG, logger="llmrelay.calls")
    async with rig(
        sims,
        MODELS,
        environ={"SIM_KEY": KEY},
        retry={"max_attempts": 2, "base_delay": 0.001},
        limits=limits,
        spans=request.param,
    ) as r:
        await _scenario(r)
        yield r, caplog


async def test_metric_samples(run: Any) -> None:
    r, _ = run
    assert r.samples("llmrelay_requests_total", alias="chat", outcome="ok", provider="simulator") == 2
    assert r.samples("llmrelay_requests_total", alias="backup", model="claude-sonnet", outcome="ok") == 1
    assert r.samples("llmrelay_requests_total", alias="chat", outcome="error") == 1
    assert r.samples("llmrelay_errors_total", alias="chat", error_type="RateLimitError") == 1
    assert r.samples("llmrelay_refusals_total", alias="chat", reason="rate_limit") == 1
    assert r.samples("llmrelay_attempts_total", deployment="a", outcome="error") == 3
    assert r.samples("llmrelay_attempts_total", deployment="a", outcome="ok") == 2
    assert r.samples("llmrelay_attempts_total", deployment="b", outcome="ok") == 1
    assert r.samples("llmrelay_retries_total", alias="chat") == 1
    assert r.samples("llmrelay_retries_total", alias="backup") == 2  # the fallback call: 3 requests
    assert r.samples("llmrelay_fallbacks_total", from_alias="chat", to_alias="backup") == 1
    assert r.samples("llmrelay_time_to_first_token_seconds_count", alias="chat") == 1
    assert r.samples("llmrelay_request_duration_seconds_count", op="chat", stream="true") == 1
    assert r.samples("llmrelay_request_duration_seconds_count", op="chat", stream="false") == 3
    assert r.samples("llmrelay_tokens_total", kind="input") > 0
    assert r.samples("llmrelay_tokens_total", kind="output") > 0
    assert r.samples("llmrelay_cost_usd_total") > 0
    assert r.samples("llmrelay_in_flight", kind="unary") == 0
    assert r.samples("llmrelay_in_flight", kind="stream") == 0
    text = r.scrape()
    assert "carol" not in text and KEY not in text


async def test_spans_follow_the_genai_conventions_with_a_child_per_attempt(run: Any) -> None:
    r, _ = run
    spans = r.spans()
    calls = [s for s in spans if s.parent is None]
    assert [s.name for s in calls] == ["chat chat"] * 4
    first, fallback, stream, refused = sorted(calls, key=lambda s: s.start_time or 0)
    children = {c.context.span_id: [s for s in spans if s.parent and s.parent.span_id == c.context.span_id]
                for c in calls}  # fmt: skip

    a = dict(first.attributes or {})
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "llmrelay.simulator"
    assert a["gen_ai.request.model"] == "chat"
    assert a["gen_ai.response.model"] == "gpt-4o-mini"
    assert a["gen_ai.request.temperature"] == 0.5 and a["gen_ai.request.max_tokens"] == 64
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["llmrelay.attempts"] == 2
    kids = sorted(children[first.context.span_id], key=lambda s: s.start_time or 0)
    assert [k.name for k in kids] == ["chat gpt-4o-mini"] * 2
    assert [dict(k.attributes or {})["llmrelay.attempt"] for k in kids] == [1, 2]
    assert dict(kids[0].attributes or {})["error.type"] == "OverloadedError"
    assert dict(kids[0].attributes or {})["http.response.status_code"] == 503
    assert "error.type" not in dict(kids[1].attributes or {})
    assert [e.name for e in first.events] == ["llmrelay.retry"]

    f = dict(fallback.attributes or {})
    assert f["llmrelay.alias"] == "backup" and f["gen_ai.response.model"] == "claude-sonnet"
    assert [e.name for e in fallback.events if e.name == "llmrelay.fallback"] == ["llmrelay.fallback"]
    deps = [dict(k.attributes or {})["llmrelay.deployment"] for k in children[fallback.context.span_id]]
    assert sorted(deps) == ["a", "a", "b"]

    assert dict(stream.attributes or {})["llmrelay.stream"] is True
    assert dict(stream.attributes or {})["llmrelay.ttft_s"] > 0
    assert len(children[stream.context.span_id]) == 1

    x = dict(refused.attributes or {})
    assert x["error.type"] == "RateLimitError" and x["llmrelay.attempts"] == 0
    assert refused.status.status_code.name == "ERROR"
    assert children[refused.context.span_id] == []

    for s in spans:  # no key, no user id
        blob = json.dumps({k: str(v) for k, v in (s.attributes or {}).items()})
        assert KEY not in blob and "carol" not in blob


async def test_each_attempt_carries_its_own_traceparent(run: Any) -> None:
    r, _ = run
    seen = [h["traceparent"] for rec in r.recorders.values() for h in rec.headers]
    assert len(seen) == 6  # 2 + 3 + 1 upstream requests; the refusal sent none
    attempt_ids = {
        (format(s.context.trace_id, "032x"), format(s.context.span_id, "016x"))
        for s in r.spans()
        if s.parent is not None
    }
    parsed = set()
    for tp in seen:
        m = TRACEPARENT.match(tp)
        assert m is not None, tp
        parsed.add((m.group(1), m.group(2)))
    assert parsed == attempt_ids  # each request names its own attempt span as parent


async def test_log_events(run: Any) -> None:
    _, caplog = run
    records = caplog.get_records("setup")  # the scenario runs in the fixture
    calls = [rec.llmrelay for rec in records if getattr(rec, "llmrelay", {}).get("event") == "llm.call"]
    attempts = [rec for rec in records if getattr(rec, "llmrelay", {}).get("event") == "llm.attempt"]
    assert [c["outcome"] for c in calls] == ["ok", "ok", "ok", "error"]
    assert all(rec.levelno == logging.DEBUG for rec in attempts) and len(attempts) == 6
    first, fallback, stream, refused = calls
    assert (
        first["attempts"] == 2
        and first["deployment"] == "a"
        and first["errors"] == ["a: OverloadedError (503)"]
    )
    assert fallback["alias"] == "backup" and fallback["fallbacks"] == ["chat->backup"]
    assert stream["user"] == "carol" and stream["stream"] is True and stream["ttft_ms"] > 0
    assert {"input_tokens", "output_tokens", "cost", "latency_ms", "request_id"} <= set(first)
    assert refused["error_type"] == "RateLimitError" and refused["attempts"] == 0
    warning = [rec for rec in records if getattr(rec, "llmrelay", {}) is refused]
    assert warning[0].levelno == logging.WARNING
    assert "prompt" not in first and "completion" not in first  # content capture is off
    for rec in records:
        assert KEY not in rec.getMessage() and KEY not in json.dumps(
            getattr(rec, "llmrelay", {}), default=str
        )
