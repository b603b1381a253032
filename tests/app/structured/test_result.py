"""Sums over several calls: usage adds up, an unknown cost makes the total unknown."""

from __future__ import annotations

from llmrelay.app.structured.result import Extraction, total_cost, total_usage
from llmrelay.types import ChatResponse, Usage


def response(usage: Usage | None, cost: float | None) -> ChatResponse:
    return ChatResponse(id="r", model="m", provider="p", usage=usage, cost=cost)


def test_usage_is_summed_over_the_calls_that_reported_it() -> None:
    a, b = Usage(10, 5, cached_input_tokens=2), Usage(7, 3, reasoning_tokens=1)
    assert total_usage([response(a, 0.1), response(None, 0.2), response(b, 0.3)]) == Usage(17, 8, 2, 0, 1)
    assert total_usage([response(None, None)]) is None
    assert total_usage([]) is None


def test_cost_is_unknown_when_any_call_is() -> None:
    assert total_cost([response(None, 0.25), response(None, 0.5)]) == 0.75
    assert total_cost([response(None, 0.25), response(None, None)]) is None
    assert total_cost([]) is None


def test_an_extraction_reports_its_last_response_and_the_sums() -> None:
    first, last = response(Usage(1, 1), 0.5), response(Usage(2, 2), 1.0)
    result = Extraction(value=42, responses=(first, last), mode="json")
    assert result.response is last and result.attempts == 2
    assert result.usage == Usage(3, 3) and result.cost == 1.5
