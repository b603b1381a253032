"""Entries survive a round trip; an old, corrupt or ill-typed entry is None, never a crash."""

from __future__ import annotations

import json

import pytest

from llmrelay.cache import FORMAT_VERSION, Entry, decode, encode
from llmrelay.types import FinishEvent, ReasoningDelta, TextDelta, ToolCall, ToolCallDelta, Usage, UsageEvent

ENTRY = Entry(
    id="resp_1",
    model="gpt-4o-mini",
    provider="openai",
    deployment="openai/gpt-4o-mini",
    text="Hello there",
    tool_calls=(ToolCall("c1", "weather", '{"city":"Paris"}'),),
    finish_reason="tool_calls",
    native_finish_reason="tool_calls",
    usage=Usage(10, 5, 2, 6, 1, cache_write_1h_tokens=4),
    cost=0.00012,
    reasoning="thinking…",
    provider_state={"anthropic": [{"type": "thinking", "signature": "s"}]},
    details={"system_fingerprint": "fp"},
    chunks=(
        ReasoningDelta("thinking…"),
        TextDelta("Hello"),
        TextDelta(" there"),
        ToolCallDelta(0, "c1", "weather", '{"city":'),
        ToolCallDelta(0, None, None, '"Paris"}'),
        UsageEvent(Usage(10, 5, 2, 0, 1)),
        FinishEvent("tool_calls", "tool_calls"),
    ),
    created=1_700_000_000.5,
)


def test_round_trip_keeps_every_field_and_the_chunk_boundaries() -> None:
    assert decode(encode(ENTRY)) == ENTRY


def test_a_unary_entry_replays_as_content_usage_and_finish() -> None:
    unary = Entry(**{**{f: getattr(ENTRY, f) for f in ENTRY.__slots__}, "chunks": None})  # type: ignore[attr-defined]
    back = decode(encode(unary))
    assert back == unary and back is not None
    events = back.events()
    assert events[0] == ReasoningDelta("thinking…") and events[1] == TextDelta("Hello there")
    assert events[2] == ToolCallDelta(0, "c1", "weather", '{"city":"Paris"}')
    assert events[-2:] == (UsageEvent(ENTRY.usage), FinishEvent("tool_calls", "tool_calls"))


def _body() -> dict[str, object]:
    body: dict[str, object] = json.loads(encode(ENTRY))
    return body


@pytest.mark.parametrize(
    "change",
    [
        {"v": FORMAT_VERSION + 1},
        {"v": 0},
        {"finish": "exploded"},
        {"usage": [1, 2]},
        {"usage": ["1", 2, 3, 4, 5]},
        {"text": 42},
        {"chunks": [["?", "x"]]},
        {"chunks": [["t"]]},
        {"tool_calls": [["c1", "weather"]]},
        {"created": "yesterday"},
        {"details": []},
    ],
)
def test_entries_that_cannot_be_trusted_are_none(change: dict[str, object]) -> None:
    assert decode(json.dumps({**_body(), **change}).encode()) is None


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b"{}", b"\xff\xfe", b'{"v":1}', b"null"])
def test_garbage_is_none(raw: bytes) -> None:
    assert decode(raw) is None


def test_a_missing_field_is_none() -> None:
    for name in _body():
        body = _body()
        del body[name]
        assert decode(json.dumps(body).encode()) is None, name


def test_provider_data_json_cannot_carry_is_refused_at_encoding() -> None:
    odd = Entry(**{**{f: getattr(ENTRY, f) for f in ENTRY.__slots__}, "details": {"x": object()}})  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        encode(odd)


def test_an_entry_from_before_one_hour_writes_were_counted_still_reads() -> None:
    body = json.loads(encode(ENTRY))
    body["usage"] = [10, 5, 2, 6, 1]  # five counts, as entries were written before
    body["chunks"] = None
    old = decode(json.dumps(body))
    assert old is not None and old.usage == Usage(10, 5, 2, 6, 1, cache_write_1h_tokens=0)
